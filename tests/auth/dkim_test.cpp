// Tests for DKIM (auth/dkim.h): the canonical forms of RFC 6376 3.4.5, the RFC 8463
// example message with its published keys, signing round trips, the tag and key
// record rules one by one, malformed input, interoperability with python3-dkim
// (dkimpy, through tests/auth/dkim_tool.py) and opendkim-genkey, key lookups through
// the real resolver, and a pass over the signed messages of the external corpus.
//
// Test keys (test-only, never published) are in tests/data/dkim; see its README.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <regex>

#include "auth/dkim.h"
#include "runtime/message.h"
#include "tests/dnsd/test_dns_server.h"
#include "tests/e2e/e2e_util.h"

namespace mp::auth {
namespace {

namespace fs = std::filesystem;
using e2e::read_text;
using e2e::shell_quote;
using namespace std::string_literals;

const fs::path kData = fs::path(MP_SOURCE_DIR) / "tests/data/dkim";
constexpr std::time_t kNow = 1767261600;  // 2026-01-01 10:00:00 UTC

std::string data_file(const std::string& name) {
  std::string text = read_text(kData / name);
  EXPECT_FALSE(text.empty()) << "missing " << kData / name;
  return text;
}

// `text` with the first `from` replaced by `to`; the test fails when there is none.
std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "'" << from << "' not in:\n" << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string with_lf(std::string text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) out += text[i];
  }
  return out;
}

// ---- DNS answers -------------------------------------------------------------------

// As a DNS server sends a long record: character-strings of at most `piece` octets.
dns::Answer txt_answer(std::string_view record, size_t piece = 255) {
  dns::Record txt;
  txt.type = dns::RrType::Txt;
  for (size_t i = 0; i < record.size(); i += piece) txt.strings.emplace_back(record.substr(i, piece));
  dns::Answer answer;
  answer.status = dns::Status::Ok;
  answer.records.push_back(txt);
  return answer;
}

dns::Answer status_answer(dns::Status status, std::string reason = "") {
  dns::Answer answer;
  answer.status = status;
  answer.reason = std::move(reason);
  return answer;
}

// Key records by name, NXDOMAIN for every other name; remembers what was asked.
struct FakeDns {
  std::map<std::string, dns::Answer> answers;
  std::vector<std::string> asked;

  void add(const std::string& name, std::string_view record) { answers[name] = txt_answer(record); }
  KeyLookup lookup() {
    return [this](const std::string& name) {
      asked.push_back(name);
      auto it = answers.find(name);
      return it == answers.end() ? status_answer(dns::Status::NxDomain) : it->second;
    };
  }
};

// ---- Keys and messages -------------------------------------------------------------

struct TestKey {
  std::string file;
  std::string pem;
  std::string record;  // "v=DKIM1; k=...; p=..."
};

TestKey load_key(const std::string& file) {
  TestKey key{file, data_file(file), ""};
  key.record = dkim_public_key_record(key.pem);
  return key;
}
const TestKey& rsa2048() {
  static const TestKey key = load_key("rsa2048.pem");
  return key;
}
const TestKey& ed25519() {
  static const TestKey key = load_key("ed25519.pem");
  return key;
}

const std::string kMessage =
    "Received: from mx.example.org by mx.example.net; Thu, 1 Jan 2026 10:00:00 +0000\r\n"
    "From: Alice Example <alice@example.com>\r\n"
    "To: bob@example.net\r\n"
    "Subject: Quarterly numbers,\r\n"
    "\tfolded onto a second line\r\n"
    "Date: Thu, 1 Jan 2026 09:59:00 +0000\r\n"
    "Message-ID: <1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "\r\n"
    "the numbers  are\tattached.   \r\n"
    "\r\n"
    "\r\n";

const std::string kFooter = "-- \r\nlist-users mailing list\r\nhttps://lists.example.org/\r\n";

DkimSigner signer_for(const TestKey& key) {
  return {.domain = "example.com", .selector = "sel", .private_key_pem = key.pem};
}

std::string sign_message(const std::string& message, const DkimSigner& signer, std::time_t when = kNow) {
  return dkim_sign(message, signer, when) + "\r\n" + message;
}

FakeDns dns_with(const TestKey& key) {
  FakeDns dns;
  dns.add("sel._domainkey.example.com", key.record);
  return dns;
}

DkimResult verify_one(const std::string& message, FakeDns& dns, std::time_t now = kNow) {
  const DkimVerification verification = dkim_verify(message, dns.lookup(), now);
  EXPECT_EQ(verification.signatures.size(), 1u);
  return verification.signatures.empty() ? DkimResult{} : verification.signatures.front();
}

