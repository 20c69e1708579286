// End-to-end tests of policyc's command-line conventions (tools/policyc.cpp,
// tools/inputs.cpp): --version, usage errors (exit 2, did-you-mean for an unknown
// command), --help, and inputs that give no message (missing paths, empty folders,
// files in a folder that are not messages) for run, diff and test.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tests/e2e/e2e_util.h"
#include "tests/e2e/expected_table.h"

namespace {

namespace fs = std::filesystem;
using namespace mp::e2e;

const fs::path kPolicy = kExampleDir / "policy.mp";
const fs::path kMail = kExampleDir / "mail";

TEST(CliVersion, PrintsTheCMakeProjectVersion) {
  std::smatch m;
  std::string cmake = read_text(fs::path(MP_SOURCE_DIR) / "CMakeLists.txt");
  ASSERT_TRUE(std::regex_search(cmake, m, std::regex(R"(project\(mailpolicy VERSION ([0-9.]+))")));
  RunResult r = run_policyc({"--version"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "policyc " + m[1].str() + "\n") << describe(r);
}

TEST(CliUsage, UnknownCommandIsNamedWithASuggestion) {
  RunResult r = run_policyc({"chek", "policy.mp"});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_NE(r.err.find("unknown command `chek`; did you mean `check`?"), std::string::npos) << describe(r);
  RunResult far = run_policyc({"frobnicate"});
  EXPECT_EQ(far.status, 2) << describe(far);
  EXPECT_NE(far.err.find("unknown command `frobnicate`\n"), std::string::npos) << describe(far);
}

TEST(CliUsage, EveryUsageErrorExitsTwo) {
  const std::vector<std::vector<std::string>> mistakes = {
      {},                                              // no command
      {"check"},                                       // missing argument
      {"check", "--format", "xml", kPolicy.string()},  // invalid value
      {"explain", "E001", "E002"},                     // extra argument
      {"diff", "-j", "0", "a", "b", "c"},              // invalid value
      {"run", "--no-such-option", kPolicy.string(), kMail.string()},
  };
  for (const auto& args : mistakes) {
    RunResult r = run_policyc(args);
    EXPECT_EQ(r.status, 2) << describe(r);
    EXPECT_TRUE(r.err.starts_with("error: ")) << describe(r);
  }
}

TEST(CliHelp, RcptIsDocumentedAsRepeatable) {
  for (const char* command : {"run", "diff"}) {
    RunResult r = run_policyc({command, "--help"});
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(std::regex_search(r.out, std::regex("--rcpt[^\n]*repeat it for several"))) << describe(r);
  }
  std::string cli_md = read_text(fs::path(MP_SOURCE_DIR) / "docs" / "cli.md");
  EXPECT_NE(cli_md.find("| `--rcpt A` (repeat it) |"), std::string::npos);
}

// ---- Inputs that give no message ------------------------------------------------

TEST(CliInputs, RunNamesAMissingMessage) {
  RunResult r = run_policyc({"run", kPolicy.string(), "/no/such/message.eml"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("/no/such/message.eml: error: no such file or directory"), std::string::npos)
      << describe(r);
}

TEST(CliInputs, RunFailsOnAFolderWithoutMessages) {
  TempDir dir;
  dir.write("README.txt", "Nothing to see here.\n");
  RunResult r = run_policyc({"run", kPolicy.string(), dir.path().string()});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("error: " + dir.path().string() + ": no message in this directory"), std::string::npos)
      << describe(r);
  EXPECT_EQ(r.out, "") << describe(r);
}

TEST(CliInputs, RunFailsOnAnEmptyFile) {
  TempDir dir;
  fs::path empty = dir.write("empty.eml", "");
  RunResult r = run_policyc({"run", kPolicy.string(), empty.string()});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("empty file: no message"), std::string::npos) << describe(r);
}

TEST(CliInputs, RunSkipsFilesInAFolderThatAreNotMessagesAndSaysHowMany) {
  TempDir dir;
  dir.write("a.eml", read_text(kMail / "plain-ham.eml"));
  dir.write("a.eml.env", "--client-ip 203.0.113.52\n");  // a sidecar: not counted
  dir.write("README.md", "# Mail for the tests\n");
  dir.write("notes.txt", "\n\nFrom: is not on the first line\n");
  dir.write("mbox", "From someone Mon Jan  1 00:00:00 2024\nSubject: hi\n\nbody\n");
  RunResult r = run_policyc({"run", kPolicy.string(), dir.path().string()});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.lines().size(), 2u) << describe(r);
  EXPECT_NE(r.out.find("a.eml: deliver"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("/mbox: "), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("skipped 2 files that are not a message (no header block)"), std::string::npos)
      << describe(r);
}

TEST(CliInputs, DiffExitsTwoWhenTheCorpusGivesNoMessage) {
  TempDir dir;
  RunResult missing = run_policyc({"diff", kPolicy.string(), kPolicy.string(), "/no/such/corpus"});
  EXPECT_EQ(missing.status, 2) << describe(missing);
  EXPECT_NE(missing.err.find("error: /no/such/corpus: no such file or directory"), std::string::npos)
      << describe(missing);
  RunResult empty = run_policyc({"diff", kPolicy.string(), kPolicy.string(), dir.path().string()});
  EXPECT_EQ(empty.status, 2) << describe(empty);
  EXPECT_NE(empty.err.find("no message in this directory"), std::string::npos) << describe(empty);
}

TEST(CliInputs, TestFailsWhenAFileOrItsMessageIsMissing) {
  TempDir dir;
  RunResult missing = run_policyc({"test", "/no/such/tests"});
  EXPECT_EQ(missing.status, 2) << describe(missing);
  EXPECT_NE(missing.out.find("no such file or directory"), std::string::npos) << describe(missing);
  RunResult empty = run_policyc({"test", dir.path().string()});
  EXPECT_EQ(empty.status, 2) << describe(empty);
  fs::path t = dir.write("t.mptest", "policy: " + kPolicy.string() +
                                         "\n\ncase: gone\n  message: no-such.eml\n  action: deliver\n");
  RunResult gone = run_policyc({"test", t.string()});
  EXPECT_EQ(gone.status, 2) << describe(gone);
  EXPECT_NE(gone.out.find("no-such.eml"), std::string::npos) << describe(gone);
}

}  // namespace

