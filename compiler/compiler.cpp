// The compiler driver: parse → sema → pattern databases → codegen → ImageData.
#include "compiler/compiler.h"

#include <fstream>
#include <sstream>

#include "compiler/codegen.h"
#include "compiler/lint.h"
#include "compiler/sema.h"
#include "lang/lang.h"

namespace mp::compiler {

namespace {

void compile_into(Compilation& out, lang::FileId file, const std::filesystem::path& base_dir,
                  const CompileOptions& options) {
  lang::Policy policy = lang::parse(out.sources, file, out.diagnostics);
  if (out.diagnostics.has_errors()) return;
  Sema sema(out.sources, out.diagnostics, base_dir);
  IrModule module = sema.check(policy);
  vm::ImageData image;
  if (out.diagnostics.has_errors()) return;
  if (options.lint) {
    for (auto& warning : lint({out.sources, policy, module, sema})) out.diagnostics.add(std::move(warning));
  }
  image.databases = sema.patterns.build(out.diagnostics);
  if (out.diagnostics.has_errors()) return;
  image.patterns = sema.patterns.patterns();
  image.sets = sema.sets.take();
  image.nets = sema.nets.take();
  image.settings = sema.settings;
  generate(module, out.sources, image);
  out.image = std::move(image);
}

}  // namespace

Compilation compile_source(const std::string& path, std::string text, const CompileOptions& options) {
  Compilation out;
  lang::FileId file = out.sources.add(path, std::move(text));
  compile_into(out, file, std::filesystem::path(path).parent_path(), options);
  out.diagnostics.sort_by_position();
  return out;
}

Compilation compile_file(const std::string& path, const CompileOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Compilation out;
    lang::FileId file = out.sources.add(path, "");
    out.diagnostics.error("E050", "cannot read policy file `" + path + "`", lang::Span{file, 0, 0},
                          "no readable file here");
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return compile_source(path, text.str(), options);
}

}  // namespace mp::compiler
