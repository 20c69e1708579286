// The documentation's examples compile. Every fenced block of docs/*.md tagged ```mp is
// written to a scratch directory as policy.mp and must pass `policyc check` (exit 0);
// every block tagged ```mp-error must fail it (exit 1), and when the block has a line
// `# expect: E0NN` the diagnostics (JSON) must carry that code. One test per block,
// named after its file and the line of its opening fence (language_md_L15).
//
// List files: for an ```mp block, every file("NAME") it names is provided next to
// policy.mp: a copy of examples/widget/NAME when that exists (the walk-through of
// the widget policy quotes its lists), otherwise an empty file. ```mp-error blocks get
// no list files, so that E050 can be shown.
//
// Also: the docs' tables match the tables in code, both ways (error and lint codes,
// settings keys, trace outcomes, the keys of run's and diff's JSON), and every field
// of vm/fields.def is named in docs/language.md.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <set>

#include "compiler/compiler.h"
#include "compiler/lint.h"
#include "lang/diagnostics.h"
#include "vm/fields.h"
#include "vm/vm.h"

namespace {

namespace fs = std::filesystem;

const fs::path kDocsDir = fs::path(MP_SOURCE_DIR) / "docs";
const fs::path kWidgetDir = fs::path(MP_SOURCE_DIR) / "examples" / "widget";
const fs::path kPolicyc = fs::path(MP_BIN_DIR) / "policyc";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(const std::string& s) {
  size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return {};
  size_t end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

// ---- Extracting the blocks ------------------------------------------------------

struct Block {
  std::string doc;      // "language.md"
  int line = 0;         // line of the opening fence, 1-based
  bool error = false;   // ```mp-error
  std::string text;     // the lines between the fences
  std::string problem;  // set when the block is malformed (unterminated)
};

// How gtest shows a block (test listings, failures): where it is.
void PrintTo(const Block& block, std::ostream* os) { *os << "docs/" << block.doc << ":" << block.line; }

std::vector<Block> blocks_of(const fs::path& path) {
  std::vector<Block> out;
  std::ifstream in(path);
  std::string line;
  int number = 0;
  Block* open = nullptr;
  bool in_other_fence = false;  // inside ```sh, ```text, ...: its lines are not fences of ours
  while (std::getline(in, line)) {
    ++number;
    std::string t = trim(line);
    if (open != nullptr) {
      if (t == "```") open = nullptr;
      else open->text += line + "\n";
      continue;
    }
    if (in_other_fence) {
      if (t == "```") in_other_fence = false;
      continue;
    }
    if (t == "```mp" || t == "```mp-error") {
      out.push_back(Block{path.filename().string(), number, t == "```mp-error", {}, {}});
      open = &out.back();
    } else if (t.rfind("```", 0) == 0) {
      in_other_fence = true;
    }
  }
  if (open != nullptr) open->problem = "the block is not closed by a ``` line";
  return out;
}

std::vector<fs::path> doc_files() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kDocsDir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".md") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<Block> all_blocks() {
  std::vector<Block> blocks;
  for (const auto& file : doc_files()) {
    for (auto& b : blocks_of(file)) blocks.push_back(std::move(b));
  }
  return blocks;
}

std::string block_name(const testing::TestParamInfo<Block>& info) {
  std::string name = info.param.doc + "_L" + std::to_string(info.param.line);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// ---- Running policyc check --------------------------------------------------------

// A scratch directory unique to this process and block, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("mp_docs_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" + tag);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string shell_quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') quoted += "'\\''";
    else quoted += c;
  }
  return quoted + "'";
}

struct CheckResult {
  int status = -1;  // exit status, -1 when policyc did not exit normally
  std::string output;  // stdout and stderr
};

CheckResult policyc_check(const fs::path& policy, const fs::path& scratch) {
  fs::path output = scratch / "output.txt";
  std::string command = shell_quote(kPolicyc.string()) + " check --format json " +
                        shell_quote(policy.string()) + " >" + shell_quote(output.string()) + " 2>&1";
  int status = std::system(command.c_str());
  CheckResult r;
  r.status = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  r.output = read_text(output);
  return r;
}

