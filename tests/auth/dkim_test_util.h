// What the DKIM tests (tests/auth/dkim_*_test.cpp) share: the test keys and the
// message they sign, a fake DNS that serves key records, and shorthands for signing,
// verifying and reading a result as one string.
//
// Test keys (test-only, never published) are in tests/data/dkim; see its README.
//
// Header-only on purpose: tests/CMakeLists.txt builds only the *_test.cpp files of
// this directory into auth_tests, so everything here is `inline`.
#pragma once

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim.h"
#include "tests/e2e/e2e_util.h"

namespace mp::auth::dkim_testing {

inline const std::filesystem::path kData = std::filesystem::path(MP_SOURCE_DIR) / "tests/data/dkim";
inline constexpr std::time_t kNow = 1767261600;  // 2026-01-01 10:00:00 UTC

inline std::string data_file(const std::string& name) {
  std::string text = e2e::read_text(kData / name);
  EXPECT_FALSE(text.empty()) << "missing " << kData / name;
  return text;
}

// `text` with the first `from` replaced by `to`; the test fails when there is none.
inline std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "'" << from << "' not in:\n" << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// ---- DNS answers -------------------------------------------------------------------

// As a DNS server sends a long record: character-strings of at most `piece` octets.
inline dns::Answer txt_answer(std::string_view record, size_t piece = 255) {
  dns::Record txt;
  txt.type = dns::RrType::Txt;
  for (size_t i = 0; i < record.size(); i += piece) txt.strings.emplace_back(record.substr(i, piece));
  dns::Answer answer;
  answer.status = dns::Status::Ok;
  answer.records.push_back(txt);
  return answer;
}

inline dns::Answer status_answer(dns::Status status, std::string reason = "") {
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

inline TestKey load_key(const std::string& file) {
  TestKey key{file, data_file(file), ""};
  key.record = dkim_public_key_record(key.pem);
  return key;
}
inline const TestKey& rsa2048() {
  static const TestKey key = load_key("rsa2048.pem");
  return key;
}
inline const TestKey& ed25519() {
  static const TestKey key = load_key("ed25519.pem");
  return key;
}

inline const std::string kMessage =
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

inline DkimSigner signer_for(const TestKey& key) {
  return {.domain = "example.com", .selector = "sel", .private_key_pem = key.pem};
}

inline std::string sign_message(const std::string& message, const DkimSigner& signer,
                                std::time_t when = kNow) {
  return dkim_sign(message, signer, when) + "\r\n" + message;
}

inline FakeDns dns_with(const TestKey& key) {
  FakeDns dns;
  dns.add("sel._domainkey.example.com", key.record);
  return dns;
}

inline DkimResult verify_one(const std::string& message, FakeDns& dns, std::time_t now = kNow) {
  const DkimVerification verification = dkim_verify(message, dns.lookup(), now);
  EXPECT_EQ(verification.signatures.size(), 1u);
  return verification.signatures.empty() ? DkimResult{} : verification.signatures.front();
}

inline std::string status_and_reason(const DkimResult& result) {
  return std::string(dkim_status_name(result.status)) + (result.reason.empty() ? "" : ": " + result.reason);
}

inline std::vector<std::string> statuses(const DkimVerification& verification) {
  std::vector<std::string> out;
  for (const DkimResult& result : verification.signatures) out.push_back(status_and_reason(result));
  return out;
}

}  // namespace mp::auth::dkim_testing
