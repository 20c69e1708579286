// Tests for compiler/ semantic analysis, types and declarations (see also
// sema_fields_test.cpp and sema_patterns_test.cpp): type checking per value kind
// (E020/E021/E022), consts as values, def inlining, sharing and recursion (E051),
// duplicate declarations and rule names (E041/E040), and lists read from files.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "lang/diagnostics.h"
#include "tests/compiler/sema_test_util.h"
#include "vm/vm.h"

namespace mp::compiler {
namespace {

using namespace sema_test;
namespace fs = std::filesystem;
using vm::Op;

std::vector<Op> opcodes(const vm::ImageData& im) {
  std::vector<Op> out;
  for (const auto& ins : im.code) out.push_back(ins.op);
  return out;
}

// ---- Types ----------------------------------------------------------------------

TEST(SemaTypes, MismatchesPerKind) {
  struct Case {
    std::string condition;
    std::string code;
  };
  const std::vector<Case> cases = {
      // Number fields take no text tests.
      {"size contains \"x\"", "E020"},
      {"size starts with \"1\"", "E020"},
      {"size matches /1/", "E020"},
      {"attachments.size ends with \"0\"", "E020"},
      // IP fields take no text tests, and only IPs and prefixes.
      {"client.ip contains \"10.0\"", "E020"},
      {"client.ip matches /^10\\./", "E020"},
      {"client.ip is info@widget.com", "E021"},
      {"client.ip is widget.com", "E021"},
      {"client.ip in [10.0.0.1, \"not an ip\"]", "E021"},
      {"client.ip is 300.1.2.3", "E022"},
      {"client.ip in [10.0.0.0/33]", "E022"},
      {"client.ip in [2001:db8::/129]", "E022"},
      // Address fields take addresses.
      {"sender is 10.0.0.1", "E021"},
      {"sender is widget.com", "E021"},
      {"from.address in [info@widget.com, widget.com]", "E021"},
      {"sender is 5", "E021"},
      {"sender is 10MB", "E021"},
      // Domain fields take domains.
      {"from.domain is info@widget.com", "E021"},
      {"from.domain is 192.0.2.1", "E021"},  // helo and urls.domain may hold a bare IPv4 address
      {"helo is 2001:db8::1", "E021"},
      {"urls.domain in [evil.top, 10]", "E021"},
      // Numeric comparisons need numbers on both sides.
      {"subject > 5", "E020"},
      {"size > \"big\"", "E020"},
      {"size > widget.com", "E020"},
      {"from.domain < 5", "E020"},
      {"size > attachments.size", "E021"},
      {"size > count(urls)", "E021"},
      // A field is not a condition.
      {"subject", "E020"},
      {"client.ip", "E020"},
      // Lists where one value is expected.
      {"subject contains [\"a\", [\"b\"]]", ""},  // nested lists flatten: fine
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.condition);
    Compilation c = compile("if " + tc.condition + " then allow\n");
    if (tc.code.empty()) {
      EXPECT_TRUE(c.ok()) << rendered(c);
      continue;
    }
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(codes(c), std::vector<std::string>{tc.code}) << rendered(c);
  }
}

TEST(SemaTypes, WellTypedTestsCompile) {
  for (std::string condition : {
           "sender is info@widget.com",
           "sender is \"Info@Widget.com\"",
           "sender.domain is widget.com",
           "sender.domain is \"widget.com\"",
           "from.domain in [widget.com, widget.ca]",
           "client.ip is 203.0.113.10",
           "client.ip in [198.51.100.0/24, 2001:db8::/32, \"192.0.2.1\"]",
           "size > 10MB",
           "size <= 512KB",
           "size is 100",
           "size is not 100",
           "count(attachments) == 0",
           "count(urls (domain ends with \".top\")) >= 3",
           "subject is 5",
           "subject contains 10MB",
           "attachments.extension in [exe, scr, \"js\"]",
           "true",
           "not false",
       }) {
    SCOPED_TRACE(condition);
    compile_ok("if " + condition + " then allow\n");
  }
}

// relays("KIND") is the whole text of the part, "[ ip=… ]" per relay, or "".
TEST(SemaTypes, ARelaysValueThatIsNoRelayTextCanNeverMatch) {
  for (const char* never :
       {"relays(\"external\") is \"1.2.3.4\"", "relays(\"untrusted\") in [1.2.3.4, \"x\"]"}) {
    Compilation c = compile(std::string("if ") + never + " then tag \"x\"\n");
    EXPECT_EQ(codes(c).front(), "E023") << never << "\n" << rendered(c);
  }
  for (const char* possible :
       {"relays(\"external\") is \"\"", "relays(\"trusted\") starts with \"[ ip=10.\"",
        "relays(\"untrusted\") is \"[ ip=1.2.3.4 rdns= helo= by= ident= envfrom= intl=0 id= "
        "auth= msa=0 ]\""}) {
    SCOPED_TRACE(possible);
    compile_ok(std::string("if ") + possible + " then tag \"x\"\n");
  }
}

TEST(SemaTypes, ANumberComparisonOutsideTheFieldsRangeCanNeverMatch) {
  for (const char* never :
       {"bayes > 1", "bayes >= 1.5", "bayes < 0", "rate(sender, 1h) < 1", "rate(sender, 1h) == 0",
        "bulk.count < 1", "count(to) < 0", "size < 0", "reputation(client.ip) < 0"}) {
    Compilation c = compile(std::string("if ") + never + " then tag \"x\"\n");
    EXPECT_EQ(codes(c), std::vector<std::string>{"E023"}) << never << "\n" << rendered(c);
  }
  for (const char* possible : {"bayes >= 1", "bayes <= 0", "rate(sender, 1h) <= 1", "count(to) == 0",
                               "header_number(\"X-Spam-Score\") < -5", "bayes != 7", "bayes is not 7"}) {
    Compilation c = compile(std::string("if ") + possible + " then tag \"x\"\n");
    EXPECT_TRUE(c.ok()) << possible << "\n" << rendered(c);
  }
}

TEST(SemaTypes, ABareWordOutsideAListIsAnUnknownName) {
  // errors.def: bare words are allowed only inside list literals, so a typo in a
  // const's name is not silently taken as text.
  Compilation c = compile("const greeting = \"hello\"\nif subject contains greting then allow\n");
  ASSERT_EQ(codes(c), std::vector<std::string>{"E012"}) << rendered(c);
  const std::string& hint = c.diagnostics.items()[0].hint;
  EXPECT_TRUE(hint.find("greeting") != std::string::npos || hint.find("quote") != std::string::npos) << hint;
}

TEST(SemaTypes, AFieldOnTheRightIsNotALiteral) {
  // `reply_to.domain is not from.domain` compares the two fields, never with a domain
  // named "from.domain"; other operators do not take a field on the right.
  Compilation same = compile("if reply_to.domain is not from.domain then allow\n");
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same.image->sets.empty());
  EXPECT_TRUE(same.image->patterns.empty());
  for (std::string condition :
       {"subject contains body", "from.address in [sender]", "from.domain in sender.domain"}) {
    SCOPED_TRACE(condition);
    Compilation c = compile("if " + condition + " then allow\n");
    EXPECT_FALSE(c.ok()) << "compiled; the set/pattern holds the field's name as a value";
  }
}