DkimResult verify_with_record(const std::string& message, const std::string& record) {
  FakeDns dns;
  dns.add("sel._domainkey.example.com", record);
  return verify_one(message, dns);
}

std::string status_and_reason(const DkimResult& result) {
  return std::string(dkim_status_name(result.status)) + (result.reason.empty() ? "" : ": " + result.reason);
}

// ---- Canonicalisation --------------------------------------------------------------

TEST(DkimCanonicalization, HeaderExamplesOfRfc6376) {  // section 3.4.5
  EXPECT_EQ(dkim_canonical_header("A: X\r\n", true), "a:X\r\n");
  EXPECT_EQ(dkim_canonical_header("B : Y\t\r\n\tZ  \r\n", true), "b:Y Z\r\n");
  EXPECT_EQ(dkim_canonical_header("B : Y\t\r\n\tZ  \r\n", false), "B : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(dkim_canonical_header("Subject:   \r\n", true), "subject:\r\n");
}

TEST(DkimCanonicalization, BodyExamplesOfRfc6376) {
  EXPECT_EQ(dkim_canonical_body(" C \r\nD \t E\r\n\r\n\r\n", true), " C\r\nD E\r\n");
  EXPECT_EQ(dkim_canonical_body(" C \r\nD \t E\r\n\r\n\r\n", false), " C \r\nD \t E\r\n");
}

TEST(DkimCanonicalization, EmptyAndUnterminatedBodies) {
  EXPECT_EQ(dkim_canonical_body("", false), "\r\n");  // RFC 6376 3.4.3
  EXPECT_EQ(dkim_canonical_body("", true), "");       // 3.4.4, RFC 4871 erratum 1376
  EXPECT_EQ(dkim_canonical_body("\r\n\r\n", false), "\r\n");
  EXPECT_EQ(dkim_canonical_body(" \r\n\t\r\n", true), "");
  EXPECT_EQ(dkim_canonical_body("last line", false), "last line\r\n");
  EXPECT_EQ(dkim_canonical_body("last line \t", true), "last line\r\n");
}

// ---- The RFC 8463 example (Appendix A), as published, LF line ends -----------------

const std::string kRfc8463Ed25519Key = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const std::string kRfc8463RsaKey =
    "v=DKIM1; k=rsa; "
    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
    "2kryOTIKT+l/K4w3QIDAQAB";
constexpr std::time_t kRfc8463SigningTime = 1528637909;

FakeDns rfc8463_dns() {
  FakeDns dns;
  dns.add("brisbane._domainkey.football.example.com", kRfc8463Ed25519Key);
  dns.add("test._domainkey.football.example.com", kRfc8463RsaKey);
  return dns;
}

std::vector<std::string> statuses(const DkimVerification& verification) {
  std::vector<std::string> out;
  for (const DkimResult& result : verification.signatures) out.push_back(status_and_reason(result));
  return out;
}

DkimVerification verify_rfc8463(const std::string& message, std::time_t now = kRfc8463SigningTime + 60) {
  FakeDns dns = rfc8463_dns();
  return dkim_verify(message, dns.lookup(), now);
}

TEST(DkimRfc8463, BothSignaturesPass) {
  const DkimVerification v = verify_rfc8463(data_file("rfc8463_example.eml"));
  ASSERT_EQ(v.signatures.size(), 2u);
  EXPECT_EQ(statuses(v), (std::vector<std::string>{"pass", "pass"}));
  const DkimResult& ed = v.signatures[0];
  EXPECT_EQ(ed.algorithm, "ed25519-sha256");
  EXPECT_EQ(ed.domain, "football.example.com");
  EXPECT_EQ(ed.selector, "brisbane");
  EXPECT_EQ(ed.identity, "@football.example.com");
  EXPECT_EQ(ed.signature_prefix, "/gCrinpc");
  EXPECT_FALSE(ed.testing);
  EXPECT_EQ(v.signatures[1].algorithm, "rsa-sha256");
  EXPECT_EQ(v.overall(), DkimStatus::Pass);
  EXPECT_EQ(v.passing_domains(), std::vector<std::string>{"football.example.com"});
}

TEST(DkimRfc8463, ChangedBodyIsABodyHashMismatch) {
  const std::string changed =
      replaced(data_file("rfc8463_example.eml"), "We lost the game.", "We won the game.");
  EXPECT_EQ(statuses(verify_rfc8463(changed)),
            (std::vector<std::string>{"fail: body hash mismatch", "fail: body hash mismatch"}));
}

TEST(DkimRfc8463, ChangedSignedHeaderFailsTheSignature) {
  const std::string changed =
      replaced(data_file("rfc8463_example.eml"), "Is dinner ready?", "Is lunch ready?");
  EXPECT_EQ(statuses(verify_rfc8463(changed)),
            (std::vector<std::string>{"fail: signature did not verify", "fail: signature did not verify"}));
}

TEST(DkimRfc8463, OverSignedHeaderCannotBeAdded) {
  // h= lists subject twice while the message has one Subject: a second one is noticed
  // wherever it is put, while an unsigned field may be added freely.
  const std::string original = data_file("rfc8463_example.eml");
  const std::string extra_subject = replaced(original, "\n\nHi.", "\nSubject: Free lunch\n\nHi.");
  EXPECT_EQ(verify_rfc8463(extra_subject).overall(), DkimStatus::Fail);
  const std::string extra_field = replaced(original, "\n\nHi.", "\nX-Mailer: list manager\n\nHi.");
  EXPECT_EQ(statuses(verify_rfc8463(extra_field)), (std::vector<std::string>{"pass", "pass"}));
}

TEST(DkimRfc8463, MboxFromLineAsKeptByTheMessageModel) {
  const std::string mbox =
      "From joe@football.example.com Fri Jul 11 21:00:37 2003\n" + data_file("rfc8463_example.eml");
  const runtime::Message message = runtime::Message::parse(mbox);
  ASSERT_TRUE(message.raw().starts_with("From joe@")) << "Message::raw() keeps the mbox line";
  EXPECT_EQ(statuses(verify_rfc8463(std::string(message.raw()))), (std::vector<std::string>{"pass", "pass"}));
  EXPECT_EQ(dkim_key_queries(message.raw()),
            (std::vector<std::string>{"brisbane._domainkey.football.example.com",
                                      "test._domainkey.football.example.com"}));
}

TEST(DkimRfc8463, SignatureTimeAgainstTheClock) {
  const std::string message = data_file("rfc8463_example.eml");
  EXPECT_EQ(verify_rfc8463(message, kRfc8463SigningTime - 200).overall(),
            DkimStatus::Pass);  // within the skew
  const DkimVerification early = verify_rfc8463(message, kRfc8463SigningTime - 1000);
  EXPECT_EQ(statuses(early), (std::vector<std::string>{"permerror: signature timestamp in the future",
                                                       "permerror: signature timestamp in the future"}));
}

// ---- Signing and verifying round trips ---------------------------------------------

struct RoundTrip {
  const TestKey& (*key)();
  bool relaxed_header, relaxed_body;
};

class DkimRoundTrip : public ::testing::TestWithParam<RoundTrip> {
 protected:
  DkimSigner signer() const {
    DkimSigner s = signer_for(GetParam().key());
    s.relaxed_header = GetParam().relaxed_header;
    s.relaxed_body = GetParam().relaxed_body;
    return s;
  }
};

TEST_P(DkimRoundTrip, SignedMessagePasses) {
  const std::string field = dkim_sign(kMessage, signer(), kNow);
  FakeDns dns = dns_with(GetParam().key());
  const DkimResult result = verify_one(field + "\r\n" + kMessage, dns);
  EXPECT_EQ(status_and_reason(result), "pass");
  EXPECT_EQ(result.domain, "example.com");
  EXPECT_EQ(result.selector, "sel");
  EXPECT_EQ(result.identity, "@example.com");
  EXPECT_EQ(result.algorithm, GetParam().key().file == "ed25519.pem" ? "ed25519-sha256" : "rsa-sha256");
  EXPECT_EQ(result.signature_prefix, field.substr(field.find("\tb=") + 3, 8));
  EXPECT_EQ(dns.asked, std::vector<std::string>{"sel._domainkey.example.com"});
}

TEST_P(DkimRoundTrip, LineEndsAndMboxLineDoNotMatter) {
  const std::string field = dkim_sign(kMessage, signer(), kNow);
  EXPECT_EQ(dkim_sign(with_lf(kMessage), signer(), kNow), field);
  EXPECT_EQ(dkim_sign("From alice@example.com Thu Jan  1 10:00:00 2026\n" + kMessage, signer(), kNow), field);
  FakeDns dns = dns_with(GetParam().key());
  EXPECT_EQ(status_and_reason(verify_one(with_lf(field + "\r\n" + kMessage), dns)), "pass");
  EXPECT_EQ(status_and_reason(verify_one(
                "From alice@example.com Thu Jan  1 10:00:00 2026\r\n" + field + "\r\n" + kMessage, dns)),
            "pass");
}

TEST_P(DkimRoundTrip, ChangesThatCanonicalizationForgives) {
  std::string changed = sign_message(kMessage, signer());
  changed =
      replaced(changed, "Subject: Quarterly numbers,\r\n\tfolded", "SUBJECT:  Quarterly numbers,\r\n folded");
  changed = replaced(changed, "the numbers  are\tattached.   \r\n", "the numbers are attached.\r\n");
  changed += "\r\n\r\n";  // empty lines at the end never count
  FakeDns dns = dns_with(GetParam().key());
  const DkimResult result = verify_one(changed, dns);
  if (GetParam().relaxed_header && GetParam().relaxed_body) {
    EXPECT_EQ(status_and_reason(result), "pass");
  } else if (!GetParam().relaxed_body) {
    EXPECT_EQ(status_and_reason(result), "fail: body hash mismatch");
  } else {
    EXPECT_EQ(status_and_reason(result), "fail: signature did not verify");
  }
}

TEST_P(DkimRoundTrip, AppendedFooterIsABodyHashMismatch) {
  FakeDns dns = dns_with(GetParam().key());
  EXPECT_EQ(status_and_reason(verify_one(sign_message(kMessage, signer()) + kFooter, dns)),
            "fail: body hash mismatch");
}

INSTANTIATE_TEST_SUITE_P(KeysAndCanonicalizations, DkimRoundTrip,
                         ::testing::Values(RoundTrip{rsa2048, true, true}, RoundTrip{rsa2048, false, false},
                                           RoundTrip{rsa2048, true, false}, RoundTrip{rsa2048, false, true},
                                           RoundTrip{ed25519, true, true}, RoundTrip{ed25519, false, false}),
                         [](const auto& info) {
                           return std::string(info.param.key().file == "ed25519.pem" ? "Ed25519" : "Rsa") +
                                  (info.param.relaxed_header ? "Relaxed" : "Simple") +
                                  (info.param.relaxed_body ? "Relaxed" : "Simple");
                         });

// ---- What dkim_sign writes ---------------------------------------------------------

TEST(DkimSign, FieldLayout) {
  const std::string field = dkim_sign(kMessage, signer_for(rsa2048()), kNow);
  EXPECT_TRUE(
      field.starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel;"))
      << field;
  EXPECT_FALSE(field.ends_with("\r\n"));
  const std::string unfolded = std::regex_replace(field, std::regex("\r\n\t"), " ");
  EXPECT_NE(unfolded.find(" t=1767261600;"), std::string::npos) << field;
  EXPECT_NE(unfolded.find(" h=from:to:subject:date:message-id:mime-version:content-type;"), std::string::npos)
      << field;
  EXPECT_EQ(unfolded.find('\r'), std::string::npos) << "only \"\\r\\n\\t\" breaks lines";
  EXPECT_EQ(unfolded.find('\n'), std::string::npos);
  for (size_t start = 0, end; start < field.size(); start = end + 3) {
    end = std::min(field.find("\r\n\t", start), field.size());
    EXPECT_LE(end - start + (start == 0 ? 0 : 1), 78u) << field;
  }
}

TEST(DkimSign, SignsWhatIsThereAndAlwaysFrom) {
  DkimSigner signer = signer_for(ed25519());
  signer.headers = {"Reply-To", "x-tag", "SUBJECT", "subject"};
  const std::string message = "X-Tag: one\r\nX-Tag: two\r\nSubject: s\r\n\r\nbody\r\n";
  const std::string field = dkim_sign(message, signer, kNow);
  EXPECT_NE(field.find(" h=from:x-tag:x-tag:subject;"), std::string::npos) << field;
  signer.relaxed_header = signer.relaxed_body = false;
  EXPECT_NE(dkim_sign(message, signer, kNow).find(" c=simple/simple;"), std::string::npos);
}

TEST(DkimSign, FromFieldWithSpaceBeforeTheColonIsNoMboxLine) {
  const std::string message = "From : alice@example.com\r\nSubject: s\r\n\r\nbody\r\n";
  FakeDns dns = dns_with(ed25519());
  EXPECT_EQ(status_and_reason(verify_one(sign_message(message, signer_for(ed25519())), dns)), "pass");
}

TEST(DkimSign, FieldsAreTakenFromTheBottom) {
  DkimSigner signer = signer_for(ed25519());
  signer.headers = {"x-tag"};
  const std::string message = "From: a@example.com\r\nX-Tag: one\r\nX-Tag: two\r\n\r\nbody\r\n";
  const std::string signed_message = sign_message(message, signer);
  FakeDns dns = dns_with(ed25519());
  const std::string swapped =
      replaced(replaced(signed_message, "X-Tag: one", "X-Tag: 1"), "X-Tag: two", "X-Tag: one");
  EXPECT_EQ(status_and_reason(verify_one(replaced(swapped, "X-Tag: 1", "X-Tag: two"), dns)),
            "fail: signature did not verify");
  // Signing took the bottom two: one more on top goes unnoticed, one more below does not.
  EXPECT_EQ(status_and_reason(verify_one(replaced(signed_message, "From:", "X-Tag: zero\r\nFrom:"), dns)),
            "pass");
  EXPECT_EQ(status_and_reason(
                verify_one(replaced(signed_message, "\r\n\r\nbody", "\r\nX-Tag: three\r\n\r\nbody"), dns)),
            "fail: signature did not verify");
}

TEST(DkimSign, ExpiryWithClockSkew) {
  DkimSigner signer = signer_for(ed25519());
  signer.expire_after = 3600;
  const std::string message = sign_message(kMessage, signer);
  EXPECT_NE(message.find(" x=1767265200;"), std::string::npos);
  FakeDns dns = dns_with(ed25519());
  EXPECT_EQ(status_and_reason(verify_one(message, dns, kNow + 3600 + 200)), "pass");
  EXPECT_EQ(status_and_reason(verify_one(message, dns, kNow + 3600 + 301)), "fail: signature expired");
}

TEST(DkimSign, BodyLengthLetsAFooterThrough) {
  DkimSigner signer = signer_for(rsa2048());
  signer.body_length = true;
  const std::string message = sign_message(kMessage, signer);
  FakeDns dns = dns_with(rsa2048());
  EXPECT_EQ(status_and_reason(verify_one(message + kFooter, dns)), "pass");
  EXPECT_EQ(status_and_reason(verify_one(replaced(message, "Hello Bob,\r\n", ""), dns)),
            "fail: l= exceeds the body length");
}

TEST(DkimSign, RejectsUnusableKeysAndNames) {
  DkimSigner signer = signer_for(rsa2048());
  signer.private_key_pem = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  EXPECT_THROW(dkim_sign(kMessage, signer, kNow), std::runtime_error);
  signer.private_key_pem = data_file("rsa512.pem");
  EXPECT_THROW(dkim_sign(kMessage, signer, kNow), std::runtime_error);
  signer = signer_for(ed25519());
  signer.domain = "";
  EXPECT_THROW(dkim_sign(kMessage, signer, kNow), std::runtime_error);
  signer = signer_for(ed25519());
  signer.selector = "sel; x=1";
  EXPECT_THROW(dkim_sign(kMessage, signer, kNow), std::runtime_error);
  EXPECT_THROW(dkim_public_key_record("garbage"), std::runtime_error);
}

TEST(DkimSign, PublicKeyRecords) {
  EXPECT_TRUE(rsa2048().record.starts_with("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"));
  EXPECT_TRUE(ed25519().record.starts_with("v=DKIM1; k=ed25519; p="));
  EXPECT_EQ(ed25519().record.size(), std::string("v=DKIM1; k=ed25519; p=").size() + 44);
}

// ---- Several signatures and the overall result --------------------------------------

TEST(DkimVerify, SeveralSignaturesInHeaderOrder) {
  DkimSigner list_signer = signer_for(rsa2048());
  list_signer.domain = "lists.example.org";
  const std::string message = sign_message(sign_message(kMessage, signer_for(ed25519())), list_signer);
  FakeDns dns = dns_with(ed25519());
  dns.add("sel._domainkey.lists.example.org", rsa2048().record);
  const DkimVerification v = dkim_verify(message, dns.lookup(), kNow);
  EXPECT_EQ(statuses(v), (std::vector<std::string>{"pass", "pass"}));
  EXPECT_EQ(v.passing_domains(), (std::vector<std::string>{"lists.example.org", "example.com"}));

  dns.add("sel._domainkey.lists.example.org", "v=DKIM1; p=");
  const DkimVerification one_revoked = dkim_verify(message, dns.lookup(), kNow);
  EXPECT_EQ(statuses(one_revoked), (std::vector<std::string>{"permerror: key revoked", "pass"}));
  EXPECT_EQ(one_revoked.overall(), DkimStatus::Pass);
  EXPECT_EQ(one_revoked.passing_domains(), std::vector<std::string>{"example.com"});
}

TEST(DkimVerify, EachKeyIsLookedUpOnce) {
  const std::string once = sign_message(kMessage, signer_for(ed25519()));
  const std::string twice = sign_message(once, signer_for(ed25519()));
  FakeDns dns = dns_with(ed25519());
  EXPECT_EQ(statuses(dkim_verify(twice, dns.lookup(), kNow)), (std::vector<std::string>{"pass", "pass"}));
  EXPECT_EQ(dns.asked, std::vector<std::string>{"sel._domainkey.example.com"});
}

TEST(DkimVerify, KeyQueriesForPrefetch) {
  const std::string message =
      "DKIM-Signature: v=1; a=rsa-sha256; d=Example.COM; s=a; h=from; bh=AAAA; b=AAAA\r\n"
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=b; bh=AAAA; b=AAAA\r\n"  // no h=
      "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=a; h=from; bh=AAAA; b=AAAA\r\n"
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.net; s=c.d; h=from; bh=AAAA; b=AAAA\r\n"
      "From: a@example.com\r\n\r\n";
  EXPECT_EQ(dkim_key_queries(message),
            (std::vector<std::string>{"a._domainkey.example.com", "c.d._domainkey.example.net"}));
  EXPECT_TRUE(dkim_key_queries(kMessage).empty());
}

TEST(DkimVerify, AtMostTenSignaturesAreChecked) {
  std::string message = kMessage;
  for (int i = 0; i < 12; ++i) {
    message = "DKIM-Signature: v=1; a=rsa-sha256; d=d" + std::to_string(i) +
              ".example; s=s; h=from; bh=AAAA; b=AAAA\r\n" + message;
  }
  FakeDns dns;
  const DkimVerification v = dkim_verify(message, dns.lookup(), kNow);
  ASSERT_EQ(v.signatures.size(), 12u);
  EXPECT_EQ(status_and_reason(v.signatures[9]), "permerror: no key record");
  EXPECT_EQ(status_and_reason(v.signatures[10]), "neutral: not checked: more than 10 signatures");
  EXPECT_EQ(v.signatures[11].domain, "d0.example");
  EXPECT_EQ(dns.asked.size(), 10u);
  EXPECT_EQ(dkim_key_queries(message).size(), 10u);
}

DkimVerification with_statuses(std::initializer_list<DkimStatus> list) {
  DkimVerification v;
  for (DkimStatus status : list) v.signatures.emplace_back().status = status;
  return v;
}

TEST(DkimVerify, OverallOrder) {
  using enum DkimStatus;
  EXPECT_EQ(with_statuses({}).overall(), None);
  EXPECT_EQ(with_statuses({Fail, Pass, TempError}).overall(), Pass);
  EXPECT_EQ(with_statuses({PermError, Fail, TempError, Neutral}).overall(), TempError);
  EXPECT_EQ(with_statuses({PermError, Fail, Neutral}).overall(), Fail);
  EXPECT_EQ(with_statuses({Neutral, PermError}).overall(), PermError);
  EXPECT_EQ(with_statuses({Neutral}).overall(), Neutral);
  EXPECT_TRUE(with_statuses({Fail}).passing_domains().empty());
}

TEST(DkimVerify, StatusNames) {
  using enum DkimStatus;
  EXPECT_EQ(dkim_status_name(None), "none");
  EXPECT_EQ(dkim_status_name(Pass), "pass");
  EXPECT_EQ(dkim_status_name(Fail), "fail");
  EXPECT_EQ(dkim_status_name(Neutral), "neutral");
  EXPECT_EQ(dkim_status_name(TempError), "temperror");
  EXPECT_EQ(dkim_status_name(PermError), "permerror");
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

// ---- Key lookups through the real resolver -------------------------------------------

// The production path: prefetch the names dkim_key_queries() gives, then answer the
// lookups from the resolver's cache. The DNS server sends the RSA record as several
// character-strings; one selector times out, one is SERVFAIL.
TEST(DkimResolver, PrefetchedKeysThroughTheResolver) {
  std::string zone = "ed._domainkey.example.com. 300 IN TXT \"" + ed25519().record + "\"\n" +
                     "rsa._domainkey.example.com. 300 IN TXT";
  for (size_t i = 0; i < rsa2048().record.size(); i += 200)
    zone += " \"" + rsa2048().record.substr(i, 200) + "\"";
  zone += "\nslow._domainkey.example.com. TIMEOUT\nbroken._domainkey.example.com. SERVFAIL\n";
  mp::testing::TestDnsServer server(zone);
  dns::Resolver resolver({.servers = {server.address()}, .timeout_ms = 300, .tries = 1, .cache = nullptr});

  std::string message = kMessage;
  for (const char* selector : {"broken", "slow", "missing", "rsa", "ed"}) {
    DkimSigner signer = signer_for(std::string_view(selector) == "rsa" ? rsa2048() : ed25519());
    signer.selector = selector;
    message = sign_message(message, signer);
  }
  const std::vector<std::string> names = dkim_key_queries(message);
  ASSERT_EQ(names.size(), 5u);
  for (const std::string& name : names) resolver.query(name, dns::RrType::Txt, [](const dns::Answer&) {});
  resolver.run_until_idle(dns::Resolver::Clock::now() + std::chrono::seconds(5));

  std::map<std::string, bool> from_cache;
  const DkimVerification v = dkim_verify(
      message,
      [&](const std::string& name) {
        dns::Answer answer = resolver.resolve(name, dns::RrType::Txt);
        from_cache[name] = answer.from_cache;
        return answer;
      },
      kNow);
  ASSERT_EQ(v.signatures.size(), 5u);
  EXPECT_EQ(status_and_reason(v.signatures[0]), "pass");  // ed
  EXPECT_EQ(status_and_reason(v.signatures[1]), "pass");  // rsa, several strings
  EXPECT_EQ(status_and_reason(v.signatures[2]), "permerror: no key record");
  EXPECT_EQ(v.signatures[3].status, DkimStatus::TempError);
  EXPECT_TRUE(v.signatures[3].reason.starts_with("DNS ")) << v.signatures[3].reason;
  EXPECT_EQ(v.signatures[4].status, DkimStatus::TempError);
  EXPECT_TRUE(from_cache["ed._domainkey.example.com"]);
  EXPECT_TRUE(from_cache["rsa._domainkey.example.com"]);
}

// ---- python3-dkim and opendkim-tools --------------------------------------------------

const fs::path kPythonTool = fs::path(MP_SOURCE_DIR) / "tests/auth/dkim_tool.py";

bool python_dkim_available() {
  static const bool available =
      e2e::run_shell("/usr/bin/python3 -c 'import dkim, nacl' >/dev/null 2>&1").status == 0;
  return available;
}

class DkimInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!python_dkim_available()) {
      GTEST_SKIP() << "/usr/bin/python3 cannot import dkim and nacl (Debian python3-dkim, python3-nacl)";
    }
  }

  // The message with a DKIM-Signature from dkimpy prepended.
  std::string python_signed(const std::string& message, const TestKey& key, const std::string& canon,
                            const std::vector<std::string>& options = {}) {
    const fs::path input = scratch_.write("in.eml", message);
    std::string command = "/usr/bin/python3 " + shell_quote(kPythonTool.string()) + " sign " +
                          shell_quote((kData / key.file).string()) + " sel example.com " + canon;
    for (const std::string& option : options) command += " " + shell_quote(option);
    const e2e::RunResult run = e2e::run_shell(command + " <" + shell_quote(input.string()));
    EXPECT_EQ(run.status, 0) << e2e::describe(run);
    EXPECT_TRUE(run.out.starts_with("DKIM-Signature:")) << run.out;
    return run.out + message;
  }

  // dkimpy's verdict on the first signature: "pass" or "fail: ...".
  std::string python_verdict(const std::string& message, const std::string& record) {
    const fs::path input = scratch_.write("verify.eml", message);
    const fs::path records = scratch_.write("records", "sel._domainkey.example.com " + record + "\n");
    const e2e::RunResult run =
        e2e::run_shell("/usr/bin/python3 " + shell_quote(kPythonTool.string()) + " verify " +
                       shell_quote(records.string()) + " <" + shell_quote(input.string()));
    EXPECT_EQ(run.status, 0) << e2e::describe(run);
    return run.last_line();
  }

  static DkimResult verify_now(const std::string& message, const std::string& record) {
    FakeDns dns;
    dns.add("sel._domainkey.example.com", record);
    return verify_one(message, dns, std::time(nullptr));
  }

  e2e::TempDir scratch_;
};

