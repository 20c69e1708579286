// `for: ADDRESS` in .mptest cases: the expectations are those of one recipient's
// verdict when the recipients' verdicts differ; a `for:` that names no recipient of
// the case, or is no address, is an error in the case; a split verdict checked without
// `for:` says so.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/e2e_util.h"

namespace {

using namespace mp::e2e;

const char* kPolicy = R"(settings { org.groups = ["finance: alice@widget.com"] }
stage custom_filters {
  rule everyone: if subject contains "invoice" then score +1 "invoice"
  rule fin (group finance): if subject contains "invoice" then quarantine "finance holds invoices"
}
)";

std::string test_case(const std::string& name, const std::string& rcpt, const std::string& for_rcpt,
                      const std::string& action, const std::string& rule) {
  return "case: " + name +
         "\nmessage: <<END\nFrom: a@example.org\nSubject: invoice 42\n\nhello\nEND\nrcpt: " + rcpt +
         "\nfor: " + for_rcpt + "\naction: " + action + "\nrule: " + rule + "\n\n";
}

TEST(MptestFor, EachRecipientsVerdictIsTestedApart) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  const std::string both = "alice@widget.com carol@widget.com";
  dir.write("pass.mptest", "policy: p.mp\n\n" +
                               test_case("finance", both, "Alice@widget.com", "quarantine", "fin") +
                               test_case("others", both, "carol@widget.com", "deliver", "none"));
  RunResult pass = run_policyc({"test", (dir.path() / "pass.mptest").string()});
  EXPECT_EQ(pass.status, 0) << describe(pass);
  EXPECT_NE(pass.out.find("2 passed"), std::string::npos) << pass.out;

  dir.write("fail.mptest",
            "policy: p.mp\n\n" + test_case("wrong", both, "carol@widget.com", "quarantine", "fin"));
  RunResult fail = run_policyc({"test", (dir.path() / "fail.mptest").string()});
  EXPECT_EQ(fail.status, 1) << describe(fail);
  EXPECT_NE(fail.out.find("action: expected quarantine, got deliver"), std::string::npos) << fail.out;
  EXPECT_NE(fail.out.find("0 passed, 1 failed"), std::string::npos) << fail.out;
}

TEST(MptestFor, AForThatNamesNoRecipientIsAnErrorInTheCase) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  const std::string both = "alice@widget.com carol@widget.com";
  dir.write("bad.mptest",
            "policy: p.mp\n\n" + test_case("stranger", both, "zed@widget.com", "quarantine", "fin") +
                test_case("two", both, "alice@widget.com carol@widget.com", "quarantine", "fin"));
  RunResult bad = run_policyc({"test", (dir.path() / "bad.mptest").string()});
  EXPECT_EQ(bad.status, 2) << describe(bad);
  EXPECT_NE(bad.out.find("ERROR "), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("error: for: zed@widget.com is not among the case's rcpt"), std::string::npos)
      << bad.out;
  EXPECT_NE(
      bad.out.find("error: `for:` takes one recipient's address, not `alice@widget.com carol@widget.com`"),
      std::string::npos)
      << bad.out;
}

TEST(MptestFor, ASplitVerdictCheckedWithoutForSaysSo) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("split.mptest",
            "policy: p.mp\n\ncase: no for\nmessage: <<END\nFrom: a@example.org\nSubject: invoice "
            "42\n\nhello\nEND\nrcpt: alice@widget.com carol@widget.com\naction: quarantine\nrule: fin\n");
  RunResult r = run_policyc({"test", (dir.path() / "split.mptest").string()});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(
      r.out.find("note: the recipients got different verdicts (alice@widget.com quarantine; "
                 "carol@widget.com deliver); the case checked the first's: say whose with `for: ADDRESS`"),
      std::string::npos)
      << r.out;
}

}  // namespace