TEST(SemaTypes, AddressHintNamesARealField) {
  Compilation c = compile("if sender is widget.com then allow\n");
  ASSERT_EQ(c.diagnostics.items().size(), 1u);
  EXPECT_EQ(c.diagnostics.items()[0].hint, "to test the domain, use `sender.domain`");
  c = compile("if from.address in [widget.com] then allow\n");
  ASSERT_EQ(c.diagnostics.items().size(), 1u);
  EXPECT_EQ(c.diagnostics.items()[0].hint, "to test the domain, use `from.domain`");
}

TEST(SemaTypes, ConstsAsValues) {
  Compilation c = compile_ok(
      "const limit = 10MB\n"
      "const greeting = \"hello\"\n"
      "const ours = [widget.com, widget.ca]\n"
      "if size > limit and subject contains greeting and from.domain in ours then allow\n");
  ASSERT_TRUE(c.image);
  ASSERT_EQ(c.image->numbers.size(), 1u);
  EXPECT_EQ(c.image->numbers[0], 10.0 * 1024 * 1024);
  ASSERT_EQ(c.image->patterns.size(), 1u);
  EXPECT_EQ(c.image->patterns[0].expression, "hello");
  ASSERT_EQ(c.image->sets.size(), 1u);
  EXPECT_EQ(c.image->sets[0].entries, (std::vector<std::string>{"widget.ca", "widget.com"}));
}

