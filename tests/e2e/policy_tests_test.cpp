// End-to-end tests of `policyc test` (tools/cmd_test.cpp, docs/testing.md): the
// example policies' own tests (examples/**/*.mptest) must pass, which is how CI runs
// them; and the runner itself must report a failing case with expected vs got and the
// rule-by-rule trace (exit 1), report a malformed test file with file:line (exit 2)
// while still running its other cases, evaluate inline messages, and print JSON lines.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_util.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace mp::e2e;

const fs::path kSourceDir = fs::path(MP_SOURCE_DIR);

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// `N passed, M failed` -> {N, M}; {-1, -1} when the line is not a summary.
std::pair<int, int> summary(const std::string& line) {
  static const std::regex re(R"(^(\d+) passed, (\d+) failed$)");
  std::smatch m;
  if (!std::regex_match(line, m, re)) return {-1, -1};
  return {std::stoi(m[1]), std::stoi(m[2])};
}

// A small policy for the runner's own tests.
const char* kPolicy = R"(settings {
  org.domains = [example.com]
  org.sending_servers = [192.0.2.1]
}

stage custom_filters {
  rule blocked:
    if sender is bad@spam.example then reject "550 5.7.1 Go away"
}

stage spam_engine {
  rule lottery:
    if subject contains "lottery" nocase then score +6 "lottery wording", tag "[Lottery]"

  rule prize:
    if body contains "prize" then score +1.5 "prize"
}
)";

const char* kHam = R"(Return-Path: <friend@other.example>
From: Friend <friend@other.example>
To: me@example.com
Subject: Lunch on Friday?
Content-Type: text/plain

Shall we meet at noon?
)";

// ---- The examples' own tests --------------------------------------------------------

TEST(PolicyTests, ExamplesPass) {
  RunResult r = run_policyc(kSourceDir, {"test", "examples"});
  EXPECT_EQ(r.status, 0) << describe(r);
  auto [passed, failed] = summary(r.last_line());
  EXPECT_EQ(failed, 0) << describe(r);
  EXPECT_GE(passed, 15) << "the examples should hold at least the 15 rows of expected.txt\n" << describe(r);
  EXPECT_FALSE(contains(r.out, "FAIL ")) << describe(r);
  EXPECT_FALSE(contains(r.out, "ERROR ")) << describe(r);
}

TEST(PolicyTests, ExamplesVerboseListsEveryPassingCase) {
  RunResult r = run_policyc(kSourceDir, {"test", "examples", "--verbose"});
  ASSERT_EQ(r.status, 0) << describe(r);
  auto [passed, failed] = summary(r.last_line());
  int pass_lines = 0;
  for (const auto& line : r.lines()) {
    if (line.rfind("PASS ", 0) == 0) ++pass_lines;
  }
  EXPECT_EQ(pass_lines, passed) << describe(r);
  EXPECT_TRUE(contains(r.out, "PASS examples/widget/tests/widget.mptest:")) << describe(r);
}

// ---- A failing case -----------------------------------------------------------------

