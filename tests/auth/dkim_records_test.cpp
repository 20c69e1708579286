// Tests for what DKIM verification reads from the two tag-lists (auth/dkim_verify.cpp,
// auth/dkim_common.cpp): the key record and DKIM-Signature tag rules one by one,
// malformed input, which never crashes, and a pass over the signed messages of the
// external corpus.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <random>
#include <regex>

#include "auth/dkim.h"
#include "runtime/message.h"
#include "tests/auth/dkim_test_util.h"

namespace mp::auth {
namespace {

using namespace dkim_testing;

namespace fs = std::filesystem;
using e2e::read_text;
using namespace std::string_literals;

DkimResult verify_with_record(const std::string& message, const std::string& record) {
  FakeDns dns;
  dns.add("sel._domainkey.example.com", record);
  return verify_one(message, dns);
}

// ---- Key records ---------------------------------------------------------------------

class DkimKeyRecord : public ::testing::Test {
 protected:
  const std::string rsa_signed = sign_message(kMessage, signer_for(rsa2048()));
  const std::string ed_signed = sign_message(kMessage, signer_for(ed25519()));
  const std::string rsa_p = rsa2048().record.substr(rsa2048().record.find("p="));
};

TEST_F(DkimKeyRecord, MissingRevokedOrUnreachable) {
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "v=DKIM1; k=rsa; p=")),
            "permerror: key revoked");
  FakeDns nxdomain;
  EXPECT_EQ(status_and_reason(verify_one(rsa_signed, nxdomain)), "permerror: no key record");
  FakeDns nodata;
  nodata.answers["sel._domainkey.example.com"] = status_answer(dns::Status::Ok);
  EXPECT_EQ(status_and_reason(verify_one(rsa_signed, nodata)), "permerror: no key record");
  FakeDns timeout;
  timeout.answers["sel._domainkey.example.com"] = status_answer(dns::Status::TempError, "timeout");
  const DkimVerification v = dkim_verify(rsa_signed, timeout.lookup(), kNow);
  EXPECT_EQ(statuses(v), std::vector<std::string>{"temperror: DNS timeout"});
  EXPECT_EQ(v.overall(), DkimStatus::TempError);
}

TEST_F(DkimKeyRecord, RsaKeySizes) {
  const std::string short_key = dkim_public_key_record(data_file("rsa512.pem"));
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, short_key)),
            "permerror: key too short (512 bits)");
  DkimSigner signer = signer_for(rsa2048());
  signer.private_key_pem = data_file("rsa1024.pem");
  EXPECT_EQ(status_and_reason(verify_with_record(sign_message(kMessage, signer),
                                                 dkim_public_key_record(signer.private_key_pem))),
            "pass");
}

TEST_F(DkimKeyRecord, FlagsAndRestrictions) {
  DkimResult testing = verify_with_record(rsa_signed, "v=DKIM1; t=y; " + rsa_p);
  EXPECT_EQ(status_and_reason(testing), "pass");
  EXPECT_TRUE(testing.testing);
  EXPECT_EQ(status_and_reason(
                verify_with_record(rsa_signed, "t=s:y; h=sha1:sha256; s=email; g=*; n=note; " + rsa_p)),
            "pass");
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "s=*; " + rsa_p)), "pass");
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "h=sha1; " + rsa_p)),
            "permerror: key does not allow sha256");
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "s=tlsrpt; " + rsa_p)),
            "permerror: key is not for email (s=tlsrpt)");
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "v=DKIM2; " + rsa_p)),
            "permerror: unsupported key version v=DKIM2");
}

TEST_F(DkimKeyRecord, StrictIdentity) {
  // i= is not signed here any more, but t=s is checked before the signature is.
  const std::string sub_identity =
      replaced(rsa_signed, " d=example.com;", " d=example.com; i=@mail.example.com;");
  EXPECT_EQ(status_and_reason(verify_with_record(sub_identity, "t=s; " + rsa_p)),
            "permerror: i= domain is not d= (key t=s)");
  EXPECT_EQ(status_and_reason(verify_with_record(sub_identity, rsa_p)), "fail: signature did not verify");
}