// ---- Defs --------------------------------------------------------------------------

TEST(SemaDefs, DefsAreInlined) {
  Compilation with_def = compile_ok(
      "def o365 = header \"Received\" contains \"outlook.com\" and size > 5\n"
      "if o365 then allow\n");
  Compilation direct = compile_ok("if header \"Received\" contains \"outlook.com\" and size > 5 then allow\n");
  ASSERT_TRUE(with_def.image && direct.image);
  EXPECT_EQ(opcodes(*with_def.image), opcodes(*direct.image));
  ASSERT_EQ(with_def.image->code.size(), direct.image->code.size());
  for (size_t i = 0; i < direct.image->code.size(); ++i) {
    EXPECT_EQ(with_def.image->code[i].a, direct.image->code[i].a) << i;
    EXPECT_EQ(with_def.image->code[i].b, direct.image->code[i].b) << i;
    EXPECT_EQ(with_def.image->code[i].c, direct.image->code[i].c) << i;
  }
  EXPECT_EQ(with_def.image->patterns.size(), 1u);
}

TEST(SemaDefs, DefsComposeAndShareTables) {
  Compilation c = compile_ok(
      "def a = subject contains \"x\"\n"
      "def b = a or body contains \"y\"\n"
      "def c = a and b\n"  // diamond: a is reached twice, not a cycle
      "stage s {\n"
      "  rule one: if c and not a then allow\n"
      "  rule two: if b then allow\n"
      "  rule three: if a and a then allow\n"
      "}\n");
  ASSERT_TRUE(c.image);
  EXPECT_EQ(c.image->patterns.size(), 2u);  // "x" on subject, "y" on body
  EXPECT_EQ(c.image->rules.size(), 3u);
}

TEST(SemaDefs, RecursiveDefIsE051) {
  for (std::string text : {
           "def loop = loop\nif loop then allow\n",
           "def loop = subject contains \"x\" or loop\nif loop then allow\n",
           "def a = b\ndef b = a\nif a then allow\n",
           "def a = size > 1 and b\ndef b = not c\ndef c = any urls (a)\nif c then allow\n",
           "def a = count(urls (a)) > 1\nif a then allow\n",
       }) {
    SCOPED_TRACE(text);
    Compilation c = compile(text);
    EXPECT_FALSE(c.ok());
    auto found = codes(c);
    EXPECT_NE(std::find(found.begin(), found.end(), "E051"), found.end()) << rendered(c);
    EXPECT_TRUE(std::all_of(found.begin(), found.end(), [](const std::string& s) { return s == "E051"; }))
        << rendered(c);
  }
}

TEST(SemaDefs, UnusedDefsAreCheckedToo) {
  Compilation c = compile("def loop = loop\nif size > 1 then allow\n");
  EXPECT_EQ(codes(c), std::vector<std::string>{"E051"}) << rendered(c);
  c = compile("def bad = subjct contains \"x\"\nif size > 1 then allow\n");
  EXPECT_EQ(codes(c), std::vector<std::string>{"E010"}) << rendered(c);
}

