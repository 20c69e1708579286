// Sums of conditions, `(A + B + C) >= 2` (SpamAssassin's arithmetic metas), through
// the compiler and the VM: how many terms hold decides, every term is evaluated, the
// evidence is that of the terms that held, a sum works inside a quantifier and beside
// `and`/`or`, and a threshold that makes the test constant is refused.
#include <gtest/gtest.h>

#include "compiler/compiler.h"
#include "tests/vm/interpreter_test_util.h"

namespace mp::vm {
namespace {

using interpreter_test::Policy;

const char* kPolicy = R"(def free = subject contains "free"
stage s {
  rule two_of_three: if (free + body contains "winner" + body matches /click (here|now)/i) >= 2 then quarantine "two"
  rule exactly_none: if (free + body contains "winner") == 0 and subject contains "hello" then tag "plain"
}
)";

std::string message(const std::string& subject, const std::string& body) {
  return "From: a@b.example\nTo: c@d.example\nSubject: " + subject + "\n\n" + body + "\n";
}

TEST(SumOfConditions, CountsTheTermsThatHold) {
  Policy p(kPolicy);
  EXPECT_FALSE(p.fires("two_of_three", message("free stuff", "nothing else")));
  EXPECT_TRUE(p.fires("two_of_three", message("free stuff", "you are a winner")));
  EXPECT_TRUE(p.fires("two_of_three", message("hi", "a winner: click here")));
  EXPECT_TRUE(p.fires("exactly_none", message("hello", "how are you")));
  EXPECT_FALSE(p.fires("exactly_none", message("hello, free", "how are you")));
}

TEST(SumOfConditions, TheEvidenceIsThatOfEachTermThatHeld) {
  Policy p(kPolicy);
  const Verdict v = p.run(message("free stuff", "a winner: click now"));
  ASSERT_EQ(v.fired.size(), 1u);
  std::vector<std::string> tests;
  for (const auto& e : v.fired[0].evidence) tests.push_back(e.test);
  EXPECT_EQ(tests, (std::vector<std::string>{"contains \"free\"", "contains \"winner\"",
                                             "matches /click (here|now)/i"}));
  const Verdict two = p.run(message("free stuff", "you are a winner"));
  ASSERT_EQ(two.fired.size(), 1u);
  EXPECT_EQ(two.fired[0].evidence.size(), 2u);
}

TEST(SumOfConditions, InsideAQuantifier) {
  Policy p(R"(stage s {
  rule risky: if any attachments ((extension in [exe, scr] + size > 1MB + name contains "invoice") >= 2) then reject
}
)");
  const std::string mail =
      "From: a@b.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=X\n\n--X\n"
      "Content-Type: text/plain\n\nhi\n--X\nContent-Type: application/octet-stream; name=invoice.exe\n"
      "Content-Disposition: attachment; filename=invoice.exe\n\nMZ\n--X\nContent-Type: text/plain; "
      "name=a.exe\n"
      "Content-Disposition: attachment; filename=a.exe\n\nx\n--X--\n";
  EXPECT_TRUE(p.fires("risky", mail));  // invoice.exe: extension and name
  // a.exe alone: one term of three, and the terms of two items never add up.
  const size_t from = mail.find("--X\nContent-Type: application"),
               to = mail.find("--X\nContent-Type: text/plain; name");
  EXPECT_FALSE(p.fires("risky", mail.substr(0, from) + mail.substr(to)));
}

TEST(SumOfConditions, AConstantThresholdIsRefused) {
  for (const std::string test : {"(free + body contains \"x\") > 2", "(free + body contains \"x\") >= 0",
                                 "(free + body contains \"x\") < 0", "(free + body contains \"x\") == 1.5"}) {
    const auto c = compiler::compile_source(
        "t.mp", "def free = subject contains \"free\"\nif " + test + " then allow\n");
    ASSERT_FALSE(c.ok()) << test;
    EXPECT_EQ(c.diagnostics.items()[0].code, "E023") << test;
  }
  const auto c = compiler::compile_source(
      "t.mp", "if (subject contains \"a\" + body contains \"b\") > size then allow\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.diagnostics.items()[0].code, "E021");
}

}  // namespace
}  // namespace mp::vm