TEST_F(DkimKeyRecord, KeyTypeMustMatchTheAlgorithm) {
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "k=ed25519; " + rsa_p)),
            "permerror: key type ed25519 does not match a=rsa-sha256");
  const std::string ed_p = ed25519().record.substr(ed25519().record.find("p="));
  EXPECT_EQ(status_and_reason(verify_with_record(ed_signed, ed_p)),  // k= defaults to rsa
            "permerror: key type rsa does not match a=ed25519-sha256");
  EXPECT_EQ(status_and_reason(verify_with_record(ed_signed, "k=dsa; " + ed_p)),
            "permerror: unsupported key type k=dsa");
  EXPECT_EQ(status_and_reason(verify_with_record(ed_signed, "k=ed25519; p=AAAA")),
            "permerror: key syntax error: p= is not a 32-byte Ed25519 key");
}

TEST_F(DkimKeyRecord, KeySyntax) {
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "k=rsa; k=rsa; " + rsa_p)),
            "permerror: key syntax error: duplicate k=");
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "v=DKIM1; k=rsa")),
            "permerror: key syntax error: missing p=");
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "p=!!!!")),
            "permerror: key syntax error: p= is not base64");
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "p=AAAA")),
            "permerror: key syntax error: p= is not an RSA key");
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "v=DKIM1; k=rsa; p")),
            "permerror: key syntax error: tag without '='");
}

TEST_F(DkimKeyRecord, KeyEncodings) {
  // Whitespace inside p=, as zone files are often written.
  std::string spaced = rsa_p;
  for (size_t at = 64; at < spaced.size(); at += 66) spaced.insert(at, " \t");
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "k=rsa; " + spaced)), "pass");
  // The bare PKCS#1 RSAPublicKey: for 2048 bits, SubjectPublicKeyInfo adds a 24-octet
  // prefix, 32 base64 characters.
  EXPECT_EQ(status_and_reason(verify_with_record(rsa_signed, "k=rsa; p=" + rsa_p.substr(2 + 32))), "pass");
  // Many small character-strings, joined.
  FakeDns dns;
  dns.answers["sel._domainkey.example.com"] = txt_answer(rsa2048().record, 10);
  EXPECT_EQ(status_and_reason(verify_one(rsa_signed, dns)), "pass");
  // Several TXT records: the first counts.
  dns::Answer two = txt_answer(rsa2048().record);
  two.records.push_back(txt_answer("v=spf1 -all").records.front());
  dns.answers["sel._domainkey.example.com"] = two;
  EXPECT_EQ(status_and_reason(verify_one(rsa_signed, dns)), "pass");
}

// ---- Signature tags ----------------------------------------------------------------

// A syntactically complete signature (the hashes are dummies), for checks that come
// before any cryptography.
const std::string kTags = "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=AAAA; b=AAAA";

DkimResult verify_tags(const std::string& tags) {
  FakeDns dns;
  return verify_one("DKIM-Signature: " + tags + "\r\n" + kMessage, dns);
}

TEST(DkimTags, CompleteTagsReachTheKeyLookup) {
  EXPECT_EQ(status_and_reason(verify_tags(kTags)), "permerror: no key record");
  EXPECT_EQ(status_and_reason(verify_tags(kTags + ";")), "permerror: no key record");
  EXPECT_EQ(status_and_reason(verify_tags(
                "v = 1 ;\r\n a=rsa-sha256; d=example.com; s=sel; h = from : to ; bh=AA\r\n\tAA; b=AAAA")),
            "permerror: no key record");
}

TEST(DkimTags, EveryRequiredTag) {
  for (const std::string tag : {"v", "a", "b", "bh", "d", "h", "s"}) {
    const std::regex this_tag("(^|; )" + tag + "=[^;]*(; )?");
    EXPECT_EQ(status_and_reason(verify_tags(std::regex_replace(kTags, this_tag, "$1"))),
              "permerror: syntax error: missing " + tag + "=");
  }
}