TEST(SemaDefs, AnErrorInADefIsReportedOnce) {
  Compilation c = compile("def bad = subjct contains \"x\"\nif bad then allow\nif bad then reject\n");
  EXPECT_EQ(codes(c), std::vector<std::string>{"E010"}) << rendered(c);
}

TEST(SemaDefs, DuplicateDeclarationsAreE041) {
  for (std::string text : {"const a = 1\nconst a = 2\n", "const a = 1\nlist a = [x]\n", "list a = [x]\ndef a = true\n",
                           "def a = true\ndef a = false\n"}) {
    SCOPED_TRACE(text);
    Compilation c = compile(text);
    ASSERT_EQ(codes(c), std::vector<std::string>{"E041"}) << rendered(c);
    const lang::Diagnostic& d = c.diagnostics.items()[0];
    EXPECT_EQ(c.sources.line_col(d.primary.span.file, d.primary.span.begin).line, 2u);
    ASSERT_EQ(d.secondary.size(), 1u);
    EXPECT_EQ(c.sources.line_col(d.secondary[0].span.file, d.secondary[0].span.begin).line, 1u);
  }
}

TEST(SemaRules, DuplicateRuleNamesAreE040OnlyWithinAStage) {
  Compilation c = compile(
      "stage a { rule r: if size > 1 then allow }\n"
      "stage b { rule r: if size > 1 then allow }\n");
  EXPECT_TRUE(c.ok()) << rendered(c);
  c = compile(
      "stage a { rule r: if size > 1 then allow }\n"
      "stage b { rule x: if size > 1 then allow }\n"
      "stage a { rule r: if size > 2 then allow }\n");  // the second block appends to the first
  EXPECT_EQ(codes(c), std::vector<std::string>{"E040"}) << rendered(c);
}

// ---- Lists from files ----------------------------------------------------------------

class SemaListFiles : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mp_sema_test_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "lists");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  Compilation compile_here(const std::string& text) {
    return compile_source((dir_ / "policy.mp").string(), text);
  }
  fs::path dir_;
};

TEST_F(SemaListFiles, CommentsBlanksAndWhitespaceAreSkipped) {
  write("lists/execs.txt",
        "# Executives: real addresses\n"
        "\n"
        "   ceo@Widget.com   \n"
        "\tCFO@widget.com # the CFO\n"
        "coo@widget.com\r\n"
        "   # indented comment\n"
        "   \t  \n"
        "ceo@widget.com\n"
        "last@widget.com");  // no final newline
  Compilation c = compile_here("list execs = file(\"lists/execs.txt\")\nif sender in execs then allow\n");
  ASSERT_TRUE(c.ok()) << rendered(c);
  ASSERT_EQ(c.image->sets.size(), 1u);
  EXPECT_EQ(c.image->sets[0].entries,
            (std::vector<std::string>{"ceo@widget.com", "cfo@widget.com", "coo@widget.com", "last@widget.com"}));
}

