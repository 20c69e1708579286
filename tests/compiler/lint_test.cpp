// Every lint fires on a policy made to trigger it and stays quiet on a near miss;
// the examples lint clean; annotations silence exactly their code.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "compiler/compiler.h"
#include "compiler/lint.h"

namespace mp::compiler {
namespace {

std::vector<std::string> lint_codes_of(const std::string& policy, const std::string& path = "lint.mp") {
  Compilation c = compile_source(path, policy, {.lint = true, .modules = {}, .databases = true});
  std::vector<std::string> codes;
  for (const auto& d : c.diagnostics.items()) {
    codes.push_back(d.code);
    if (d.severity == lang::Severity::Error) ADD_FAILURE() << "unexpected error " << d.code << ": " << d.message;
  }
  return codes;
}

bool has(const std::vector<std::string>& codes, const std::string& code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

struct LintCase {
  std::string code;
  std::string fires;
  std::string quiet;
};

const std::string kSettings = "settings { org.domains = [widget.com] }\n";

std::vector<LintCase> cases() {
  return {
      {"L001",
       "rule a: if sender is x@a.com then reject\nrule b: if sender is x@a.com and subject contains \"y\" "
       "then allow\n",
       "rule a: if sender is x@a.com and subject contains \"y\" then reject\nrule b: if sender is x@a.com "
       "then allow\n"},
      {"L001",
       "rule a: if sender in [x@a.com, y@a.com] then reject\nrule b: if sender is x@a.com then tag \"t\"\n",
       "rule a: if sender in [x@a.com, y@a.com] then tag \"s\"\nrule b: if sender is x@a.com then tag "
       "\"t\"\n"},
      {"L001", "rule a: if size > 10MB then reject\nrule b: if size > 20MB then tag \"big\"\n",
       "rule a: if size > 20MB then reject\nrule b: if size > 10MB then tag \"big\"\n"},
      {"L001",
       "rule a: if subject contains \"x\" then reject\nrule b (inbound): if subject contains \"x\" then tag "
       "\"t\"\n",
       "rule a (inbound): if subject contains \"x\" then reject\nrule b (outbound): if subject contains "
       "\"x\" then tag \"t\"\n"},
      {"L002", "rule c: if size > 10MB and size < 1MB then tag \"x\"\n",
       "rule c: if size > 1MB and size < 10MB then tag \"x\"\n"},
      {"L002", "rule d: if from.domain is a.com and from.domain is b.com then tag \"x\"\n",
       "rule d: if from.domain is a.com or from.domain is b.com then tag \"x\"\n"},
      {"L002", "rule d: if subject contains \"a\" and not subject contains \"a\" then tag \"x\"\n",
       "rule d: if subject contains \"a\" and not subject contains \"b\" then tag \"x\"\n"},
      {"L003", "rule i: if sender is a@b.com then tag \"q\"\nrule j: if sender is a@b.com then tag \"q\"\n",
       "rule i: if sender is a@b.com then tag \"q\"\nrule j (outbound): if sender is a@b.com then tag "
       "\"q\"\n"},
      {"L004", "list l = [a@b.com, c@d.com, a@b.com]\nrule r: if sender in l then tag \"t\"\n",
       "list l = [a@b.com, c@d.com]\nrule r: if sender in l then tag \"t\"\n"},
      {"L012", "stage anti_spofing {\n  rule a: if subject contains \"x\" then tag \"t\"\n}\n",
       "stage anti_spoofing {\n  rule a: if subject contains \"x\" then tag \"t\"\n}\nstage my_checks {\n"
       "  rule b: if subject contains \"y\" then tag \"u\"\n}\n"},
      {"L003",
       "rule a (user a@widget.com): if subject contains \"x\" then tag \"a\"\n"
       "rule b (user a@widget.com): if subject contains \"x\" then tag \"b\"\n",
       "rule a (user a@widget.com): if subject contains \"x\" then tag \"a\"\n"
       "rule b (user b@widget.com): if subject contains \"x\" then tag \"b\"\n"},
      {"L001",
       "rule g (user a@widget.com): if subject contains \"w\" then reject\nrule h (user a@widget.com): "
       "if subject contains \"w\" and size > 1K then quarantine \"h\"\n",
       "rule g (user a@widget.com): if subject contains \"w\" then reject\nrule h: if subject contains \"w\" "
       "and "
       "size > 1K then quarantine \"h\"\n"},
      {"L014", "rule promo (until 2020-06-30): if subject contains \"promo\" then tag \"p\"\n",
       "rule promo (until 2099-12-31): if subject contains \"promo\" then tag \"p\"\n"},
      {"L013", "rule f: if country(client.effective_ip) not in [US, CA] then tag \"foreign\"\n",
       "rule f: if country(client.effective_ip) in [RU, KP] then tag \"risky\"\n"},
      {"L013", "rule f: if not dnsbl(\"zen.example\") and spf is pass then tag \"clean\"\n",
       "rule f: if dnsbl(\"zen.example\") or spf is fail then tag \"dirty\"\n"},
      {"L013", "rule f: if not (spf in [pass, neutral]) then tag \"x\"\n",
       "rule f: if not (subject contains \"y\") and not (not (spf in [pass, neutral])) then tag \"x\"\n"},
      // Fields with several values per message: two `is` tests can both hold.
      {"L002", "rule d: if from.domain is a.com and from.domain is b.com then tag \"x\"\n",
       "rule d: if mime_header(\"Content-Type\") is \"multipart/mixed\" and mime_header(\"Content-Type\") is "
       "\"text/plain\" then tag \"x\"\nrule e: if message.defects is broken_boundary and message.defects is "
       "truncated_message then tag \"y\"\n"},
      // The header views written as calls are no facts.
      {"L013", "rule f: if not (spf in [pass, neutral]) then tag \"x\"\n",
       "rule f: if not raw_header(\"X-Mailer\") contains \"bulk\" then tag \"x\"\nrule g: if not "
       "mime_header(\"Content-Type\") contains \"zip\" then tag \"y\"\nrule h: if not "
       "header_number(\"X-Score\") > 5 then tag \"z\"\n"},
      {"L005", "rule g: if raw_header(\"X-Mailer\") contains \"Foo\" then allow\n",
       "rule g: if raw_header(\"X-Mailer\") contains \"Foo\" and client.ip in [192.0.2.0/24] then allow\n"},
      {"L005", "rule g: if mime_header(\"Content-Type\") contains \"Foo\" then allow\n",
       "rule g: if mime_header(\"Content-Type\") contains \"Foo\" and client.ip in [192.0.2.0/24] then "
       "allow\n"},
      {"L005", "rule g: if header \"X-Mailer\" contains \"Foo\" then allow\n",
       "rule g: if header \"X-Mailer\" contains \"Foo\" and client.ip in [192.0.2.0/24] then allow\n"},
      {"L005", "rule g: if sender is news@partner.example then allow\n",
       "rule g (outbound): if sender is news@partner.example then allow\n"},
      {"L005", "rule g: if from.domain is partner.example and helo is mail.partner.example then allow\n",
       "rule g: if from.domain is partner.example and client.effective_ip in [192.0.2.0/24] then allow\n"},
      {"L005", "rule g: if from.domain is partner.example or client.ip in [192.0.2.1] then allow\n",
       "rule g: if (from.domain is partner.example or sender is a@partner.example) and client.ip in "
       "[192.0.2.1] "
       "then allow\n"},
      {"L004", "const c = [a.example, b.example, a.example]\nrule r: if from.domain in c then tag \"t\"\n",
       "const c = [a.example, b.example]\nrule r: if from.domain in c then tag \"t\"\n"},
      {"L006", kSettings + "rule e: if from.domain is widget.com then allow\n",
       kSettings + "rule e: if from.domain is widget.com and header \"Received\" contains \"mx.widget.com\" "
                   "then allow\n"},
      {"L007", "rule f: if from.domain is gmail.com then allow\n",
       "rule f: if from.address is someone@gmail.com and client.ip in [192.0.2.1] then allow\n"},
      {"L008", "rule h: if body matches /.*foo/ then tag \"z\"\n",
       "rule h: if body matches /foo.*bar/ then tag \"z\"\n"},
      {"L008", "rule h: if body matches /a{2000}/ then tag \"z\"\n",
       "rule h: if body matches /a{20}/ then tag \"z\"\n"},
      {"L008", "rule l: if rawbody contains \"abcd\" then tag \"x\"\n",
       "rule l: if rawbody contains \"Content-Disposition: attachment\" then tag \"x\"\n"},
      // PCRE2 on every value (no prefilter), and a prefilter that accepts every value;
      // a look-ahead with text beside it is prefiltered well.
      {"L008", "rule p: if body matches /[a-z]+\\n^[a-z]/m then tag \"x\"\n",
       "rule p: if body matches /invoice(?! paid)/ then tag \"x\"\n"},
      {"L008", "rule q: if body matches /(?=.*urgent)(?=.*bill)/ then tag \"x\"\n",
       "rule q: if body matches /urgent(?=.*bill)/ then tag \"x\"\n"},
      // A Unicode class in byte mode never sees a Cyrillic letter; (*UTF) makes it.
      {"L008", "rule u: if subject matches /\\p{Cyrillic}/ then tag \"x\"\n",
       "rule u: if subject matches /(*UTF)\\p{Cyrillic}/ then tag \"x\"\n"},
      {"L009", "rule k: if header \"From\" contains \"CEO@Widget.com\" then tag \"x\"\n",
       "rule k: if header \"From\" contains \"CEO@Widget.com\" nocase then tag \"x\"\n"},
      {"L010", "const unused = [a.com]\nrule r: if subject contains \"x\" then tag \"t\"\n",
       "const used = [a.com]\nrule r: if from.domain in used then tag \"t\"\n"},
      {"L010", "def unused = subject contains \"x\"\nrule r: if size > 1MB then tag \"t\"\n",
       "def used = subject contains \"x\"\nrule r: if used then tag \"t\"\n"},
      // A name one or two letters off a common field's, in a rule, a def or deeper;
      // common names in any case and names of one's own are quiet.
      {"L015", "rule h: if header \"Form\" contains \"ceo\" then tag \"x\"\n",
       "rule h: if header \"from\" contains \"ceo\" or header \"X-Widget-Route\" is \"a\" then tag \"x\"\n"},
      {"L015", "def d = header \"Reply-Too\" contains \"@\"\nrule h: if d then tag \"x\"\n",
       "def d = header \"REPLY-TO\" contains \"@\"\nrule h: if d then tag \"x\"\n"},
      {"L015", "rule h: if size > 1MB and not (header \"Recieved\" contains \"mx.example\") then tag \"x\"\n",
       "rule h: if size > 1MB and not (header \"Received\" contains \"mx.example\") then tag \"x\"\n"},
      {"L015",
       "assert never allow when header \"Sbject\" contains \"x\"\nrule h: if size > 1MB then tag \"x\"\n",
       "assert never allow when header \"Subject\" contains \"x\"\nrule h: if size > 1MB then tag \"x\"\n"},
      {"L015", "rule p: if header \"ToCc\" contains \"undisclosed\" then tag \"x\"\n",
       "rule p: if header \"To\" contains \"undisclosed\" then tag \"x\"\n"},
      {"L015", "rule p: if header \"X-Spam-Relays-Untrusted\" contains \"rdns= \" then tag \"x\"\n",
       "rule p: if relays(\"untrusted\") contains \"rdns= \" then tag \"x\"\n"},
      {"L022", "rule s: if any attachment (attachments.size > 10) then tag \"x\"\n",
       "rule s: if any attachment (attachments.size > 10MB) or size < 512B or size > 2048 then tag \"x\"\n"},
      {"L017", "rule e: if subject matches /viagra|cialis|/i then tag \"x\"\n",
       "rule e: if subject matches /viagra|cialis/i or subject matches /^$/ then tag \"x\"\n"},
      {"L017", "rule e: if subject matches /(viagra||cialis)/ or body matches /$$$/ then tag \"x\"\n",
       "rule e: if subject matches /(viagra|cialis)?!/ then tag \"x\"\n"},
      {"L018", "rule b: if subject matches /^[SPAM]/ then tag \"x\"\n",
       "rule b: if subject matches /^\\[SPAM\\]/ or subject matches /[aeiou]{3}|[0-9]+|[ABC]x/ then tag "
       "\"x\"\n"},
      // Bounds every value satisfies, and an `or` of two `is not` one value cannot escape.
      {"L019", "rule z: if size >= 0 and subject contains \"x\" then tag \"x\"\n",
       "rule z: if size >= 1 and subject contains \"x\" then tag \"x\"\n"},
      {"L019", "rule z: if rate(sender, 1h) >= 1 or count(to) != -1 then tag \"x\"\n",
       "rule z: if rate(sender, 1h) >= 2 or count(to) != 1 then tag \"x\"\n"},
      {"L019", "rule z: if bayes <= 1 then tag \"x\"\n",
       "rule z: if bayes <= 0.5 or any attachment (attachments.size >= 0) then tag \"x\"\n"},
      {"L019", "rule o: if from.domain is not a.com or from.domain is not b.com then reject\n",
       "rule o: if from.domain is not a.com and from.domain is not b.com then reject\n"},
      {"L019", "rule o: if spf is not pass or not spf is fail then tag \"x\"\n",
       "rule o: if spf is not pass or dkim is not pass then tag \"x\"\n"},
      // Glob stars, regex anchors and regex inside text values; a doubled star is text.
      {"L020", "rule g: if subject contains \"*viagra*\" then tag \"x\"\n",
       "rule g: if subject contains \"viagra\" or subject contains \"***SPAM***\" then tag \"x\"\n"},
      {"L020", "rule g: if any attachment (attachments.name in [\"*.exe\", x.pdf]) then reject\n",
       "rule g: if any attachment (attachments.name ends with \".exe\") then reject\n"},
      {"L020", "rule g: if subject starts with \"^Re:\" then tag \"x\"\n",
       "rule g: if subject starts with \"Re:\" or subject contains \"$5\" then tag \"x\"\n"},
      {"L020", "rule g: if body contains \"free.*money\" then tag \"x\"\n",
       "rule g: if body matches /free.*money/ or body contains \"free money...\" then tag \"x\"\n"},
      // `all` over attachments is true without any; a count or an `any` test says there is one.
      {"L021", "rule v: if all attachments (attachments.extension in [pdf]) then allow\n",
       "rule v: if all attachments (attachments.extension in [pdf]) and count(attachments) >= 1 then allow\n"
       "rule w: if all attachments (attachments.extension in [pdf]) and attachments.size > 1KB then allow\n"
       "rule x: if all recipients (recipients.domain in [widget.com]) then tag \"internal\"\n"},
      {"L008", "rule c: if body matches /[а-я]{4}/ then tag \"x\"\n",
       "rule c: if body matches /(*UTF)[а-я]{4}/ or body matches /[a-z]{4}/ then tag \"x\"\n"},
      // A domain as a suffix without its dot or @, of an address or a domain field;
      // with them, a `*.` wildcard, or a suffix that is no domain, it is quiet.
      {"L016", "rule s: if sender ends with \"corp.example\" then tag \"x\"\n",
       "rule s: if sender ends with \"@corp.example\" or sender.domain ends with \".corp.example\" then tag "
       "\"x\"\n"},
      {"L016", "rule s: if from.domain ends with [\"paypal.com\", \".paypal.de\"] then tag \"x\"\n",
       "rule s: if from.domain in [paypal.com, \"*.paypal.com\"] or from.local ends with \"paypal.com\" or "
       "urls.domain ends with \".top\" or sender ends with \"-bounces\" then tag \"x\"\n"},
  };
}

class LintFires : public testing::TestWithParam<size_t> {};

TEST_P(LintFires, FiresAndStaysQuiet) {
  const LintCase c = cases()[GetParam()];
  std::string stage_open = "stage custom_filters {\n";
  auto wrap = [&](const std::string& body) {
    // Declarations (const/list/def/settings) stay at top level; rules go in a stage.
    std::string decls, rules;
    size_t start = 0;
    while (start < body.size()) {
      size_t end = body.find('\n', start);
      std::string line = body.substr(start, end - start + 1);
      (line.starts_with("rule") ? rules : decls) += line;
      start = end + 1;
    }
    return decls + stage_open + rules + "}\n";
  };
  EXPECT_TRUE(has(lint_codes_of(wrap(c.fires)), c.code)) << c.code << " should fire on:\n" << c.fires;
  EXPECT_FALSE(has(lint_codes_of(wrap(c.quiet)), c.code)) << c.code << " should stay quiet on:\n" << c.quiet;
}

INSTANTIATE_TEST_SUITE_P(Lints, LintFires, testing::Range<size_t>(0, cases().size()),
                         [](const auto& info) { return cases()[info.param].code + "_" + std::to_string(info.param); });

TEST(Lint, OddListFileEntryIsSkippedWithL011) {
  auto dir = std::filesystem::temp_directory_path() / "mp_lint_l011";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "senders.txt") << "a@b.com\nnot-an-address\nc@d.com\n";
  std::string policy = "list senders = file(\"senders.txt\")\nif sender in senders then tag \"t\"\n";
  Compilation c =
      compile_source((dir / "p.mp").string(), policy, {.lint = true, .modules = {}, .databases = true});
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c.diagnostics.items().size(), 1u);
  EXPECT_EQ(c.diagnostics.items()[0].code, "L011");
  EXPECT_NE(c.diagnostics.items()[0].message.find("senders.txt:2"), std::string::npos);
  // Some lines of several: counted, in the plural.
  std::ofstream(dir / "senders.txt") << "a@b.com\nnot-an-address\nnor-this\nc@d.com\n";
  Compilation two =
      compile_source((dir / "p.mp").string(), policy, {.lint = true, .modules = {}, .databases = true});
  ASSERT_EQ(two.diagnostics.items().size(), 1u);
  EXPECT_TRUE(two.diagnostics.items()[0].message.starts_with("2 lines of senders.txt are skipped: "))
      << two.diagnostics.items()[0].message;
  std::ofstream(dir / "senders.txt") << "a@b.com\nnot-an-address\nc@d.com\n";
  // Without lint, compiling is silent and the good entries still work.
  EXPECT_TRUE(compile_source((dir / "p.mp").string(), policy).diagnostics.items().empty());
}

// Issue 9: a list file whose every line is the wrong kind for the field says so once,
// a domain field does not take addresses, and a BOM does not hide the first entry.
std::string rendered(const Compilation& c) {
  std::string out;
  for (const auto& d : c.diagnostics.items()) out += lang::render_text(d, c.sources) + "\n";
  return out;
}

std::filesystem::path list_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(Lint, ListFileOfTheWrongKindIsReportedOnce) {
  auto dir = list_dir("mp_lint_l011_once");
  std::ofstream domains(dir / "many-domains.txt");
  for (int i = 0; i < 5000; ++i) domains << "d" << i << ".example\n";
  domains.close();
  std::string policy = "list many = file(\"many-domains.txt\")\nif sender in many then tag \"t\"\n";
  Compilation c =
      compile_source((dir / "p.mp").string(), policy, {.lint = true, .modules = {}, .databases = true});
  // One L011 for the 5,000 lines, and L002: the rule can never fire.
  ASSERT_EQ(c.diagnostics.items().size(), 2u) << rendered(c);
  const auto& d = c.diagnostics.items()[0];
  EXPECT_EQ(d.code, "L011");
  EXPECT_EQ(c.diagnostics.items()[1].code, "L002");
  EXPECT_NE(d.message.find("every line of many-domains.txt"), std::string::npos) << d.message;
  EXPECT_NE(lang::render_text(d, c.sources).find("sender.domain"), std::string::npos);
}

TEST(Lint, AddressesInADomainListAreSkippedNotSilent) {
  auto dir = list_dir("mp_lint_l011_domain");
  std::ofstream(dir / "execs.txt") << "ceo@widget.com\ncfo@widget.com\n";
  std::string policy = "list execs = file(\"execs.txt\")\nif from.domain in execs then tag \"t\"\n";
  Compilation c =
      compile_source((dir / "p.mp").string(), policy, {.lint = true, .modules = {}, .databases = true});
  ASSERT_EQ(c.diagnostics.items().size(), 2u) << rendered(c);
  EXPECT_EQ(c.diagnostics.items()[0].code, "L011");
  EXPECT_EQ(c.diagnostics.items()[1].code, "L002");
  // Written in the policy itself, the same entries are an error.
  Compilation inline_list = compile_source("p.mp", "if from.domain in [ceo@widget.com] then tag \"t\"\n");
  ASSERT_EQ(inline_list.diagnostics.items().size(), 1u);
  EXPECT_EQ(inline_list.diagnostics.items()[0].code, "E021");
}

TEST(Lint, ByteOrderMarkIsNotPartOfTheFirstEntry) {
  auto dir = list_dir("mp_lint_bom");
  std::ofstream(dir / "promo.txt") << "\xEF\xBB\xBFpromo@example.com\nnews@example.com\n";
  Compilation c = compile_source((dir / "p.mp").string(),
                                 "list promo = file(\"promo.txt\")\nif sender in promo then tag \"t\"\n",
                                 {.lint = true, .modules = {}, .databases = true});
  EXPECT_TRUE(c.diagnostics.items().empty()) << rendered(c);
  ASSERT_TRUE(c.image);
  ASSERT_FALSE(c.image->sets.empty());
  EXPECT_EQ(c.image->sets[0].entries.front(), "news@example.com");
  EXPECT_EQ(c.image->sets[0].entries.back(), "promo@example.com");
}

TEST(Lint, AnnotationSilencesOnlyItsCode) {
  std::string policy =
      "stage custom_filters {\n"
      "  # the vendor's rule, kept as written\n"
      "  # lint: allow(L005)\n"
      "  rule g: if header \"X-Mailer\" contains \"Foo\" then allow\n"
      "  rule h: if header \"X-Other\" contains \"Foo\" then allow  # lint: allow(L001)\n"
      "}\n";
  auto codes = lint_codes_of(policy);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), "L005"), 1) << "only rule h should warn";
}