TEST(DkimTags, Rejected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"v=2; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA", "unsupported version v=2"},
      {kTags + "; d=example.org", "syntax error: duplicate d="},
      {kTags + "; v", "syntax error: tag without '='"},
      {kTags + "; 1x=2", "syntax error: bad tag name '1x'"},
      {replaced(kTags, "rsa-sha256", "rsa-md5"), "unsupported algorithm a=rsa-md5"},
      {kTags + "; c=relaxed/fancy", "unsupported canonicalization c=relaxed/fancy"},
      {kTags + "; q=https", "unsupported query method q=https"},
      {kTags + "; i=@example.org", "i= is not within d="},
      {kTags + "; i=@notexample.com", "i= is not within d="},
      {kTags + "; i=alice", "syntax error: i= has no '@'"},
      {replaced(kTags, "h=from:to", "h=to:subject"), "h= does not include From"},
      {replaced(kTags, "h=from:to", "h=from::to"), "syntax error: empty name in h="},
      {replaced(kTags, "b=AAAA", "b=!!!!"), "syntax error: b= is not base64"},
      {replaced(kTags, "bh=AAAA", "bh=AAA"), "syntax error: bh= is not base64"},
      {replaced(kTags, "b=AAAA", "b="), "syntax error: b= is not base64"},
      {replaced(kTags, "d=example.com", "d=example.com/x"), "syntax error: bad d="},
      {replaced(kTags, "s=sel", "s=a b"), "syntax error: bad s="},
      {kTags + "; l=-5", "syntax error: l= is not a number"},
      {kTags + "; t=soon", "syntax error: t= is not a number"},
      {kTags + "; t=2000; x=1000", "x= is before t="},
  };
  for (const auto& [tags, reason] : cases) {
    EXPECT_EQ(status_and_reason(verify_tags(tags)), "permerror: " + reason) << tags;
  }
}

TEST(DkimTags, ResultDescribesEvenABrokenSignature) {
  const DkimResult result = verify_tags("v=1; a=RSA-SHA256; d=Example.COM; s=sel; bh=AAAA; b=abcdefghijkl");
  EXPECT_EQ(result.domain, "example.com");
  EXPECT_EQ(result.selector, "sel");
  EXPECT_EQ(result.algorithm, "rsa-sha256");
  EXPECT_EQ(result.identity, "@example.com");
  EXPECT_EQ(result.signature_prefix, "abcdefgh");
  EXPECT_EQ(result.reason, "syntax error: missing h=");
}

TEST(DkimTags, HugeBodyLength) {
  const std::string field = dkim_sign(kMessage, signer_for(ed25519()), kNow);
  FakeDns dns = dns_with(ed25519());
  for (const std::string l : {"l=99999999999999999999999999999;", "l=18446744073709551615;"}) {
    EXPECT_EQ(status_and_reason(verify_one(replaced(field, " t=", " " + l + " t=") + "\r\n" + kMessage, dns)),
              "fail: l= exceeds the body length");
  }
  const std::string far_future = replaced(field, " t=", " t=99999999999999999999999; z=");
  EXPECT_EQ(status_and_reason(verify_one(far_future + "\r\n" + kMessage, dns)),
            "permerror: signature timestamp in the future");
}

// ---- Malformed input never crashes ---------------------------------------------------

void expect_sane(const DkimVerification& v) {
  for (const DkimResult& result : v.signatures) {
    EXPECT_NE(result.status, DkimStatus::None);
    EXPECT_TRUE(result.status == DkimStatus::Pass || !result.reason.empty())
        << dkim_status_name(result.status);
  }
}

