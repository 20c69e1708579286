// The editor support in editors/ works: `bash editors/test/run` installs the pinned
// vscode-textmate / vscode-oniguruma (npm ci, first run only), tokenises every line of
// examples/**/*.mp and of the ```mp blocks of docs/*.md with the VS Code grammar
// (editors/vscode/syntaxes/mailpolicy.tmLanguage.json), checks the scopes against the
// lexer of lang/Policy.g4 and a list of named expectations, and loads the Vim syntax
// file (editors/vim) when vim is installed. It prints "editors test summary: ... PASS"
// and exits 0; without node/npm it prints "skipped: node/npm not available".
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/e2e/e2e_util.h"

namespace {

namespace fs = std::filesystem;
using namespace mp::e2e;

TEST(Editors, GrammarTokenisesExamplesAndDocs) {
  const fs::path script = fs::path(MP_SOURCE_DIR) / "editors" / "test" / "run";
  ASSERT_TRUE(fs::exists(script)) << script;

  const std::string command = "bash " + shell_quote(script.string()) + " 2>&1";
  const RunResult run = run_shell(command);
  ASSERT_TRUE(run.ran);  // run_shell has recorded the popen failure
  const std::string& out = run.out;
  const int code = run.status;

  if (out.find("editors test: skipped:") != std::string::npos) {
    GTEST_SKIP() << out;
  }
  EXPECT_EQ(code, 0) << command << "\n" << out;
  EXPECT_NE(out.find("editors test summary:"), std::string::npos) << out;
  EXPECT_NE(out.find(": 0 failures, PASS"), std::string::npos) << out;
}

}  // namespace