TEST(Lint, AnnotationInsideAStringDoesNotSilence) {
  auto codes = lint_codes_of(
      "stage s {\n  rule g: if subject contains \"# lint: allow(L005)\" and from.domain is x.example then allow\n}\n");
  EXPECT_TRUE(has(codes, "L005"));
}

TEST(Lint, AnnotationAboveARuleCoversTestsOnLaterLines) {
  auto codes = lint_codes_of(
      "stage s {\n  # lint: allow(L002)\n  rule r:\n    if size > 10MB and size < 1MB\n    then tag \"x\"\n}\n");
  EXPECT_FALSE(has(codes, "L002"));
}

TEST(Lint, ExamplesLintClean) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(MP_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".mp") continue;
    Compilation c = compile_file(entry.path().string(), {.lint = true, .modules = {}, .databases = true});
    EXPECT_TRUE(c.ok()) << entry.path();
    for (const auto& d : c.diagnostics.items()) ADD_FAILURE() << entry.path() << ": " << d.code << " " << d.message;
  }
}

TEST(Lint, EveryCodeHasTitleAndExplanation) {
  for (auto code : lint_codes()) {
    EXPECT_FALSE(lint_title(code).empty()) << code;
    EXPECT_FALSE(lint_explanation(code).empty()) << code;
  }
}

}  // namespace
}  // namespace mp::compiler
