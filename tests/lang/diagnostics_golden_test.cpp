// Golden tests for compile diagnostics: every tests/diagnostics/NAME.mp is compiled
// with compile_source("NAME.mp", text) and the text rendering of all its diagnostics
// (lang::render_text, no colour, each followed by a blank line as policyc prints
// them) must equal tests/diagnostics/NAME.out byte for byte.
//
//   MP_UPDATE_GOLDEN=1 lang_tests --gtest_filter='Golden*'   rewrites the .out files
//
// NAME starts with the error code the case is about (E020_size_contains.mp); the
// test checks that this code is among the diagnostics, and that every code of
// lang/errors.def has a golden case. Also here: the JSON rendering and the
// `policyc explain` texts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "compiler/compiler.h"
#include "lang/diagnostics.h"

namespace mp::lang {
namespace {

namespace fs = std::filesystem;

fs::path golden_dir() { return fs::path(MP_SOURCE_DIR) / "tests" / "diagnostics"; }

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> golden_cases() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(golden_dir(), ec)) {
    if (entry.path().extension() == ".mp") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string render_all(const compiler::Compilation& c) {
  std::string out;
  for (const auto& d : c.diagnostics.items()) out += render_text(d, c.sources, false) + "\n";
  return out;
}

bool update_mode() {
  const char* v = std::getenv("MP_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

class Golden : public testing::TestWithParam<std::string> {};

TEST_P(Golden, MatchesExpectedOutput) {
  const std::string name = GetParam();
  const fs::path mp = golden_dir() / name;
  const fs::path out = fs::path(mp).replace_extension(".out");
  compiler::Compilation c = compiler::compile_source(name, read_bytes(mp));
  const std::string actual = render_all(c);

  EXPECT_FALSE(c.ok()) << name << " is expected to fail to compile";
  EXPECT_FALSE(c.image.has_value());
  const std::string code = name.substr(0, name.find('_'));
  bool has_code = std::any_of(c.diagnostics.items().begin(), c.diagnostics.items().end(),
                              [&](const Diagnostic& d) { return d.code == code; });
  EXPECT_TRUE(has_code) << name << " does not produce " << code << ":\n" << actual;
  for (const auto& d : c.diagnostics.items()) {
    EXPECT_FALSE(d.message.empty());
    EXPECT_FALSE(error_title(d.code).empty()) << "code " << d.code << " is not in errors.def";
    EXPECT_EQ(d.severity, Severity::Error);
  }

  if (update_mode()) {
    std::ofstream(out, std::ios::binary | std::ios::trunc) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(out)) << out << " is missing; run with MP_UPDATE_GOLDEN=1 and review it";
  EXPECT_EQ(actual, read_bytes(out)) << "golden mismatch for " << name
                                     << " (MP_UPDATE_GOLDEN=1 rewrites it)";
}

std::string case_name(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.size() - 3);
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Diagnostics, Golden, testing::ValuesIn(golden_cases()), case_name);

TEST(GoldenCoverage, EveryErrorCodeHasAGoldenCase) {
  std::set<std::string> covered;
  for (const auto& name : golden_cases()) {
    std::string expected = read_bytes(golden_dir() / fs::path(name).replace_extension(".out"));
    std::string code = name.substr(0, name.find('_'));
    if (expected.find("error[" + code + "]") != std::string::npos) covered.insert(code);
  }
  for (std::string_view code : error_codes()) {
    EXPECT_TRUE(covered.count(std::string(code))) << "no golden case shows " << code;
  }
}

TEST(GoldenCoverage, GoldenFilesComeInPairs) {
  for (const auto& entry : fs::directory_iterator(golden_dir())) {
    const fs::path& p = entry.path();
    if (p.extension() == ".out") {
      EXPECT_TRUE(fs::exists(fs::path(p).replace_extension(".mp"))) << p << " has no .mp";
    } else {
      EXPECT_EQ(p.extension(), ".mp") << p << " does not belong in tests/diagnostics";
    }
  }
}

// ---- Rendering ------------------------------------------------------------------

TEST(DiagnosticJson, HasFileLineColumnAndCode) {
  compiler::Compilation c = compiler::compile_source(
      "policies/main.mp", "# comment\nif client.ip is info@widget.com then allow\n");
  ASSERT_EQ(c.diagnostics.items().size(), 1u);
  nlohmann::json j = nlohmann::json::parse(render_json(c.diagnostics.items()[0], c.sources));
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["severity"], "error");
  EXPECT_EQ(j["code"], "E021");
  EXPECT_EQ(j["file"], "policies/main.mp");
  EXPECT_EQ(j["line"], 2);
  EXPECT_EQ(j["column"], 17);
  EXPECT_EQ(j["end_line"], 2);
  EXPECT_EQ(j["end_column"], 32);  // one past "info@widget.com"
  EXPECT_TRUE(j["message"].is_string());
  EXPECT_FALSE(j["message"].get<std::string>().empty());
  EXPECT_TRUE(j["label"].is_string());
  EXPECT_TRUE(j["hint"].is_string());
}

TEST(DiagnosticJson, InvalidUtf8InTheMessageStillGivesValidJson) {
  compiler::Compilation c = compiler::compile_source("latin1.mp", "# caf\xe9\n");
  ASSERT_EQ(c.diagnostics.items().size(), 1u);
  std::string text = render_json(c.diagnostics.items()[0], c.sources);
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(text)) << text;
  EXPECT_EQ(j["code"], "E003");
  EXPECT_EQ(j["line"], 1);
  EXPECT_EQ(j["column"], 6);
}

TEST(DiagnosticText, ColorOnlyWhenAsked) {
  compiler::Compilation c = compiler::compile_source("x.mp", "if subjct contains \"x\" then allow\n");
  ASSERT_EQ(c.diagnostics.items().size(), 1u);
  const Diagnostic& d = c.diagnostics.items()[0];
  std::string plain = render_text(d, c.sources, false);
  std::string colored = render_text(d, c.sources, true);
  EXPECT_EQ(plain.find('\033'), std::string::npos);
  EXPECT_NE(colored.find('\033'), std::string::npos);
  EXPECT_EQ(plain.rfind("error[E010]: unknown field `subjct`\n", 0), 0u) << plain;
  EXPECT_NE(plain.find(" --> x.mp:1:4\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("1 | if subjct contains \"x\" then allow\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("  |    ^^^^^^ no such field\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find(" = help: did you mean `subject`?\n"), std::string::npos) << plain;
}

// ---- The error table (policyc explain) ----------------------------------------------

TEST(ErrorTable, EveryCodeHasATitleAndAnExplanation) {
  const std::vector<std::string_view> codes = error_codes();
  ASSERT_FALSE(codes.empty());
  std::set<std::string_view> unique(codes.begin(), codes.end());
  EXPECT_EQ(unique.size(), codes.size()) << "a code is listed twice";
  for (std::string_view code : codes) {
    EXPECT_EQ(code.size(), 4u) << code;
    EXPECT_EQ(code[0], 'E') << code;
    EXPECT_FALSE(error_title(code).empty()) << code;
    EXPECT_FALSE(error_explanation(code).empty()) << code;
    EXPECT_NE(error_title(code), error_explanation(code)) << code;
  }
  EXPECT_TRUE(error_title("E999").empty());
  EXPECT_TRUE(error_explanation("E999").empty());
  EXPECT_TRUE(error_title("").empty());
}

TEST(ErrorTable, TheDocumentedCodes) {
  const std::vector<std::string_view> expected = {
      "E001", "E002", "E003", "E010", "E011", "E012", "E013", "E014", "E015", "E020", "E021", "E022",
      "E023", "E030", "E040", "E041", "E042", "E050", "E051", "E060", "E061", "E062", "E063", "E064"};
  EXPECT_EQ(error_codes(), expected);
}

}  // namespace
}  // namespace mp::lang