TEST_F(DkimInterop, PythonSignaturesPassHere) {
  for (const TestKey* key : {&rsa2048(), &ed25519()}) {
    for (const char* canon : {"relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed"}) {
      const std::string message = python_signed(kMessage, *key, canon);
      EXPECT_EQ(status_and_reason(verify_now(message, key->record)), "pass") << key->file << " " << canon;
      EXPECT_EQ(status_and_reason(verify_now(with_lf(message), key->record)), "pass")
          << key->file << " " << canon;
    }
  }
}

TEST_F(DkimInterop, PythonBodyLengthAndIdentity) {
  const std::string with_length = python_signed(kMessage, rsa2048(), "relaxed/relaxed", {"--length"});
  EXPECT_NE(with_length.find(" l="), std::string::npos);
  EXPECT_EQ(status_and_reason(verify_now(with_length + kFooter, rsa2048().record)), "pass");
  const std::string with_identity =
      python_signed(kMessage, ed25519(), "relaxed/relaxed", {"--identity", "alice@mail.example.com"});
  const DkimResult result = verify_now(with_identity, ed25519().record);
  EXPECT_EQ(status_and_reason(result), "pass");
  EXPECT_EQ(result.identity, "alice@mail.example.com");
  EXPECT_EQ(status_and_reason(verify_now(with_identity, ed25519().record + "; t=s")),
            "permerror: i= domain is not d= (key t=s)");
}