TEST(DkimMalformed, DegenerateMessages) {
  const std::vector<std::pair<std::string, size_t>> cases = {
      {"", 0},
      {"\r\n", 0},
      {"\n\nDKIM-Signature: v=1\n", 0},  // in the body
      {"DKIM-Signature:", 1},
      {"DKIM-Signature: ;;;", 1},
      {"DKIM-Signature: =", 1},
      {"DKIM-Signature:\r\n\r\n", 1},
      {" DKIM-Signature: v=1\r\nFrom: a\r\n\r\n", 0},  // a continuation line first
      {"dkim-signature : " + kTags + "\r\n", 1},
      {"DKIM-Signature: v=1; a=rsa-sha256\0; d=x\r\n\r\n"s, 1},
      {"From \nDKIM-Signature: " + kTags, 1},
      {"From ", 0},
  };
  for (const auto& [message, signatures] : cases) {
    FakeDns dns;
    const DkimVerification v = dkim_verify(message, dns.lookup(), kNow);
    EXPECT_EQ(v.signatures.size(), signatures) << message;
    expect_sane(v);
    dkim_key_queries(message);
  }
}

TEST(DkimMalformed, EveryTruncation) {
  const std::string message = sign_message(kMessage, signer_for(ed25519()));
  FakeDns dns = dns_with(ed25519());
  const size_t field_name_end = std::string("DKIM-Signature:").size();
  for (size_t length = 0; length <= message.size(); ++length) {
    const std::string truncated = message.substr(0, length);
    const DkimVerification v = dkim_verify(truncated, dns.lookup(), kNow);
    EXPECT_EQ(v.signatures.size(), length >= field_name_end ? 1u : 0u) << length;
    expect_sane(v);
    dkim_key_queries(truncated);
  }
}

TEST(DkimMalformed, RandomDamage) {
  const std::string message = sign_message(kMessage, signer_for(rsa2048()));
  FakeDns dns = dns_with(rsa2048());
  std::mt19937 random(6376);
  const std::string alphabet = ":;= \t\r\n\0AZaz09+/@.-"s;
  for (int round = 0; round < 1500; ++round) {
    std::string damaged = message;
    const int changes = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < changes; ++i) {
      damaged[random() % damaged.size()] = alphabet[random() % alphabet.size()];
    }
    const DkimVerification v = dkim_verify(damaged, dns.lookup(), kNow);
    EXPECT_LE(v.signatures.size(), 1u);
    expect_sane(v);
    dkim_key_queries(damaged);
  }
}

// ---- The external corpus --------------------------------------------------------------

// Every corpus message that has DKIM-Signature fields (as GMime sees them) gets one
// result per field, without a key record and with DNS down.
TEST(DkimCorpus, EverySignedMessageIsProcessed) {
  const fs::path corpus = MP_CORPUS_DIR "/mime-rspamd";
  if (!fs::is_directory(corpus)) GTEST_SKIP() << corpus << " not present";
  size_t signed_messages = 0, processed = 0;
  for (const auto& entry : fs::recursive_directory_iterator(corpus)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".eml") continue;
    const std::string bytes = read_text(entry.path());
    const runtime::Message parsed = runtime::Message::parse(bytes);
    const auto& headers = parsed.headers();
    const auto fields = static_cast<size_t>(std::count_if(headers.begin(), headers.end(), [](const auto& h) {
      return h.name.size() == 14 && std::equal(h.name.begin(), h.name.end(), "dkim-signature",
                                               [](char a, char b) { return std::tolower(a) == b; });
    }));
    if (fields == 0) continue;
    ++signed_messages;
    bool all_fields = true;
    for (const dns::Status status : {dns::Status::NxDomain, dns::Status::TempError}) {
      const DkimVerification v = dkim_verify(
          bytes, [&](const std::string&) { return status_answer(status, "timeout"); }, kNow);
      EXPECT_EQ(v.signatures.size(), fields) << entry.path();
      all_fields = all_fields && v.signatures.size() == fields;
      expect_sane(v);
      EXPECT_NE(v.overall(), DkimStatus::Pass) << entry.path();
    }
    dkim_key_queries(bytes);
    processed += all_fields;
  }
  std::cout << "DKIM corpus: " << processed << "/" << signed_messages << " signed messages processed\n";
  EXPECT_GE(signed_messages, 32u);  // as the corpus is today
  EXPECT_EQ(processed, signed_messages);
}

}  // namespace
}  // namespace mp::auth
