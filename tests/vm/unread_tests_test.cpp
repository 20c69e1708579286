// What no rule reads is not in the image: the patterns, sets and nets of a def no
// rule uses, or of a branch folded to a constant, are neither compiled nor scanned,
// and the tests that remain still find what they should (ids renumbered).
#include <algorithm>

#include "tests/vm/interpreter_test_util.h"

namespace mp::vm::interpreter_test {
namespace {

const char* kPolicy =
    "def unused = body matches /zzz(?=q)/ or subject contains \"never-used\"\n"
    "  or sender.domain in [\"a.example\", \"b.example\"] or client.ip in [192.0.2.0/24]\n"
    "def used = subject contains \"hello\"\n"
    "stage custom_filters {\n"
    "  rule folded: if false and header \"X-A\" contains \"folded\" then reject\n"
    "  rule listed: if client.ip in [198.51.100.0/24] then score +2\n"
    "  rule greeting: if used and sender.domain in [\"c.example\"] then quarantine\n"
    "}\n";

const char* kMessage = "From: a@c.example\r\nSubject: hello there\r\n\r\nzzzq never-used\r\n";

std::vector<std::string> sources(const std::vector<PatternInfo>& patterns) {
  std::vector<std::string> out;
  for (const auto& p : patterns) out.push_back(p.source);
  return out;
}

TEST(UnreadTests, LeftOutOfTheImage) {
  compiler::Compilation c = compiler::compile_source("unread.mp", kPolicy);
  ASSERT_TRUE(c.ok());
  const ImageData& im = *c.image;
  EXPECT_EQ(sources(im.patterns), std::vector<std::string>{"contains \"hello\""});
  ASSERT_EQ(im.sets.size(), 1u);
  EXPECT_EQ(im.sets[0].entries, std::vector<std::string>{"c.example"});
  ASSERT_EQ(im.nets.size(), 1u);
  EXPECT_EQ(im.nets[0].prefixes.front().str(), "198.51.100.0/24");
  ASSERT_EQ(im.databases.size(), 1u);
  EXPECT_EQ(im.databases[0].pattern_ids, std::vector<uint32_t>{0});
}

TEST(UnreadTests, KeptTestsFindTheirValues) {
  Policy policy(kPolicy);
  Verdict v = policy.run(kMessage, envelope("a@c.example", {"x@d.example"}, "198.51.100.7"));
  EXPECT_EQ(v.action, Action::Quarantine);
  std::vector<std::string> fired;
  for (const auto& f : v.fired) fired.push_back(f.name);
  EXPECT_EQ(fired, (std::vector<std::string>{"listed", "greeting"}));
  auto greeting =
      std::find_if(v.fired.begin(), v.fired.end(), [](const auto& f) { return f.name == "greeting"; });
  ASSERT_NE(greeting, v.fired.end());
  ASSERT_FALSE(greeting->evidence.empty());
  EXPECT_EQ(greeting->evidence[0].test, "contains \"hello\"");
  EXPECT_EQ(greeting->evidence[0].offset, 0);
}

// Lint still speaks of what the policy wrote: the unused def is reported, not hidden.
TEST(UnreadTests, LintStillSeesTheUnusedDef) {
  compiler::Compilation c = compiler::compile_source("unread.mp", kPolicy, {.lint = true, .modules = {}});
  ASSERT_TRUE(c.ok());
  bool l010 = false;
  for (const auto& d : c.diagnostics.items()) l010 = l010 || d.code == "L010";
  EXPECT_TRUE(l010);
}

// A pattern neither engine can compile is an error even in a def no rule uses.
TEST(UnreadTests, BrokenPatternInAnUnusedDefIsStillAnError) {
  compiler::Compilation c = compiler::compile_source(
      "broken.mp", "def unused = body matches /(?<=a+)b/\nif subject contains \"x\" then reject\n");
  EXPECT_FALSE(c.ok());
}

}  // namespace
}  // namespace mp::vm::interpreter_test