// The list files an ```mp block names, provided next to its policy.
void provide_list_files(const std::string& text, const fs::path& dir) {
  static const std::regex file_call(R"re(file\s*\(\s*"([^"]*)"\s*\))re");
  for (std::sregex_iterator it(text.begin(), text.end(), file_call), end; it != end; ++it) {
    fs::path name = (*it)[1].str();
    if (name.empty() || name.is_absolute()) continue;
    if (std::find(name.begin(), name.end(), fs::path("..")) != name.end()) continue;
    fs::path target = dir / name;
    fs::create_directories(target.parent_path());
    std::error_code ec;
    if (fs::is_regular_file(kWidgetDir / name)) {
      fs::copy_file(kWidgetDir / name, target, fs::copy_options::overwrite_existing, ec);
    } else {
      std::ofstream(target).flush();
    }
  }
}

std::vector<std::string> expected_codes(const std::string& text) {
  static const std::regex expect(R"(#\s*expect:\s*([A-Z][0-9]+))");
  std::vector<std::string> codes;
  for (std::sregex_iterator it(text.begin(), text.end(), expect), end; it != end; ++it) {
    codes.push_back((*it)[1].str());
  }
  return codes;
}

// ---- The tests --------------------------------------------------------------------

class DocExample : public testing::TestWithParam<Block> {};

TEST_P(DocExample, Compiles) {
  const Block& block = GetParam();
  std::string where = "docs/" + block.doc + ":" + std::to_string(block.line);
  ASSERT_TRUE(block.problem.empty()) << where << ": " << block.problem;
  ASSERT_TRUE(fs::exists(kPolicyc)) << "policyc not built at " << kPolicyc;

  ScratchDir dir(block.error ? "error" : "ok");
  fs::path policy = dir.path() / "policy.mp";
  std::ofstream(policy, std::ios::binary) << block.text;
  if (!block.error) provide_list_files(block.text, dir.path());

  CheckResult r = policyc_check(policy, dir.path());
  std::string context = where + " (```" + (block.error ? "mp-error" : "mp") + ")\n--- block ---\n" +
                        block.text + "--- policyc check ---\n" + r.output;
  if (!block.error) {
    EXPECT_EQ(r.status, 0) << "an ```mp example must compile: " << context;
    return;
  }
  EXPECT_EQ(r.status, 1) << "an ```mp-error example must fail to compile: " << context;
  for (const auto& code : expected_codes(block.text)) {
    EXPECT_TRUE(r.output.find("\"code\":\"" + code + "\"") != std::string::npos)
        << "expected " << code << " among the diagnostics: " << context;
  }
}

INSTANTIATE_TEST_SUITE_P(Docs, DocExample, testing::ValuesIn(all_blocks()), block_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DocExample);

TEST(Docs, HaveExamples) {
  ASSERT_TRUE(fs::is_regular_file(kDocsDir / "language.md"));
  ASSERT_TRUE(fs::is_regular_file(kDocsDir / "cli.md"));
  auto blocks = all_blocks();
  EXPECT_GE(std::count_if(blocks.begin(), blocks.end(), [](const Block& b) { return !b.error; }), 10);
  EXPECT_GE(std::count_if(blocks.begin(), blocks.end(), [](const Block& b) { return b.error; }), 10);
}

// ---- The docs' tables against the tables in code ------------------------------------
//
// So that they cannot drift: each documented table is read from the Markdown and
// compared, both ways, with what the code has.

// The text of `doc` from the line starting with `heading` to the next heading of the
// same level ("" when the heading is missing, which fails the comparisons).
std::string doc_section(const std::string& doc, const std::string& heading) {
  std::string text = read_text(kDocsDir / doc);
  size_t begin = text.find("\n" + heading);
  EXPECT_NE(begin, std::string::npos) << "no heading `" << heading << "` in docs/" << doc;
  if (begin == std::string::npos) return {};
  std::string level = heading.substr(0, heading.find(' ') + 1);
  size_t end = text.find("\n" + level, begin + 1);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The first capture of `row` in every line of `text` that matches it.
std::set<std::string> matches_of(const std::string& text, const std::string& row) {
  std::set<std::string> out;
  std::regex re(row);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, re)) out.insert(m[1].str());
  }
  return out;
}