TEST(PolicyTests, FailingCaseShowsExpectedGotAndTraceAndExits1) {
  TempDir dir;
  dir.write("policy.mp", kPolicy);
  dir.write("mail/ham.eml", kHam);
  dir.write("t/ham.mptest",
            "policy: ../policy.mp\n"
            "\n"
            "case: ham is delivered\n"
            "  message: ../mail/ham.eml\n"
            "  rcpt: me@example.com\n"
            "  action: deliver\n"
            "  rule: none\n"
            "  score: 0\n"
            "\n"
            "case: ham wrongly expected to be rejected\n"
            "  message: ../mail/ham.eml\n"
            "  rcpt: me@example.com\n"
            "  action: reject\n"
            "  rule: blocked\n"
            "  score: 4..8\n"
            "  tag: [Lottery]\n"
            "  fired: lottery\n");
  RunResult r = run_policyc(dir.path(), {"test", "t"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_EQ(r.last_line(), "1 passed, 1 failed") << describe(r);
  EXPECT_TRUE(contains(r.out, "FAIL t/ham.mptest:10: ham wrongly expected to be rejected")) << describe(r);
  EXPECT_FALSE(contains(r.out, "ham is delivered")) << "passing cases are listed only with --verbose\n" << describe(r);
  // Expected vs got.
  EXPECT_TRUE(contains(r.out, "expected: reject by blocked")) << describe(r);
  EXPECT_TRUE(contains(r.out, "got:      deliver")) << describe(r);
  EXPECT_TRUE(contains(r.out, "action: expected reject, got deliver")) << describe(r);
  EXPECT_TRUE(contains(r.out, "rule: expected blocked, got none")) << describe(r);
  EXPECT_TRUE(contains(r.out, "score: expected 4..8, got 0")) << describe(r);
  EXPECT_TRUE(contains(r.out, "tag: expected \"[Lottery]\"")) << describe(r);
  EXPECT_TRUE(contains(r.out, "fired: expected lottery to fire; it did not")) << describe(r);
  // The explanation: the rule-by-rule trace of `policyc run --explain`.
  EXPECT_TRUE(contains(r.out, "stage custom_filters")) << describe(r);
  EXPECT_TRUE(contains(r.out, "stage spam_engine")) << describe(r);
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(rule lottery \([^)]*policy\.mp:\d+:\d+\): false)"))) << describe(r);
  EXPECT_TRUE(contains(r.out, "decided by score 0")) << describe(r);
}

TEST(PolicyTests, VerboseShowsPassingCases) {
  TempDir dir;
  dir.write("policy.mp", kPolicy);
  dir.write("mail/ham.eml", kHam);
  dir.write("ham.mptest",
            "policy: policy.mp\n"
            "case: ham is delivered\n"
            "  message: mail/ham.eml\n"
            "  action: deliver\n"
            "  rule: none\n");
  RunResult r = run_policyc(dir.path(), {"test", "ham.mptest", "--verbose"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "PASS ham.mptest:2: ham is delivered")) << describe(r);
  EXPECT_EQ(r.last_line(), "1 passed, 0 failed") << describe(r);
}

// ---- Malformed files ----------------------------------------------------------------

TEST(PolicyTests, MalformedCaseIsReportedWithFileLineAndTheOthersStillRun) {
  TempDir dir;
  dir.write("policy.mp", kPolicy);
  dir.write("mail/ham.eml", kHam);
  dir.write("bad.mptest",
            "policy: policy.mp\n"
            "\n"
            "case: misspelt key\n"
            "  mesage: mail/ham.eml\n"
            "  action: deliver\n"
            "  rule: none\n"
            "\n"
            "case: still runs\n"
            "  message: mail/ham.eml\n"
            "  action: deliver\n"
            "  rule: none\n"
            "\n"
            "case: unknown rule and action\n"
            "  message: mail/ham.eml\n"
            "  action: bounce\n"
            "  rule: lotery\n"
            "\n"
            "case: recipients that are no addresses, or twice\n"
            "  message: mail/ham.eml\n"
            "  rcpt: carol, bob@widget.com Bob@Widget.com\n"
            "  action: deliver\n"
            "  rule: none\n");
  RunResult r = run_policyc(dir.path(), {"test", "."});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_EQ(r.last_line(), "1 passed, 3 failed") << describe(r);
  EXPECT_TRUE(contains(r.out, "bad.mptest:20: error: rcpt `carol` is not an email address")) << describe(r);
  EXPECT_TRUE(contains(r.out, "bad.mptest:20: error: rcpt Bob@Widget.com is given twice")) << describe(r);
  EXPECT_TRUE(contains(r.out, "bad.mptest:4: error: unknown key `mesage`; did you mean `message`?")) << describe(r);
  EXPECT_TRUE(contains(r.out, "bad.mptest:3: error: the case has no `message:`")) << describe(r);
  EXPECT_TRUE(contains(r.out, "bad.mptest:15: error: unknown action `bounce`")) << describe(r);
  EXPECT_TRUE(contains(r.out, "bad.mptest:16: error: the policy has no rule `lotery`; did you mean `lottery`?"))
      << describe(r);
}

TEST(PolicyTests, MalformedFileExits2) {
  TempDir dir;
  dir.write("policy.mp", kPolicy);
  dir.write("mail/ham.eml", kHam);
  // A line that is not `key: value`, an unterminated inline message.
  dir.write("broken.mptest",
            "policy: policy.mp\n"
            "this is not a key\n"
            "case: unterminated\n"
            "  action: deliver\n"
            "  rule: none\n"
            "  message: <<END\n"
            "Subject: x\n");
  RunResult r = run_policyc(dir.path(), {"test", "broken.mptest"});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_TRUE(contains(r.out, "broken.mptest:2: expected `key: value`")) << describe(r);
  EXPECT_TRUE(contains(r.out, "broken.mptest:6: error: inline message not terminated")) << describe(r);
  EXPECT_EQ(summary(r.last_line()).first, 0) << describe(r);
}

TEST(PolicyTests, PolicyThatDoesNotCompileExits2) {
  TempDir dir;
  dir.write("broken.mp", "if size contains \"x\" then allow\n");
  dir.write("mail/ham.eml", kHam);
  dir.write("t.mptest",
            "policy: broken.mp\n"
            "case: cannot run\n"
            "  message: mail/ham.eml\n"
            "  action: deliver\n"
            "  rule: none\n");
  RunResult r = run_policyc(dir.path(), {"test", "t.mptest"});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_TRUE(contains(r.out, "t.mptest:1:")) << describe(r);
  EXPECT_TRUE(contains(r.err, "error[E020]")) << describe(r);
  EXPECT_EQ(r.last_line(), "0 passed, 1 failed") << describe(r);
}

TEST(PolicyTests, NoTestFilesExits2) {
  TempDir dir;
  dir.write("readme.txt", "nothing to test\n");
  RunResult r = run_policyc(dir.path(), {"test", "."});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_TRUE(contains(r.out, "no .mptest files found")) << describe(r);
}

// ---- Inline messages, envelopes, mbox parts ---------------------------------------------

TEST(PolicyTests, InlineMessagesAndEnvelopes) {
  TempDir dir;
  dir.write("policy.mp", kPolicy);
  dir.write("nested/deeper/inline.mptest",
            "policy: ../../policy.mp\n"
            "\n"
            "# '#' lines inside the block are message text, not comments.\n"
            "case: lottery inline\n"
            "  rcpt: me@example.com, you@example.com\n"
            "  client-ip: 203.0.113.5\n"
            "  action: quarantine\n"
            "  rule: none\n"
            "  score: 7.5\n"
            "  tag: [Lottery]\n"
            "  fired: spam_engine.lottery prize\n"
            "  not-fired: blocked\n"
            "  direction: inbound\n"
            "  text: spam score above the quarantine threshold\n"
            "  message: <<END\n"
            "From: Promoter <promo@lotto.example>\n"
            "Subject: You won the LOTTERY\n"
            "Content-Type: text/plain\n"
            "\n"
            "# Claim your prize today.\n"
            "END\n"
            "\n"
            "case: envelope sender decides\n"
            "  sender: bad@spam.example\n"
            "  action: reject\n"
            "  rule: custom_filters.blocked\n"
            "  text: 550 5.7.1 Go away\n"
            "  message: <<MSG\n"
            "From: a@b.example\n"
            "Subject: hello\n"
            "\n"
            "END is not the terminator here\n"
            "MSG\n"
            "\n"
            "case: outbound by envelope\n"
            "  sender: me@example.com\n"
            "  client-ip: 192.0.2.1\n"
            "  rcpt: friend@other.example\n"
            "  helo: mail.example.com\n"
            "  action: deliver\n"
            "  rule: none\n"
            "  direction: outbound\n"
            "  score: < 5\n"
            "  message: <<END\n"
            "From: me@example.com\n"
            "Subject: hi\n"
            "\n"
            "hi\n"
            "END\n");
  RunResult r = run_policyc(dir.path(), {"test", "."});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.last_line(), "3 passed, 0 failed") << describe(r);
}

