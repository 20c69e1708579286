// The compiler driver: parse → sema → pattern databases → codegen → ImageData.
#include "compiler/compiler.h"

#include <fstream>
#include <set>
#include <sstream>

#include "compiler/codegen.h"
#include "compiler/lint.h"
#include "compiler/prune.h"
#include "compiler/sema.h"
#include "lang/lang.h"
#include "stdlib/stdlib.h"

namespace mp::compiler {

namespace {

void unknown_module(Compilation& out, const lang::Import& import, const CompileOptions& options) {
  std::vector<std::string> names;
  for (const auto& [name, source] : options.modules) names.push_back(name);
  for (const stdlib::Module& m : stdlib::modules()) names.emplace_back(m.name);
  std::string hint = "modules: ";
  for (size_t i = 0; i < names.size(); ++i) hint += (i ? ", " : "") + names[i];
  if (std::string near = lang::closest_name(import.module, names); !near.empty()) {
    hint = "did you mean `" + near + "`?";
  }
  out.diagnostics.error("E014", "unknown module `" + import.module + "`", import.span, "not a module", hint);
}

// The policy file and every module it imports, directly or through another module,
// each parsed once; the policy first, then the modules in the order first imported.
// The source `import NAME` means: one given in the options, else the stdlib's.
std::optional<ModuleSource> find_module(const std::string& name, const CompileOptions& options) {
  if (auto it = options.modules.find(name); it != options.modules.end()) return it->second;
  if (const stdlib::Module* m = stdlib::find(name))
    return ModuleSource{std::string(m->path), std::string(m->text)};
  return std::nullopt;
}

std::vector<lang::Policy> parse_with_imports(Compilation& out, lang::FileId file,
                                             const CompileOptions& options) {
  std::vector<lang::Policy> files;
  files.push_back(lang::parse(out.sources, file, out.diagnostics));
  std::set<std::string> loaded;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::vector<lang::Import> imports = files[i].imports;  // files grows below
    for (const lang::Import& import : imports) {
      if (!loaded.insert(import.module).second) continue;
      std::optional<ModuleSource> module = find_module(import.module, options);
      if (!module) {
        unknown_module(out, import, options);
        continue;
      }
      lang::FileId id = out.sources.add(module->path, std::move(module->text));
      files.push_back(lang::parse(out.sources, id, out.diagnostics));
    }
  }
  return files;
}

// Lint speaks to the policy's author: findings inside imported modules are not theirs.
bool in_policy_file(const lang::Diagnostic& d, lang::FileId policy) {
  return d.primary.span.file == policy;
}

// The properties file's assertions, added to the policy file's; nullopt when there is
// none or it cannot be read (E050).
std::optional<lang::FileId> add_properties(Compilation& out, lang::Policy& policy, const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  lang::FileId id = out.sources.add(path, in ? text.str() : "");
  if (!in) {
    out.diagnostics.error("E050", "cannot read properties file `" + path + "`", lang::Span{id, 0, 0},
                          "no readable file here");
    return std::nullopt;
  }
  lang::Policy properties = lang::parse(out.sources, id, out.diagnostics);
  bool only_assertions = properties.imports.empty() && properties.consts.empty() &&
                         properties.lists.empty() && properties.defs.empty() && properties.settings.empty() &&
                         properties.options.empty() && properties.adjustments.empty() &&
                         properties.stages.empty();
  if (!only_assertions) {
    out.diagnostics.error("E064", "a properties file holds only `assert` declarations", lang::Span{id, 0, 0},
                          "something else is declared here",
                          "declare consts, lists, defs and rules in the policy; the assertions read them");
  }
  for (auto& a : properties.assertions) policy.assertions.push_back(std::move(a));
  return id;
}

void compile_into(Compilation& out, lang::FileId file, const std::filesystem::path& base_dir,
                  const CompileOptions& options) {
  std::vector<lang::Policy> files = parse_with_imports(out, file, options);
  std::optional<lang::FileId> properties = add_properties(out, files.front(), options.properties);
  if (out.diagnostics.has_errors()) return;
  Sema sema(out.sources, out.diagnostics, base_dir);
  if (properties) sema.set_properties_file(*properties);
  IrModule module = sema.check(files);
  vm::ImageData image;
  if (out.diagnostics.has_errors()) return;
  sema.patterns.assign_engines(out.diagnostics);
  if (out.diagnostics.has_errors()) return;
  if (options.lint) {
    for (auto& warning : lint({out.sources, files.front(), module, sema})) {
      if (in_policy_file(warning, file)) out.diagnostics.add(std::move(warning));
    }
  }
  drop_unread(module, sema.patterns, sema.sets, sema.nets);
  if (options.databases) image.databases = sema.patterns.build(out.diagnostics);
  if (out.diagnostics.has_errors()) return;
  image.patterns = sema.patterns.patterns();
  image.sets = sema.sets.take();
  image.nets = sema.nets.take();
  image.settings = sema.settings;
  generate(module, out.sources, image);
  out.image = std::move(image);
  if (options.keep_ir) out.module = std::make_shared<const IrModule>(std::move(module));
}

}  // namespace

vm::ImageData assertion_probe(const Compilation& c) {
  vm::ImageData probe = *c.image;
  probe.code.clear();
  probe.code_lines.clear();
  probe.rules.clear();
  IrModule module;
  module.stages = {"assert"};
  for (size_t i = 0; i < c.module->assertions.size(); ++i) {
    const IrAssertion& a = c.module->assertions[i];
    IrRule rule;
    rule.name = "assert_" + std::to_string(i + 1);
    rule.span = rule.name_span = a.span;
    rule.directions = vm::kAllDirections;
    rule.condition = a.condition;
    IrAction tag;
    tag.kind = lang::ActionKind::Tag;
    tag.text = rule.name;
    tag.has_text = true;
    rule.actions.push_back(std::move(tag));
    module.rules.push_back(std::move(rule));
  }
  generate(module, c.sources, probe);
  return probe;
}

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
