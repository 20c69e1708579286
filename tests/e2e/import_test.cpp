// policyc import spamassassin end to end: a directory of .cf files becomes a policy that
// `policyc check` accepts, the totals go to stderr and --report lists each rule not
// translated with its reason; an input that cannot be read is exit 2.
#include <gtest/gtest.h>

#include "tests/e2e/e2e_util.h"

namespace mp::e2e {
namespace {

TEST(ImportCli, ADirectoryOfCfFilesBecomesAPolicyThatChecks) {
  TempDir dir;
  dir.write("rules/10_base.cf",
            "header __HAS_LIST exists:List-Id\nbody LOTTO /\\blottery\\b/i\nscore LOTTO 2.5\n");
  dir.write("rules/20_more.cf",
            "meta LOTTO_NOLIST LOTTO && !__HAS_LIST\nscore LOTTO_NOLIST 1\n"
            "header EVAL_ONE eval:check_for_shifted_date('-6', 'undef')\nscore EVAL_ONE 1\n");
  dir.write("rules/README", "not a cf file\n");
  RunResult r =
      run_policyc(dir.path(), {"import", "spamassassin", "rules", "-o", "sa.mp", "--report", "report.txt"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.err.find("4 rules read, 3 with a score; translated 3 (2 scoring rules), not translated 1"),
            std::string::npos)
      << r.err;
  EXPECT_NE(read_text(dir.path() / "report.txt")
                .find("rules/20_more.cf:3: EVAL_ONE: eval: eval:check_for_shifted_date"),
            std::string::npos);
  RunResult check = run_policyc(dir.path(), {"check", "sa.mp"});
  EXPECT_EQ(check.status, 0) << describe(check);
  RunResult fmt = run_policyc(dir.path(), {"fmt", "--check", "sa.mp"});
  EXPECT_EQ(fmt.status, 0) << "the output is formatted\n" << describe(fmt);
  RunResult missing = run_policyc(dir.path(), {"import", "spamassassin", "nope.cf"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("cannot read nope.cf"), std::string::npos) << describe(missing);
}

}  // namespace
}  // namespace mp::e2e