// ---- One JSON convention ---------------------------------------------------------

// Every key of `j`, at any depth, is a lower-case ASCII name.
void expect_ascii_keys(const nlohmann::json& j, const std::string& where) {
  static const std::regex name("[a-z][a-z0-9_]*");
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      EXPECT_TRUE(std::regex_match(key, name)) << "key `" << key << "` in " << where;
      expect_ascii_keys(value, where);
    }
  } else if (j.is_array()) {
    for (const auto& value : j) expect_ascii_keys(value, where);
  }
}

TEST(CliJson, EveryCommandPrintsOneObjectPerLineWithAsciiKeys) {
  TempDir dir;
  fs::path broken =
      dir.write("broken.mp", "if size contains \"x\" then allow\nif subjct is \"y\" then allow\n");
  fs::path changed = dir.write("changed.mp", "if subject contains \"Urgent\" then reject \"550 no\"\n");
  const std::vector<std::vector<std::string>> commands = {
      {"check", "--format", "json", broken.string()},
      {"build", "--format", "json", broken.string(), "-o", (dir.path() / "x.pbc").string()},
      {"lint", "--format", "json", kPolicy.string(), broken.string()},
      {"run", "--format", "json", "--explain", kPolicy.string(), kMail.string()},
      {"test", "--format", "json", (kExampleDir / "tests").string()},
      {"diff", "--format", "json", kPolicy.string(), changed.string(), kMail.string()},
      {"explain", "--format", "json", "E020"},
  };
  for (const auto& args : commands) {
    RunResult r = run_policyc(args);
    SCOPED_TRACE(r.command);
    std::vector<std::string> lines = r.lines();
    EXPECT_FALSE(lines.empty()) << "no JSON on stdout\n" << describe(r, 2000);
    for (const auto& line : lines) expect_ascii_keys(parse_json_line(line), line.substr(0, 200));
  }
}

TEST(CliJson, ExplainGivesCodeTitleAndExplanation) {
  RunResult r = run_policyc({"explain", "--format", "json", "L005"});
  EXPECT_EQ(r.status, 0) << describe(r);
  nlohmann::json j = parse_json_line(r.out);
  EXPECT_EQ(j.value("code", ""), "L005");
  EXPECT_FALSE(j.value("title", "").empty());
  EXPECT_NE(j.value("explanation", "").find("client IP"), std::string::npos) << r.out;
}

// ---- fmt --check: differences a line diff cannot show ---------------------------

TEST(FmtCheck, SaysWhatDiffersForCrlfAndBom) {
  TempDir dir;
  fs::path crlf = dir.write("crlf.mp", "if size > 10MB then reject\r\nif size > 1MB then reject\r\n");
  fs::path bom = dir.write("bom.mp", "\xEF\xBB\xBFif size > 10MB then reject\n");
  fs::path both = dir.write("both.mp", "\xEF\xBB\xBFif size>10MB then reject\r\n");
  RunResult r = run_policyc({"fmt", "--check", crlf.string(), bom.string()});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_EQ(r.out,
            crlf.string() + ": line endings: CRLF → LF\n" + bom.string() + ": byte-order mark removed\n")
      << "no diff lines that look identical\n"
      << describe(r);
  RunResult b = run_policyc({"fmt", "--check", both.string()});
  EXPECT_EQ(b.status, 1) << describe(b);
  EXPECT_TRUE(b.out.starts_with(both.string() + ": byte-order mark removed\n" + both.string() +
                                ": line endings: CRLF → LF\n--- "))
      << describe(b);
  EXPECT_NE(b.out.find("\n-if size>10MB then reject\n+if size > 10MB then reject\n"), std::string::npos)
      << describe(b);
}