template <typename Range>
std::set<std::string> as_set(const Range& range) {
  std::set<std::string> out;
  for (const auto& item : range) out.insert(std::string(item));
  return out;
}

TEST(DocsTables, ErrorCodeTableMatchesErrorsDef) {
  std::string table = doc_section("language.md", "## 15. Error codes");
  EXPECT_EQ(matches_of(table, R"(^\| (E[0-9]{3}) \|)"), as_set(mp::lang::error_codes()));
  for (std::string_view code : mp::lang::error_codes()) {
    std::string row = "| " + std::string(code) + " | " + std::string(mp::lang::error_title(code)) + " |";
    EXPECT_NE(table.find(row), std::string::npos) << "no row `" << row << "` (title as in lang/errors.def)";
  }
}

TEST(DocsTables, LintTablesMatchLintsDef) {
  std::set<std::string> codes = as_set(mp::compiler::lint_codes());
  EXPECT_EQ(matches_of(doc_section("cli.md", "## lint"), R"(^\| (L[0-9]{3}) \| [a-z-]+ \|)"), codes)
      << "the code table of docs/cli.md, lint";
  EXPECT_EQ(matches_of(doc_section("language.md", "## 16. Lint"), R"(^\*\*(L[0-9]{3}) [a-z-]+\.\*\*)"), codes)
      << "the **Lnnn name.** paragraphs of docs/language.md, section 16";
}

// The keys E013 names, from its hint ("known settings: a, b, ...") or explanation.
std::set<std::string> listed_keys(const std::string& text) {
  static const std::regex key(R"([a-z_]+(\.[a-z_]+)+)");
  std::set<std::string> keys;
  for (std::sregex_iterator it(text.begin(), text.end(), key), end; it != end; ++it) keys.insert(it->str());
  return keys;
}

TEST(DocsTables, SettingsTableMatchesSema) {
  std::set<std::string> documented =
      matches_of(doc_section("language.md", "## 4. Settings"), R"(^\| `([a-z_.]+)` \|)");
  mp::compiler::Compilation c = mp::compiler::compile_source("s.mp", "settings {\n  no.such.key = 1\n}\n");
  ASSERT_EQ(c.diagnostics.items().size(), 1u);
  const auto& d = c.diagnostics.items()[0];
  ASSERT_EQ(d.code, "E013");
  ASSERT_NE(d.hint.find("known settings:"), std::string::npos) << d.hint;
  EXPECT_EQ(documented, listed_keys(d.hint)) << "section 4's table vs sema's E013 hint: " << d.hint;
  std::string explanation(mp::lang::error_explanation("E013"));
  EXPECT_EQ(documented, listed_keys(explanation.substr(explanation.find(':')))) << "vs lang/errors.def E013";
}

TEST(DocsTables, DefectTableMatchesDefectsDef) {
  const std::string section = doc_section("language.md", "## 7.");
  const size_t table = section.find("| Defect | Meaning |");
  ASSERT_NE(table, std::string::npos) << "no defect table in section 7";
  const std::string rows = section.substr(table, section.find("\n\n", table) - table);
  std::set<std::string> known;
  for (size_t i = 0; i < mp::runtime::kDefectKindCount; ++i)
    known.insert(std::string(mp::runtime::defect_name(static_cast<mp::runtime::DefectKind>(i))));
  // A row may name several defects: `duplicate_from`, `duplicate_sender`, ...
  std::set<std::string> documented;
  static const std::regex name("`([a-z_0-9]+)`");
  for (const std::string& cell : matches_of(rows, R"(^\| (`[^|]+) \|)"))
    for (std::sregex_iterator it(cell.begin(), cell.end(), name), end; it != end; ++it)
      documented.insert((*it)[1]);
  EXPECT_EQ(documented, known) << "section 7's defect table vs runtime/defects.def";
}

