// Tests for compiler/ semantic analysis, name resolution and declarations (see also
// sema_types_test.cpp and sema_patterns_test.cpp): every catalogue field and alias
// resolves to its field, member names inside quantifiers are bound to the item,
// unknown fields, names and functions are reported with "did you mean" hints, and
// what settings, stages, rules and actions compile to — settings values and their
// checks, the rule table in pipeline order, action order and action checks.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/compiler.h"
#include "lang/diagnostics.h"
#include "tests/compiler/sema_test_util.h"
#include "vm/vm.h"

namespace mp::compiler {
namespace {

using namespace sema_test;
using vm::FieldId;
using vm::Op;

std::string field_name(FieldId f) {
  return std::string(vm::field_info(f).name);
}

// The instruction that tests `field` (Match/InSet/InNet/LoadField), if any.
std::optional<vm::Instruction> test_of(const vm::ImageData& im, FieldId field) {
  for (const auto& ins : im.code) {
    bool test = ins.op == Op::Match || ins.op == Op::InSet || ins.op == Op::InNet || ins.op == Op::LoadField;
    if (test && ins.b == static_cast<uint32_t>(field)) return ins;
  }
  return std::nullopt;
}

// A condition on `path` that suits a field of `kind`.
// A test of `field` written through `path` (its name, or an alias of it).
std::string condition_for(FieldId field, std::string path = "") {
  if (path.empty()) path = vm::field_info(field).name;
  switch (vm::field_info(field).kind) {
    case vm::ValueKind::Text: {
      // A closed-vocabulary field takes only its own values (E023 otherwise).
      const auto& vocabulary = vm::field_vocabulary(field);
      return path + " contains \"" + (vocabulary.empty() ? "x" : std::string(vocabulary.front())) + "\"";
    }
    case vm::ValueKind::Address:
      return path + " is a@b.example";
    case vm::ValueKind::Domain:
      return path + " is b.example";
    case vm::ValueKind::Ip:
      return path + " in [10.0.0.0/8]";
    case vm::ValueKind::Number: return path + " >= 1";  // in every number field's range (bayes: 0 to 1)
  }
  return "";
}

// ---- Name resolution --------------------------------------------------------------

TEST(SemaFields, EveryCatalogueFieldResolves) {
  for (size_t i = 0; i < vm::kFieldCount; ++i) {
    auto field = static_cast<FieldId>(i);
    if (vm::takes_argument(field) || field == FieldId::HeaderLine) continue;  // special syntax: FactCalls
    const auto& info = vm::field_info(field);
    std::string text = "if " + condition_for(field) + " then allow\n";
    SCOPED_TRACE(text);
    Compilation c = compile_ok(text);
    if (!c.image) continue;
    auto ins = test_of(*c.image, field);
    ASSERT_TRUE(ins.has_value()) << "no instruction tests " << info.name;
    if (ins->op == Op::Match) {
      EXPECT_EQ(c.image->patterns[ins->c].field, field);
    }
  }
}

TEST(SemaFields, FactCalls) {
  Compilation c = compile_ok(
      "if dnsbl(\"ZEN.example\") then allow\nif dnswl(\"wl.example\") in [127.0.0.0/8] then allow\n");
  ASSERT_TRUE(c.image);
  ASSERT_EQ(c.image->nets.size(), 2u);
  EXPECT_EQ(c.image->nets[0].argument, "zen.example");
  EXPECT_EQ(c.image->nets[1].argument, "wl.example");
  ASSERT_TRUE(test_of(*c.image, FieldId::Dnsbl));

  c = compile_ok(
      "if mx(sender.domain) is \"none\" then allow\nif country(client.effective_ip) in [RU, KP] then "
      "allow\n");
  ASSERT_TRUE(c.image);
  ASSERT_EQ(c.image->sets.size(), 2u);
  EXPECT_EQ(c.image->sets[0].header_filter, "sender.domain");
  EXPECT_EQ(c.image->sets[1].header_filter, "client.effective_ip");

  // The same prefixes for two zones are two nets.
  c = compile_ok(
      "if dnsbl(\"a.example\") in [127.0.0.2] or dnsbl(\"b.example\") in [127.0.0.2] then allow\n");
  ASSERT_TRUE(c.image);
  EXPECT_EQ(c.image->nets.size(), 2u);
}

TEST(SemaFields, FactCallErrors) {
  EXPECT_EQ(codes(compile("if dnsbl(zen.example) then allow\n")), std::vector<std::string>{"E015"});
  EXPECT_EQ(codes(compile("if dnsbl(\"a.example\", \"b.example\") then allow\n")),
            std::vector<std::string>{"E015"});
  EXPECT_EQ(codes(compile("if dnsbl(\"not a zone\") then allow\n")), std::vector<std::string>{"E015"});
  EXPECT_EQ(codes(compile("if mx(subject) is \"none\" then allow\n")), std::vector<std::string>{"E015"});
  EXPECT_EQ(codes(compile("if mx(spf) is \"none\" then allow\n")), std::vector<std::string>{"E015"});
  EXPECT_EQ(codes(compile("if country(\"US\") is \"US\" then allow\n")), std::vector<std::string>{"E015"});
  EXPECT_EQ(codes(compile("if mx(helo) then allow\n")), std::vector<std::string>{"E020"});
  EXPECT_EQ(codes(compile("if whois(helo) then allow\n")), std::vector<std::string>{"E011"});
}

TEST(SemaFields, HeaderFields) {
  Compilation c = compile_ok("if header \"X-Spam-Flag\" contains \"YES\" then allow\n");
  ASSERT_TRUE(c.image);
  ASSERT_TRUE(test_of(*c.image, FieldId::HeaderValue));
  ASSERT_EQ(c.image->patterns.size(), 1u);
  EXPECT_EQ(c.image->patterns[0].header_filter, "x-spam-flag");

  c = compile_ok("if header contains \"YES\" then allow\n");
  ASSERT_TRUE(c.image);
  ASSERT_TRUE(test_of(*c.image, FieldId::HeaderLine));
  EXPECT_EQ(c.image->patterns[0].header_filter, "");

  c = compile_ok("if header \"Subject\" is \"hi\" then allow\n");
  ASSERT_TRUE(c.image);
  ASSERT_TRUE(test_of(*c.image, FieldId::HeaderValue));
  ASSERT_EQ(c.image->sets.size(), 1u);
  EXPECT_EQ(c.image->sets[0].header_filter, "subject");
}

TEST(SemaFields, AliasesResolve) {
  const std::map<std::string, FieldId> aliases = {
      {"from", FieldId::FromAddress},
      {"to", FieldId::ToAddress},
      {"cc", FieldId::CcAddress},
      {"reply_to", FieldId::ReplyToAddress},
      {"sender.address", FieldId::Sender},
      {"recipient", FieldId::Recipient},
      {"recipient.address", FieldId::Recipient},
      {"recipients.address", FieldId::Recipient},
      {"recipient.domain", FieldId::RecipientDomain},
      {"url", FieldId::Url},
      {"url.domain", FieldId::UrlDomain},
      {"attachment.name", FieldId::AttachmentName},
      {"attachment.extension", FieldId::AttachmentExtension},
      {"attachment.content_type", FieldId::AttachmentType},
      {"attachment.size", FieldId::AttachmentSize},
  };
  for (const auto& [alias, field] : aliases) {
    std::string text = "if " + condition_for(field, alias) + " then allow\n";
    SCOPED_TRACE(text);
    Compilation c = compile_ok(text);
    if (c.image) {
      EXPECT_TRUE(test_of(*c.image, field)) << alias << " should be " << field_name(field);
    }
  }
  Compilation c = compile_ok("if received contains \"outlook.com\" then allow\n");
  ASSERT_TRUE(c.image);
  ASSERT_TRUE(test_of(*c.image, FieldId::HeaderValue));
  EXPECT_EQ(c.image->patterns[0].header_filter, "received");
}

TEST(SemaFields, MemberNamesInsideQuantifiersAreBound) {
  struct Case {
    std::string text;
    FieldId field;
  };
  const std::vector<Case> cases = {
      {"any attachment (name ends with \".pdf\")", FieldId::AttachmentName},
      {"all attachments (extension in [pdf, txt])", FieldId::AttachmentExtension},
      {"any attachment (content_type starts with \"text/\")", FieldId::AttachmentType},
      {"any attachments (size > 1MB)", FieldId::AttachmentSize},
      {"any url (domain is evil.top)", FieldId::UrlDomain},
      {"any recipient (domain is widget.com)", FieldId::RecipientDomain},
      {"any from (display_name contains \"CEO\")", FieldId::FromDisplayName},
      {"any to (local contains \"x\")", FieldId::ToLocal},
      {"any cc (address is a@b.example)", FieldId::CcAddress},
      {"any reply_to (domain is b.example)", FieldId::ReplyToDomain},
      {"any recipients (recipients is a@b.example)", FieldId::Recipient},
      {"count(attachments (size > 1MB)) > 1", FieldId::AttachmentSize},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.text);
    Compilation c = compile_ok("if " + tc.text + " then allow\n");
    if (!c.image) continue;
    auto ins = test_of(*c.image, tc.field);
    ASSERT_TRUE(ins.has_value()) << "expected a test of " << field_name(tc.field);
    // Either a loop binds the item and the test looks at it, or (an `any` over tests
    // of the item alone) the loop is dropped and the test looks at every item.
    bool looped = !ops(*c.image, Op::LoopBegin).empty();
    EXPECT_EQ(ins->a, looped ? 1 : 0);
    if (tc.text.starts_with("all") || tc.text.starts_with("count") || tc.field == FieldId::AttachmentSize) {
      EXPECT_TRUE(looped);
    }
  }
  // Outside a quantifier `size` is the message size, not an attachment's.
  Compilation c = compile_ok("if size > 1MB then allow\n");
  ASSERT_TRUE(c.image);
  EXPECT_TRUE(test_of(*c.image, FieldId::Size));
  EXPECT_TRUE(ops(*c.image, Op::LoopBegin).empty());
}

TEST(SemaFields, UnboundCollectionFieldsTestAnyItem) {
  Compilation c = compile_ok("if attachments.extension in [exe] then reject\n");
  ASSERT_TRUE(c.image);
  auto ins = test_of(*c.image, FieldId::AttachmentExtension);
  ASSERT_TRUE(ins);
  EXPECT_EQ(ins->a, 0);
  // A numeric test on a multi-valued field becomes `any` over its collection.
  c = compile_ok("if attachments.size > 10MB then reject\n");
  ASSERT_TRUE(c.image);
  auto loops = ops(*c.image, Op::LoopBegin);
  ASSERT_EQ(loops.size(), 1u);
  EXPECT_EQ(loops[0].a, static_cast<uint8_t>(vm::LoopKind::Any));
  EXPECT_EQ(loops[0].b, static_cast<uint32_t>(vm::Collection::Attachments));
  EXPECT_EQ(test_of(*c.image, FieldId::AttachmentSize)->a, 1);
}

TEST(SemaFields, UnknownFieldIsE010WithDidYouMean) {
  struct Case {
    std::string condition;
    std::string hint;
  };
  const std::vector<Case> cases = {
      {"subjct contains \"x\"", "did you mean `subject`?"},
      {"from.domian is widget.com", "did you mean `from.domain`?"},
      {"attachments.extention in [exe]", "did you mean `attachments.extension`?"},
      {"recipent is a@b.example", "did you mean `recipient`?"},
      {"client.iq in [10.0.0.0/8]", "did you mean `client.ip`?"},
      {"x_originating_ip is 10.0.0.1", "see docs/language.md for the list of fields"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.condition);
    Compilation c = compile("if " + tc.condition + " then allow\n");
    ASSERT_EQ(c.diagnostics.items().size(), 1u) << rendered(c);
    const lang::Diagnostic& d = c.diagnostics.items()[0];
    EXPECT_EQ(d.code, "E010");
    EXPECT_EQ(d.hint, tc.hint);
    EXPECT_EQ(c.sources.slice(d.primary.span), tc.condition.substr(0, tc.condition.find(' ')));
    EXPECT_FALSE(c.image.has_value());
  }
}

TEST(SemaFields, UnknownNamesAndFunctions) {
  Compilation c = compile("def from_office365 = size > 1\nif from_office356 then allow\n");
  ASSERT_EQ(codes(c), std::vector<std::string>{"E012"}) << rendered(c);
  EXPECT_EQ(c.diagnostics.items()[0].hint, "did you mean `from_office365`?");
  c = compile("if spf_pass(sender) then allow\n");
  EXPECT_EQ(codes(c), std::vector<std::string>{"E011"}) << rendered(c);
  c = compile("if from.domain in partners then allow\n");
  EXPECT_EQ(codes(c), std::vector<std::string>{"E012"}) << rendered(c);
  c = compile("if any sender (domain is x.example) then allow\n");
  EXPECT_EQ(codes(c), std::vector<std::string>{"E060"}) << rendered(c);
  c = compile("if count(subject) > 1 then allow\n");
  EXPECT_EQ(codes(c), std::vector<std::string>{"E060"}) << rendered(c);
  c = compile("import nosuch\n");
  EXPECT_EQ(codes(c), std::vector<std::string>{"E014"}) << rendered(c);
}

TEST(SemaFields, EveryCollectionNamedInTheE060ExplanationIsACollection) {
  std::string_view explanation = lang::error_explanation("E060");
  size_t named = 0;
  for (std::string name :
       {"attachments", "urls", "recipients", "from", "to", "cc", "reply_to", "received", "headers"}) {
    if (explanation.find(name) == std::string_view::npos) continue;
    ++named;
    SCOPED_TRACE(name);
    Compilation c = compile("if count(" + name + ") > 1 then allow\n");
    EXPECT_TRUE(c.ok()) << rendered(c);
  }
  EXPECT_GE(named, 7u);
}

// ---- Settings, rules, actions ---------------------------------------------------------

TEST(SemaSettings, DefaultsAndValues) {
  Compilation c = compile_ok("");
  ASSERT_TRUE(c.image);
  EXPECT_EQ(c.image->settings.quarantine_threshold, 5.0);
  EXPECT_EQ(c.image->settings.reject_threshold, 15.0);
  EXPECT_TRUE(c.image->settings.org_domains.empty());
  EXPECT_TRUE(c.image->settings.sending_servers.empty());

  c = compile_ok(
      "settings {\n"
      "  org.domains = [Widget.COM, \"bücher.example\", \"widget.ca.\"]\n"
      "  org.sending_servers = [203.0.113.10, 198.51.100.0/24, 2001:db8::/48]\n"
      "  spam.threshold.quarantine = 3.5\n"
      "  spam.threshold.reject = 9\n"
      "}\n");
  ASSERT_TRUE(c.image);
  const auto& s = c.image->settings;
  EXPECT_EQ(s.org_domains, (std::vector<std::string>{"widget.com", "xn--bcher-kva.example", "widget.ca"}));
  std::vector<std::string> servers;
  for (const auto& p : s.sending_servers) servers.push_back(p.str());
  EXPECT_EQ(servers, (std::vector<std::string>{"203.0.113.10/32", "198.51.100.0/24", "2001:db8::/48"}));
  EXPECT_EQ(s.quarantine_threshold, 3.5);
  EXPECT_EQ(s.reject_threshold, 9);
}

TEST(SemaSettings, BadSettings) {
  EXPECT_EQ(codes(compile("settings { spam.threshold.junk = 1 }\n")), std::vector<std::string>{"E013"});
  EXPECT_EQ(codes(compile("settings { spam.threshold.reject = high }\n")), std::vector<std::string>{"E062"});
  EXPECT_EQ(codes(compile("settings { spam.threshold.reject = \"9\" }\n")), std::vector<std::string>{"E062"});
  EXPECT_EQ(codes(compile("settings { org.sending_servers = [mail.widget.com] }\n")),
            std::vector<std::string>{"E062"});
  EXPECT_EQ(codes(compile("settings { org.domains = [10.0.0.1, a@b.example] }\n")),
            (std::vector<std::string>{"E062", "E062"}));
}

TEST(SemaRules, RuleTableAndDirections) {
  Compilation c = compile_ok(
      "stage first {\n"
      "  rule a (inbound): if size > 1 then allow\n"
      "  rule b (outbound, internal): if size > 2 then allow\n"
      "}\n"
      "if size > 3 then allow\n"
      "stage first { rule c: if size > 4 then allow }\n");
  ASSERT_TRUE(c.image);
  const auto& im = *c.image;
  // A stage that is not one of the pipeline's runs after custom_filters.
  EXPECT_EQ(im.stages, (std::vector<std::string>{"custom_filters", "first"}));
  ASSERT_EQ(im.rules.size(), 4u);
  EXPECT_EQ(im.rules[0].name, "line_5");
  EXPECT_EQ(im.rules[0].stage, 0u);
  EXPECT_EQ(im.rules[0].directions, vm::kAllDirections);
  EXPECT_EQ(im.rules[1].name, "a");
  EXPECT_EQ(im.rules[1].stage, 1u);
  EXPECT_EQ(im.rules[1].directions, vm::kInbound);
  EXPECT_EQ(im.rules[2].name, "b");
  EXPECT_EQ(im.rules[2].directions, vm::kOutbound | vm::kInternal);
  EXPECT_EQ(im.rules[3].name, "c");
  EXPECT_EQ(im.rules[3].stage, 1u);
  EXPECT_EQ(im.rules[3].directions, vm::kAllDirections);
  EXPECT_EQ(im.rules[1].file, "sema.mp");
  EXPECT_EQ(im.rules[1].line, 2u);
  EXPECT_EQ(im.rules[1].column, 3u);
  for (size_t i = 0; i < im.rules.size(); ++i) {
    EXPECT_EQ(im.code[im.rules[i].code_begin].op, Op::EnterRule);
    EXPECT_EQ(im.code[im.rules[i].code_begin].c, i);
    if (i + 1 < im.rules.size()) {
      EXPECT_EQ(im.rules[i].code_end, im.rules[i + 1].code_begin);
    }
  }
  EXPECT_EQ(im.code.back().op, Op::Halt);
  EXPECT_EQ(im.code_lines.size(), im.code.size());
}

TEST(SemaRules, PipelineStagesRunInPipelineOrder) {
  Compilation c = compile_ok(
      "stage url_defense { rule u: if size > 1 then allow }\n"
      "stage mine { rule m: if size > 1 then allow }\n"
      "stage spam_engine { rule s: if size > 1 then allow }\n"
      "if size > 1 then allow\n"
      "stage anti_spoofing { rule a: if size > 1 then allow }\n"
      "stage also_mine { rule o: if size > 1 then allow }\n"
      "stage attachment_defense { rule d: if size > 1 then allow }\n"
      "stage reputation { rule r: if size > 1 then allow }\n");
  ASSERT_TRUE(c.image);
  EXPECT_EQ(c.image->stages,
            (std::vector<std::string>{"reputation", "attachment_defense", "anti_spoofing", "custom_filters",
                                      "mine", "also_mine", "spam_engine", "url_defense"}));
  std::vector<std::string> names;
  for (const auto& r : c.image->rules) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"r", "d", "a", "line_4", "m", "o", "s", "u"}));
}

