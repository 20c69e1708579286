// stdlib.attachment_defense through `policyc test` and `policyc run`, on messages whose
// attachments are built here (tests/attach/fixtures.h): each rule fires, each option
// changes what it does, plain documents stay clean, and the hostile archives (a zip
// bomb, a hundred nested zips, a damaged zip) are decided quickly by `uninspectable`.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/attach/fixtures.h"
#include "tests/e2e/e2e_util.h"

namespace mp::e2e {
namespace {

namespace fx = attach::testing;

using File = fx::Entry;
using fx::message_with;

std::string damaged_zip() {
  std::string words;
  for (int i = 0; words.size() < 20000; ++i) words += "word" + std::to_string(i * 7919 % 1000) + " ";
  std::string bytes = fx::zip({{"words.txt", words}});
  for (size_t i = 200; i < 600; ++i) bytes[i] = static_cast<char>(i * 31);
  return bytes;
}

// Every message of the suite, written once into `dir`/mail.
void write_messages(const TempDir& dir) {
  const std::vector<std::pair<std::string, std::vector<File>>> messages = {
      {"clean",
       {{"invoice.pdf", fx::pdf_document()},
        {"report.docx", fx::ooxml_document(false)},
        {"notes.zip", fx::zip({{"readme.txt", "minutes of the meeting\n"}})}}},
      {"exe-renamed", {{"invoice.pdf", fx::pe_executable()}}},
      {"exe-in-zip", {{"docs.zip", fx::zip({{"payload/setup.bin", fx::pe_executable()}})}}},
      {"script-in-zip",
       {{"order.zip", fx::zip({{"order.js", "var s = new ActiveXObject('WScript.Shell');\n"}})}}},
      {"mismatch", {{"photo.jpg", fx::pdf_document()}}},
      {"encrypted",
       {{"statement.zip", fx::make_archive(fx::Format::Zip, {{"statement.pdf", fx::pdf_document()}},
                                           "zip:encryption=zipcrypt", "1234")}}},
      {"macros", {{"report.docm", fx::ooxml_document(true)}}},
      {"html", {{"statement.htm", "<!DOCTYPE html>\n<html><body><form action=x></form></body></html>\n"}}},
      {"bomb", {{"bomb.zip", fx::zip({{"zeros.bin", std::string(150u << 20, '\0')}})}}},
      {"nested", {{"matryoshka.zip", fx::nested_zips(100)}}},
      {"corrupt", {{"words.zip", damaged_zip()}}},
  };
  for (const auto& [name, files] : messages) dir.write("mail/" + name + ".eml", message_with(files));
}

std::string test_case(const std::string& message, const std::string& expect) {
  return "case: " + message + "\n  message: mail/" + message + ".eml\n  client-ip: 198.51.100.20\n" +
         "  rcpt: ap@widget.com\n" + expect + "\n";
}

class AttachmentDefense : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    write_messages(*dir_);
  }
  static void TearDownTestSuite() { delete dir_; }

  // Runs `cases` against `import stdlib` with `settings`; the test fails with
  // policyc's report when a case does.
  static void expect_cases(const std::string& settings, const std::string& cases) {
    dir_->write("policy.mp", "import stdlib\nsettings {\n  org.domains = [widget.com]\n" + settings + "}\n");
    dir_->write("t.mptest", "policy: policy.mp\n\n" + cases);
    RunResult r = run_policyc(dir_->path(), {"test", "t.mptest"});
    EXPECT_EQ(r.status, 0) << describe(r);
  }
  static TempDir* dir_;
};

TempDir* AttachmentDefense::dir_ = nullptr;

TEST_F(AttachmentDefense, EachRuleFiresWithTheDefaults) {
  const std::string reject = "  action: reject\n  rule: attachment_defense.executable";
  const std::string quarantine = "  action: quarantine\n  rule: attachment_defense.";
  expect_cases("", test_case("clean", "  action: deliver\n  rule: none") + test_case("exe-renamed", reject) +
                       test_case("exe-in-zip", reject) + test_case("script-in-zip", reject) +
                       test_case("mismatch", quarantine + "type_mismatch") +
                       test_case("encrypted", quarantine + "encrypted") +
                       test_case("macros", quarantine + "macros") +
                       test_case("html", quarantine + "html_attachment") +
                       test_case("bomb", quarantine + "uninspectable") +
                       test_case("nested", quarantine + "uninspectable") +
                       test_case("corrupt", quarantine + "uninspectable"));
}

TEST_F(AttachmentDefense, EachOptionChangesItsRule) {
  const std::string deliver = "  action: deliver\n  rule: none";
  expect_cases(
      "  attachment_defense.executables = quarantine\n  attachment_defense.type_mismatch = deliver\n"
      "  attachment_defense.encrypted = deliver\n  attachment_defense.macros = deliver\n"
      "  attachment_defense.html = tagged\n  attachment_defense.uninspectable = deliver\n",
      test_case("exe-renamed", "  action: quarantine\n  rule: attachment_defense.executable_quarantined") +
          test_case("mismatch", deliver) + test_case("encrypted", deliver) + test_case("macros", deliver) +
          test_case("html", deliver + "\n  tag: [HTML attachment]\n  fired: html_attachment_tagged") +
          test_case("bomb", deliver) + test_case("corrupt", deliver));
  expect_cases("  attachment_defense.html = deliver\n  attachment_defense.blocked_extensions = [pdf]\n",
               test_case("html", deliver) +
                   test_case("clean", "  action: reject\n  rule: attachment_defense.executable"));
}

TEST_F(AttachmentDefense, HostileArchivesAreDecidedQuickly) {
  dir_->write("policy.mp", "import stdlib\n");
  for (const char* name : {"bomb", "nested", "corrupt"}) {
    SCOPED_TRACE(name);
    auto start = std::chrono::steady_clock::now();
    RunResult r = run_policyc(dir_->path(),
                              {"run", "policy.mp", std::string("mail/") + name + ".eml", "--format", "json"});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(r.status, 0) << describe(r);
    nlohmann::json verdict = parse_json_line(non_empty_lines(r.out).at(0));
    EXPECT_EQ(verdict["rule"], "uninspectable");
    EXPECT_EQ(verdict["action"], "quarantine");
    EXPECT_LT(seconds, 5.0);
  }
}

TEST_F(AttachmentDefense, EvidenceNamesTheMemberInsideItsArchive) {
  dir_->write("policy.mp",
              "stage attachment_defense {\n  rule inside: if any archive_member (type is "
              "\"application/vnd.microsoft.portable-executable\") then reject \"550 5.7.1 no\"\n}\n");
  RunResult r = run_policyc(dir_->path(), {"run", "policy.mp", "mail/exe-in-zip.eml", "--format", "json"});
  ASSERT_EQ(r.status, 0) << describe(r);
  nlohmann::json verdict = parse_json_line(non_empty_lines(r.out).at(0));
  ASSERT_EQ(verdict["fired"].size(), 1u);
  EXPECT_EQ(verdict["fired"][0]["evidence"][0]["item_name"], "docs.zip → payload/setup.bin");
  EXPECT_EQ(verdict["fired"][0]["evidence"][0]["field"], "attachments.archive.type");
}

}  // namespace
}  // namespace mp::e2e