TEST_F(DkimInterop, FooterAfterPythonSignatureFailsInBoth) {
  for (const char* canon : {"relaxed/relaxed", "simple/simple"}) {
    const std::string footered = python_signed(kMessage, rsa2048(), canon) + kFooter;
    EXPECT_EQ(status_and_reason(verify_now(footered, rsa2048().record)), "fail: body hash mismatch") << canon;
    EXPECT_TRUE(python_verdict(footered, rsa2048().record).starts_with("fail")) << canon;
  }
}

TEST_F(DkimInterop, OurSignaturesPassInPython) {
  for (const TestKey* key : {&rsa2048(), &ed25519()}) {
    for (bool relaxed_header : {true, false}) {
      for (bool relaxed_body : {true, false}) {
        DkimSigner signer = signer_for(*key);
        signer.relaxed_header = relaxed_header;
        signer.relaxed_body = relaxed_body;
        const std::string message = sign_message(kMessage, signer, std::time(nullptr));
        EXPECT_EQ(python_verdict(message, key->record), "pass")
            << key->file << relaxed_header << relaxed_body;
        EXPECT_EQ(python_verdict(with_lf(message), key->record), "pass") << key->file;
      }
    }
  }
}

TEST_F(DkimInterop, OurOptionalTagsPassInPython) {
  DkimSigner signer = signer_for(rsa2048());
  signer.expire_after = 86400;
  signer.body_length = true;
  signer.headers.push_back("received");
  const std::string message = sign_message(kMessage, signer, std::time(nullptr));
  EXPECT_EQ(python_verdict(message, rsa2048().record), "pass");
  EXPECT_EQ(python_verdict(message + kFooter, rsa2048().record), "pass");
  EXPECT_TRUE(
      python_verdict(replaced(message, "Quarterly", "Monthly"), rsa2048().record).starts_with("fail"));
}