TEST_F(SemaListFiles, ListsOfEveryKind) {
  write("lists/domains.txt", "Widget.com\nwidget.ca.\n");
  write("lists/nets.txt", "# our servers\n203.0.113.10\n198.51.100.0/24\n2001:db8::/32\n");
  write("lists/words.txt", "invoice\nwire transfer\n");
  write("lists/empty.txt", "# nothing yet\n\n");
  Compilation c = compile_here(
      "list domains = file(\"lists/domains.txt\")\n"
      "list nets = file(\"lists/nets.txt\")\n"
      "list words = file(\"lists/words.txt\")\n"
      "list empty = file(\"lists/empty.txt\")\n"
      "stage s {\n"
      "  rule d: if from.domain in domains then allow\n"
      "  rule n: if client.ip in nets then allow\n"
      "  rule w: if subject contains words then allow\n"
      "  rule e: if sender in empty then allow\n"
      "}\n");
  ASSERT_TRUE(c.ok()) << rendered(c);
  ASSERT_EQ(c.image->sets.size(), 1u);
  EXPECT_EQ(c.image->sets[0].entries, (std::vector<std::string>{"widget.ca", "widget.com"}));
  ASSERT_EQ(c.image->nets.size(), 1u);
  std::vector<std::string> prefixes;
  for (const auto& p : c.image->nets[0].prefixes) prefixes.push_back(p.str());
  EXPECT_EQ(prefixes, (std::vector<std::string>{"203.0.113.10/32", "198.51.100.0/24", "2001:db8::/32"}));
  ASSERT_EQ(c.image->patterns.size(), 2u);
  EXPECT_EQ(c.image->patterns[0].expression, "invoice");
  EXPECT_EQ(c.image->patterns[1].expression, "wire\\x20transfer");
  // An empty list is never matched: the rule's condition folds to false.
  const vm::RuleInfo& e = c.image->rules[3];
  EXPECT_EQ(e.name, "e");
  EXPECT_EQ(c.image->code[e.code_begin + 1].op, Op::PushFalse);
}

TEST_F(SemaListFiles, ListsCanCombineWithLiterals) {
  write("lists/a.txt", "a@widget.com\n");
  Compilation c = compile_here(
      "list a = file(\"lists/a.txt\")\n"
      "const b = [b@widget.com]\n"
      "if sender in [a, b, c@widget.com] then allow\n");
  ASSERT_TRUE(c.ok()) << rendered(c);
  ASSERT_EQ(c.image->sets.size(), 1u);
  EXPECT_EQ(c.image->sets[0].entries,
            (std::vector<std::string>{"a@widget.com", "b@widget.com", "c@widget.com"}));
}

TEST_F(SemaListFiles, ABadEntryIsSkippedAndLintNamesFileAndLine) {
  // A list file is often maintained elsewhere: a bad line must not stop the build.
  write("lists/nets.txt", "10.0.0.0/8\n\n300.1.2.3\n192.0.2.0/24\n");
  const std::string text = "list nets = file(\"lists/nets.txt\")\nif client.ip in nets then allow\n";
  Compilation c = compile_here(text);
  ASSERT_TRUE(c.ok()) << rendered(c);
  ASSERT_EQ(c.image->nets.size(), 1u);
  std::vector<std::string> prefixes;
  for (const auto& p : c.image->nets[0].prefixes) prefixes.push_back(p.str());
  EXPECT_EQ(prefixes, (std::vector<std::string>{"10.0.0.0/8", "192.0.2.0/24"}));

  Compilation linted = compile_source((dir_ / "policy.mp").string(), text,
                                      CompileOptions{.lint = true, .modules = {}, .databases = true});
  ASSERT_TRUE(linted.ok()) << rendered(linted);
  bool reported = false;
  for (const auto& d : linted.diagnostics.items()) {
    if (d.severity == lang::Severity::Warning && d.message.find("lists/nets.txt:3") != std::string::npos) {
      reported = true;
    }
  }
  EXPECT_TRUE(reported) << rendered(linted);
}

TEST_F(SemaListFiles, PathsAreRelativeToThePolicyFile) {
  write("lists/x.txt", "x@widget.com\n");
  Compilation c = compile_here("list x = file(\"lists/x.txt\")\nif sender in x then allow\n");
  EXPECT_TRUE(c.ok()) << rendered(c);
  c = compile_here("list x = file(\"x.txt\")\nif sender in x then allow\n");
  ASSERT_EQ(codes(c), std::vector<std::string>{"E050"}) << rendered(c);
  c = compile_here("list x = file(\"lists\")\nif sender in x then allow\n");  // a directory
  EXPECT_EQ(codes(c), std::vector<std::string>{"E050"}) << rendered(c);
}

}  // namespace
}  // namespace mp::compiler