TEST(DocsTables, TraceOutcomesMatchTheVm) {
  std::set<std::string> outcomes;
  for (int i = 0; mp::vm::outcome_name(static_cast<mp::vm::RuleOutcome>(i)) != "?"; ++i) {
    outcomes.insert(std::string(mp::vm::outcome_name(static_cast<mp::vm::RuleOutcome>(i))));
  }
  std::string run = doc_section("cli.md", "## run");
  std::string table = run.substr(run.find("outcomes (`vm::RuleOutcome`"));
  table = table.substr(0, table.find("\n\n", table.find("| Outcome |")));
  EXPECT_EQ(matches_of(table, R"(^\| `([a-z ()]+)` \|)"), outcomes) << "the outcome table of docs/cli.md";
  std::string trace_row = run.substr(run.find("| `trace` |"));
  trace_row = trace_row.substr(0, trace_row.find('\n'));
  for (const auto& o : outcomes)
    EXPECT_NE(trace_row.find("`" + o + "`"), std::string::npos) << o << " in " << trace_row;
}

// The keys of the JSON objects policyc prints, top level, over all lines of stdout.
std::set<std::string> emitted_keys(const std::string& args) {
  std::string command = shell_quote(kPolicyc.string()) + " " + args + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[65536];
  for (size_t n; pipe && (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  if (pipe) pclose(pipe);
  std::set<std::string> keys;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json object = nlohmann::json::parse(line);
    for (auto it = object.begin(); it != object.end(); ++it) keys.insert(it.key());
  }
  return keys;
}

// The keys of the `| Key | Type | Meaning |` table that follows `marker` in `section`;
// `optional` gets those whose row says they are there only sometimes.
std::set<std::string> documented_keys(const std::string& section, const std::string& marker,
                                      std::set<std::string>* optional = nullptr) {
  std::string table = section.substr(section.find(marker));
  table = table.substr(table.find("| Key |"));
  table = table.substr(0, table.find("\n\n"));
  if (optional) *optional = matches_of(table, R"(^\| `([a-z_]+)` \|[^|]*only)");
  return matches_of(table, R"(^\| `([a-z_]+)` \|)");
}

TEST(DocsTables, RunJsonKeysMatchTheOutput) {
  std::set<std::string> optional;
  std::set<std::string> documented =
      documented_keys(doc_section("cli.md", "## run"), "### JSON output", &optional);
  std::string mail = (kWidgetDir / "mail").string();
  std::set<std::string> emitted =
      emitted_keys("run --format json --explain " + shell_quote((kWidgetDir / "policy.mp").string()) + " " +
                   shell_quote(mail));
  for (const auto& key : emitted) EXPECT_TRUE(documented.count(key)) << "`" << key << "` is not documented";
  for (const auto& key : documented) {
    EXPECT_TRUE(emitted.count(key) || optional.count(key))
        << "`" << key << "` is documented but never printed";
  }
}

TEST(DocsTables, DiffJsonKeysMatchTheOutput) {
  std::string policy = shell_quote((kWidgetDir / "policy.mp").string());
  std::set<std::string> emitted = emitted_keys("diff --format json " + policy + " " + policy + " " +
                                               shell_quote((kWidgetDir / "mail").string()));
  EXPECT_EQ(documented_keys(doc_section("cli.md", "## diff"), "`--format json` prints"), emitted);
}

TEST(Docs, LanguageReferenceNamesEveryField) {
  std::string text = read_text(kDocsDir / "language.md");
  ASSERT_FALSE(text.empty());
  for (const auto& field : mp::vm::kFieldTable) {
    std::string quoted = "`" + std::string(field.name) + "`";
    EXPECT_TRUE(text.find(quoted) != std::string::npos)
        << "field " << quoted << " of vm/fields.def is not in docs/language.md";
  }
}

}  // namespace