TEST(PolicyTests, InlineMessageFailureIsExplained) {
  TempDir dir;
  dir.write("policy.mp", kPolicy);
  dir.write("inline.mptest",
            "policy: policy.mp\n"
            "case: expects no lottery\n"
            "  action: deliver\n"
            "  rule: none\n"
            "  not-fired: lottery\n"
            "  message: <<END\n"
            "Subject: lottery results\n"
            "\n"
            "text\n"
            "END\n");
  RunResult r = run_policyc(dir.path(), {"test", "inline.mptest"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_TRUE(contains(r.out, "inline.mptest:6 (inline message)")) << describe(r);
  EXPECT_TRUE(contains(r.out, "not-fired: expected lottery not to fire; it fired")) << describe(r);
  EXPECT_TRUE(contains(r.out, "action: expected deliver, got quarantine")) << describe(r);
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(rule lottery \([^)]*\): fired)"))) << describe(r);
}

// ---- JSON ---------------------------------------------------------------------------

TEST(PolicyTests, JsonLinesParse) {
  TempDir dir;
  dir.write("policy.mp", kPolicy);
  dir.write("mail/ham.eml", kHam);
  dir.write("j.mptest",
            "policy: policy.mp\n"
            "case: passes\n"
            "  message: mail/ham.eml\n"
            "  action: deliver\n"
            "  rule: none\n"
            "case: fails\n"
            "  message: mail/ham.eml\n"
            "  action: allow\n"
            "  rule: none\n"
            "case: malformed\n"
            "  message: mail/ham.eml\n"
            "  action: deliver\n");
  RunResult r = run_policyc(dir.path(), {"test", "--format", "json", "j.mptest"});
  EXPECT_EQ(r.status, 2) << describe(r);
  std::vector<json> objects;
  for (const auto& line : r.lines()) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    ASSERT_TRUE(j.is_object()) << line;
    objects.push_back(j);
  }
  ASSERT_EQ(objects.size(), 4u) << describe(r);
  EXPECT_EQ(objects[0].value("status", ""), "pass") << objects[0].dump();
  EXPECT_EQ(objects[0].value("line", 0), 2) << objects[0].dump();
  EXPECT_EQ(objects[0].value("name", ""), "passes") << objects[0].dump();
  EXPECT_EQ(objects[0]["verdict"].value("action", ""), "deliver") << objects[0].dump();
  EXPECT_EQ(objects[1].value("status", ""), "fail") << objects[1].dump();
  EXPECT_EQ(objects[1]["expected"].value("action", ""), "allow") << objects[1].dump();
  ASSERT_TRUE(objects[1]["failures"].is_array() && !objects[1]["failures"].empty()) << objects[1].dump();
  EXPECT_TRUE(objects[1]["verdict"].contains("trace")) << "a failure carries the trace\n" << objects[1].dump();
  EXPECT_EQ(objects[2].value("status", ""), "error") << objects[2].dump();
  ASSERT_TRUE(objects[2]["errors"].is_array() && !objects[2]["errors"].empty()) << objects[2].dump();
  EXPECT_EQ(objects[2]["errors"][0].value("line", 0), 10) << objects[2].dump();
  EXPECT_EQ(objects[3], json({{"passed", 1}, {"failed", 2}})) << objects[3].dump();
}

TEST(PolicyTests, ExamplesAsJson) {
  RunResult r = run_policyc(kSourceDir, {"test", "examples", "--format", "json"});
  EXPECT_EQ(r.status, 0) << describe(r);
  auto lines = r.lines();
  ASSERT_FALSE(lines.empty()) << describe(r);
  int passes = 0;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    json j = json::parse(lines[i], nullptr, false);
    ASSERT_TRUE(j.is_object()) << lines[i];
    EXPECT_EQ(j.value("status", ""), "pass") << lines[i];
    passes += j.value("status", "") == "pass";
  }
  json last = json::parse(lines.back(), nullptr, false);
  ASSERT_TRUE(last.is_object()) << lines.back();
  EXPECT_EQ(last.value("passed", -1), passes) << lines.back();
  EXPECT_EQ(last.value("failed", -1), 0) << lines.back();
}

}  // namespace
