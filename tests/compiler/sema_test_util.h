// Helpers shared by the semantic-analysis tests (tests/compiler/sema_*_test.cpp):
// compiling policy text through compile_source, the diagnostics of a Compilation as
// codes or rendered text, and the instructions of an image with a given opcode.
//
// Header-only on purpose: tests/CMakeLists.txt builds only the *_test.cpp files of
// this directory into compiler_tests, so everything here is `inline`.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "lang/diagnostics.h"
#include "vm/vm.h"

// A test for a known product bug: skipped so the suite stays green, run with
// MP_RUN_KNOWN_BUGS=1 to see it fail (or pass, once the bug is fixed).
#define MP_KNOWN_BUG(what) \
  if (std::getenv("MP_RUN_KNOWN_BUGS") == nullptr) GTEST_SKIP() << "BUG: " << what

namespace mp::compiler::sema_test {

inline std::string rendered(const Compilation& c) {
  std::string out;
  for (const auto& d : c.diagnostics.items()) out += lang::render_text(d, c.sources) + "\n";
  return out;
}

inline std::vector<std::string> codes(const Compilation& c) {
  std::vector<std::string> out;
  for (const auto& d : c.diagnostics.items()) out.push_back(d.code);
  return out;
}

inline Compilation compile(const std::string& text) { return compile_source("sema.mp", text); }

// Compiles text that must compile; the image is then c.image.
inline Compilation compile_ok(const std::string& text) {
  Compilation c = compile(text);
  EXPECT_TRUE(c.ok()) << text << "\n" << rendered(c);
  return c;
}

inline std::vector<vm::Instruction> ops(const vm::ImageData& im, vm::Op op) {
  std::vector<vm::Instruction> out;
  for (const auto& ins : im.code) {
    if (ins.op == op) out.push_back(ins);
  }
  return out;
}

}  // namespace mp::compiler::sema_test
