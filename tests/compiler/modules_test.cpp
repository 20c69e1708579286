// Imports (compiler.cpp, sema_modules.cpp): modules merge their rules by stage after
// the policy's own, keep their names to themselves, share options the policy sets
// (kind-checked, from a list file too), and the policy can disable or rescore a
// module's rule by name; diagnostics name the module's file, lint speaks only of the
// policy. Modules here are given through CompileOptions::modules; the built-in stdlib
// is imported the same way.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "compiler/compiler.h"
#include "runtime/message.h"
#include "tests/compiler/sema_test_util.h"
#include "vm/image_io.h"
#include "vm/vm.h"

namespace mp::compiler {
namespace {

using namespace sema_test;

const char* kExtra = R"(# a site's module
option site.blocked_words = [lottery]
option site.mode = strict
const secret_words = [secret]
def mentions_secret = subject contains secret_words
stage custom_filters {
  rule module_allow: if subject contains "hello" then allow
  rule private_name: if mentions_secret then tag "secret"
}
stage spam_engine {
  rule words: if subject contains site.blocked_words then score +2 "blocked word"
}
)";

CompileOptions with_modules(std::map<std::string, ModuleSource> modules = {}) {
  modules.emplace("site.extra", ModuleSource{"site/extra.mp", kExtra});
  return CompileOptions{.lint = false, .modules = std::move(modules), .databases = true};
}

Compilation compile_with(const std::string& text, CompileOptions options = with_modules(),
                         const std::string& path = "policy.mp") {
  return compile_source(path, text, options);
}

vm::Verdict judge(const Compilation& c, const std::string& subject) {
  EXPECT_TRUE(c.ok()) << rendered(c);
  if (!c.ok()) return {};
  const std::string bytes = vm::write_image(*c.image);
  vm::Evaluator evaluator(vm::Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
  runtime::Message m = runtime::Message::parse("From: a@b.example\nSubject: " + subject + "\n\nbody\n");
  return evaluator.evaluate(m, runtime::Envelope{});
}

TEST(Modules, ThePolicysRulesRunBeforeTheModulesInTheSameStage) {
  Compilation c = compile_with(
      "import site.extra\nstage custom_filters { rule mine: if subject contains \"hello\" then reject }\n");
  vm::Verdict v = judge(c, "hello there");
  EXPECT_EQ(v.action, vm::Action::Reject);
  EXPECT_EQ(v.rule_name, "mine");
  vm::Verdict allowed = judge(compile_with("import site.extra\n"), "hello there");
  EXPECT_EQ(allowed.action, vm::Action::Allow);
  EXPECT_EQ(allowed.location, "site/extra.mp:7:3");  // the verdict says where the rule came from
}

TEST(Modules, NamesArePerFile) {
  // The module's const is not the policy's ...
  EXPECT_EQ(codes(compile_with("import site.extra\nif subject contains secret_words then tag \"x\"\n")),
            std::vector<std::string>{"E012"});
  // ... and the policy may use the same name for its own value, without touching the module's.
  Compilation c = compile_with(
      "import site.extra\nconst secret_words = [public]\nif subject contains secret_words then tag "
      "\"mine\"\n");
  vm::Verdict v = judge(c, "a secret plan");
  EXPECT_EQ(v.tags, std::vector<std::string>{"secret"});
}

TEST(Modules, OptionsTakeTheirDefaultOrThePolicysSetting) {
  EXPECT_DOUBLE_EQ(judge(compile_with("import site.extra\n"), "lottery win").score, 2);
  Compilation c = compile_with("import site.extra\nsettings { site.blocked_words = [prize, award] }\n");
  EXPECT_DOUBLE_EQ(judge(c, "lottery win").score, 0);
  EXPECT_DOUBLE_EQ(judge(c, "your prize").score, 2);
  // The policy can name an option's value too.
  Compilation named = compile_with(
      "import site.extra\nsettings { site.blocked_words = [prize] }\n"
      "if subject contains site.blocked_words then tag \"seen\"\n");
  EXPECT_EQ(judge(named, "a prize").tags, std::vector<std::string>{"seen"});
}

TEST(Modules, AListOptionFromAFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("mp_modules_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "words.txt") << "# words\nfree money\n\ninheritance\n";
  Compilation c = compile_with("import site.extra\nsettings { site.blocked_words = file(\"words.txt\") }\n",
                               with_modules(), (dir / "policy.mp").string());
  EXPECT_DOUBLE_EQ(judge(c, "an inheritance").score, 2);
  EXPECT_DOUBLE_EQ(judge(c, "lottery").score, 0);
  std::filesystem::remove_all(dir);
}

TEST(Modules, OptionValuesAreChecked) {
  Compilation wrong_kind = compile_with("import site.extra\nsettings { site.blocked_words = 3 }\n");
  EXPECT_EQ(codes(wrong_kind), std::vector<std::string>{"E062"}) << rendered(wrong_kind);
  Compilation word = compile_with("import site.extra\nsettings { site.mode = \"lenient\" }\n");
  ASSERT_EQ(codes(word), std::vector<std::string>{"E062"});
  EXPECT_NE(rendered(word).find("its default is `strict` (site/extra.mp:3:8)"), std::string::npos)
      << rendered(word);
  Compilation typo = compile_with("import site.extra\nsettings { site.blocked_word = [x] }\n");
  ASSERT_EQ(codes(typo), std::vector<std::string>{"E013"});
  EXPECT_EQ(typo.diagnostics.items()[0].hint, "did you mean `site.blocked_words`?");
  Compilation twice =
      compile_with("import site.extra\nimport site.other\n",
                   with_modules({{"site.other", {"site/other.mp", "option site.mode = lax\n"}}}));
  EXPECT_EQ(codes(twice), std::vector<std::string>{"E041"}) << rendered(twice);
}

TEST(Modules, DisableAndRescoreAModulesRule) {
  EXPECT_EQ(
      judge(compile_with("import site.extra\ndisable rule custom_filters.module_allow\n"), "hello").action,
      vm::Action::Deliver);
  EXPECT_DOUBLE_EQ(
      judge(compile_with("import site.extra\nrescore rule spam_engine.words 7\n"), "lottery").score, 7);
  EXPECT_DOUBLE_EQ(
      judge(compile_with("import site.extra\nrescore spam_engine.words -1.5\n"), "lottery").score, -1.5);
  Compilation typo = compile_with("import site.extra\ndisable rule spam_engine.word\n");
  ASSERT_EQ(codes(typo), std::vector<std::string>{"E042"});
  EXPECT_EQ(typo.diagnostics.items()[0].hint, "did you mean `spam_engine.words`?");
  EXPECT_EQ(codes(compile_with("import site.extra\nrescore rule custom_filters.module_allow 1\n")),
            std::vector<std::string>{"E042"});
}

TEST(Modules, DiagnosticsInAModuleNameItsFile) {
  Compilation c =
      compile_with("import site.bad\n",
                   with_modules({{"site.bad", {"site/bad.mp", "\nif subjekt contains \"x\" then allow\n"}}}));
  ASSERT_EQ(codes(c), std::vector<std::string>{"E010"});
  EXPECT_EQ(c.sources.location(c.diagnostics.items()[0].primary.span), "site/bad.mp:2:4");
}

TEST(Modules, LintSpeaksOnlyOfThePolicy) {
  CompileOptions options = with_modules({{"site.unused", {"site/unused.mp", "const never_used = [x]\n"}}});
  options.lint = true;
  Compilation c = compile_with("import site.unused\nconst mine = [y]\n", options);
  ASSERT_EQ(codes(c), std::vector<std::string>{"L010"}) << rendered(c);
  EXPECT_NE(c.diagnostics.items()[0].message.find("`mine`"), std::string::npos);
}

TEST(Modules, UnknownModulesAndImportsTwice) {
  Compilation c = compile_with("import site.extr\n");
  ASSERT_EQ(codes(c), std::vector<std::string>{"E014"});
  EXPECT_EQ(c.diagnostics.items()[0].hint, "did you mean `site.extra`?");
  // stdlib imports stdlib.anti_spoofing; importing both loads it once (no E040).
  compile_ok("import stdlib\nimport stdlib.anti_spoofing\nsettings { org.domains = [widget.com] }\n");
}

TEST(Modules, OrgListsAreValuesEveryFileCanName) {
  Compilation c = compile_ok(
      "settings { org.sending_servers = [192.0.2.0/24] }\n"
      "if client.ip in org.sending_servers then tag \"ours\"\n");
  const std::string bytes = vm::write_image(*c.image);
  vm::Evaluator evaluator(vm::Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
  runtime::Envelope envelope;
  envelope.client_ip = runtime::IpAddress::parse("192.0.2.9");
  runtime::Message m = runtime::Message::parse("From: a@b.example\n\nx\n");
  EXPECT_EQ(evaluator.evaluate(m, envelope).tags, std::vector<std::string>{"ours"});
}

// A scanner that is down: av reads "error".
class ScannerDown final : public vm::FactSource {
 public:
  void prefetch(std::span<const vm::FactUse>) override {}
  vm::FactValue compute(vm::FieldId fact, std::span<const std::string>) override {
    vm::FactValue v;
    if (fact == vm::FieldId::Av) v.text = {"error"};
    return v;
  }
};

vm::Action when_scanner_down(const std::string& policy) {
  Compilation c = compile_ok(policy);
  const std::string bytes = vm::write_image(*c.image);
  vm::Evaluator evaluator(vm::Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
  ScannerDown facts;
  runtime::Message m = runtime::Message::parse("From: a@b.example\n\nx\n");
  return evaluator.evaluate(m, runtime::Envelope{}, &facts).action;
}

// An option a module branches on (`antivirus.on_error is "tempfail"`) is decided at
// compile time.
TEST(Modules, AModuleBranchesOnItsOption) {
  EXPECT_EQ(when_scanner_down("import stdlib.antivirus\n"), vm::Action::Tempfail);
  EXPECT_EQ(when_scanner_down("import stdlib.antivirus\nsettings { antivirus.on_error = accept }\n"),
            vm::Action::Deliver);
  Compilation wrong = compile("import stdlib.antivirus\nsettings { antivirus.on_error = \"accept\" }\n");
  EXPECT_EQ(codes(wrong), std::vector<std::string>{"E062"}) << rendered(wrong);
  Compilation typo = compile("import stdlib.antivirus\nsettings { antivirus.on_error = acept }\n");
  ASSERT_EQ(codes(typo), std::vector<std::string>{"E062"}) << rendered(typo);
  EXPECT_EQ(typo.diagnostics.items()[0].message, "`antivirus.on_error` is one of tempfail, accept");
  Compilation misuse = compile("import stdlib.antivirus\nif antivirus.on_error contains \"t\" then allow\n");
  EXPECT_EQ(codes(misuse), std::vector<std::string>{"E020"}) << rendered(misuse);
}

TEST(Modules, AnOptionsDefaultIsOneOfItsChoices) {
  Compilation bad = compile("option m.mode in [score, reject] = quarantine\n");
  ASSERT_EQ(codes(bad), std::vector<std::string>{"E062"}) << rendered(bad);
  EXPECT_EQ(bad.diagnostics.items()[0].message, "the default of `m.mode` is not one of its choices");
  EXPECT_TRUE(codes(compile("option m.mode in [score, reject] = score\n")).empty());
}

}  // namespace
}  // namespace mp::compiler
