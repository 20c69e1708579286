// Helpers shared by the parser tests (tests/lang/parser_*_test.cpp): parsing policy
// text into a Parsed (source map, diagnostics, AST) with or without requiring it to
// be error-free, the condition of a one-rule policy, and the text of a path operand.
//
// Header-only on purpose: tests/CMakeLists.txt builds only the *_test.cpp files of
// this directory into lang_tests, so everything here is `inline`.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lang/lang.h"

// A test for a known product bug: skipped so the suite stays green, run with
// MP_RUN_KNOWN_BUGS=1 to see it fail (or pass, once the bug is fixed).
#define MP_KNOWN_BUG(what) \
  if (std::getenv("MP_RUN_KNOWN_BUGS") == nullptr) GTEST_SKIP() << "BUG: " << what

namespace mp::lang::parser_test {

struct Parsed {
  SourceMap sources;
  Diagnostics diagnostics;
  Policy policy;
  FileId file;

  std::string_view slice(const Span& s) const { return sources.slice(s); }
  LineCol at(const Span& s) const { return sources.line_col(s.file, s.begin); }
  std::vector<std::string> codes() const {
    std::vector<std::string> out;
    for (const auto& d : diagnostics.items()) out.push_back(d.code);
    return out;
  }
  std::string dump() const {
    std::string out;
    for (const auto& d : diagnostics.items()) out += render_text(d, sources) + "\n";
    return out;
  }
};

inline std::unique_ptr<Parsed> parse_text(std::string text) {
  auto p = std::make_unique<Parsed>();
  p->file = p->sources.add("test.mp", std::move(text));
  p->policy = parse(p->sources, p->file, p->diagnostics);
  return p;
}

// Parses text that must be free of errors.
inline std::unique_ptr<Parsed> parse_ok(std::string text) {
  auto p = parse_text(std::move(text));
  EXPECT_FALSE(p->diagnostics.has_errors()) << p->dump();
  return p;
}

// The condition of the single rule of `if COND then allow`.
struct CondHolder {
  std::unique_ptr<Parsed> parsed;
  std::shared_ptr<Condition> cond;
};

inline CondHolder parse_condition(const std::string& condition) {
  CondHolder h;
  h.parsed = parse_ok("if " + condition + " then allow\n");
  if (h.parsed->policy.stages.size() == 1 && h.parsed->policy.stages[0].rules.size() == 1) {
    h.cond = h.parsed->policy.stages[0].rules[0].condition;
  }
  if (!h.cond) {
    ADD_FAILURE() << "no single rule for: " << condition;
    h.cond = std::make_shared<Condition>();
  }
  return h;
}

inline std::string path_text(const Operand& o) {
  return o.kind == OperandKind::Literal && o.literal.kind == LiteralKind::Path ? o.literal.text : "<not a path>";
}

}  // namespace mp::lang::parser_test
