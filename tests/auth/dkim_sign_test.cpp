// Tests for DKIM signing (auth/dkim.h, auth/dkim_sign.cpp): the canonical forms of
// RFC 6376 3.4.5, signing and verifying round trips, what dkim_sign writes, and
// interoperability in both directions with python3-dkim (dkimpy, through
// tests/auth/dkim_tool.py) and opendkim-genkey.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "auth/dkim.h"
#include "tests/auth/dkim_test_util.h"

namespace mp::auth {
namespace {

using namespace dkim_testing;

namespace fs = std::filesystem;
using e2e::read_text;
using e2e::shell_quote;

std::string with_lf(std::string text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) out += text[i];
  }
  return out;
}

const std::string kFooter = "-- \r\nlist-users mailing list\r\nhttps://lists.example.org/\r\n";

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

}  // namespace
}  // namespace mp::auth