TEST(SemaRules, TerminalActionComesLast) {
  Compilation c = compile_ok(
      "if size > 1 then allow, tag \"t\", score +2 \"why\", add header X-A \"1\", remove header X-B, log "
      "\"l\"\n");
  ASSERT_TRUE(c.image);
  const auto& im = *c.image;
  std::vector<Op> actions;
  for (uint32_t pc = im.rules[0].code_begin; pc < im.rules[0].code_end; ++pc) {
    Op op = im.code[pc].op;
    if (op == Op::Tag || op == Op::Score || op == Op::AddHeader || op == Op::RemoveHeader || op == Op::Log ||
        op == Op::Terminal) {
      actions.push_back(op);
    }
  }
  EXPECT_EQ(actions,
            (std::vector<Op>{Op::Tag, Op::Score, Op::AddHeader, Op::RemoveHeader, Op::Log, Op::Terminal}));
}

TEST(SemaRules, ActionChecks) {
  EXPECT_TRUE(compile("if size > 1 then reject \"550 5.7.1 No\"\n").ok());
  EXPECT_TRUE(compile("if size > 1 then reject \"554\"\n").ok());
  EXPECT_TRUE(compile("if size > 1 then tempfail \"451 4.7.1 Later\"\n").ok());
  EXPECT_TRUE(compile("if size > 1 then reject\n").ok());
  EXPECT_EQ(codes(compile("if size > 1 then reject \"go away\"\n")), std::vector<std::string>{"E061"});
  EXPECT_EQ(codes(compile("if size > 1 then reject \"451 later\"\n")), std::vector<std::string>{"E061"});
  EXPECT_EQ(codes(compile("if size > 1 then reject \"5500 x\"\n")), std::vector<std::string>{"E061"});
  EXPECT_EQ(codes(compile("if size > 1 then tempfail \"550 no\"\n")), std::vector<std::string>{"E061"});
  EXPECT_EQ(codes(compile("if size > 1 then add header \"X A\" \"v\"\n")), std::vector<std::string>{"E061"});
  EXPECT_EQ(codes(compile("if size > 1 then add header \"X:A\" \"v\"\n")), std::vector<std::string>{"E061"});
  EXPECT_EQ(codes(compile("if size > 1 then remove header \"\"\n")), std::vector<std::string>{"E061"});
  EXPECT_EQ(codes(compile("if size > 1 then allow, reject\n")), std::vector<std::string>{"E061"});
}

}  // namespace
}  // namespace mp::compiler