TEST_F(DkimInterop, PythonRsaSha1PassesWithANote) {
  const std::string message = python_signed(kMessage, rsa2048(), "relaxed/relaxed", {"--sha1"});
  ASSERT_NE(message.find("a=rsa-sha1"), std::string::npos);
  EXPECT_EQ(status_and_reason(verify_now(message, rsa2048().record)),
            "pass: rsa-sha1 is deprecated (RFC 8301)");
  EXPECT_EQ(status_and_reason(verify_now(message, "h=sha256; " + rsa2048().record)),
            "permerror: key does not allow sha1");
}

// opendkim-genkey makes the key and its record; ours must describe the key the same
// way, and a signature made with the key must pass here and in dkimpy.
TEST_F(DkimInterop, OpendkimGeneratedKey) {
  const fs::path genkey = "/usr/sbin/opendkim-genkey";
  if (!fs::exists(genkey)) GTEST_SKIP() << genkey << " not installed (Debian opendkim-tools)";
  const e2e::RunResult run = e2e::run_program({genkey.string(), "--bits=2048", "--domain=example.com",
                                               "--selector=sel", "--directory=" + scratch_.path().string()});
  ASSERT_EQ(run.status, 0) << e2e::describe(run);
  const std::string zone_entry = read_text(scratch_.path() / "sel.txt");
  std::string record;  // the quoted character-strings, joined
  static const std::regex quoted("\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(zone_entry.begin(), zone_entry.end(), quoted);
       it != std::sregex_iterator(); ++it) {
    record += (*it)[1].str();
  }
  const std::string private_key = read_text(scratch_.path() / "sel.private");
  const std::string ours = dkim_public_key_record(private_key);
  EXPECT_EQ(ours.substr(ours.find("p=")), record.substr(record.find("p="))) << zone_entry;

  DkimSigner signer = signer_for(rsa2048());
  signer.private_key_pem = private_key;
  const std::string message = sign_message(kMessage, signer, std::time(nullptr));
  EXPECT_EQ(status_and_reason(verify_now(message, record)), "pass") << record;
  EXPECT_EQ(python_verdict(message, record), "pass") << record;
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
