// compiler/: policy source → checked IR → bytecode + Hyperscan databases → image.
//
//   mp::compiler::Compilation c = mp::compiler::compile_file("policy.mp");
//   if (!c.ok()) for (auto& d : c.diagnostics.items()) print(render_text(d, c.sources));
//   std::string bytes = mp::vm::write_image(*c.image);
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "lang/diagnostics.h"
#include "lang/source.h"
#include "vm/image.h"

namespace mp::compiler {

struct IrModule;  // compiler/ir.h

struct Compilation {
  lang::SourceMap sources;
  lang::Diagnostics diagnostics;
  std::optional<vm::ImageData> image;  // set when there are no errors
  // With CompileOptions::keep_ir: the checked IR the image was generated from, its
  // pattern, set and net ids those of the image (policyc fuzz reasons over it).
  std::shared_ptr<const IrModule> module;

  bool ok() const { return image.has_value() && !diagnostics.has_errors(); }
};

// A module `import NAME` can name besides the built-in stdlib (a site's own modules,
// tests): its source text and the path diagnostics show for it.
struct ModuleSource {
  std::string path;
  std::string text;
};

struct CompileOptions {
  bool lint = false;  // add lint warnings (lints.def) to the diagnostics
  // Looked up before the stdlib, by the full name given to `import`.
  std::map<std::string, ModuleSource> modules;
  // false: no Hyperscan database is built (policyc check and lint). Every pattern is
  // still checked by Hyperscan's analysis and PCRE2 and given its engine, so the
  // diagnostics are the same: a pattern that a database cannot hold is run by PCRE2 at
  // build, never an error. Saves the compile time (seconds for large rule sets).
  bool databases = true;
  bool keep_ir = false;  // keep the checked IR in Compilation::module
  // A file of `assert` declarations about the policy, read in its scope (its consts,
  // lists and defs); "" for none. Anything else in it is E064.
  std::string properties = {};
};

// For checking a message against the policy's assertions (policyc fuzz): an image
// with the same tables whose rules are the assertions' conditions, rule `assert_N`
// firing (a tag, no verdict) when assertion N's condition holds. Needs a Compilation
// made with keep_ir.
vm::ImageData assertion_probe(const Compilation& c);

// Reads and compiles a policy file; list files are read relative to its directory.
Compilation compile_file(const std::string& path, const CompileOptions& options = {});
// Compiles policy text held in memory; `path` names it in diagnostics and anchors
// relative list-file paths.
Compilation compile_source(const std::string& path, std::string text, const CompileOptions& options = {});

}  // namespace mp::compiler
