// The verdict getters of the C API: the SMTP reply rule of mailpolicy.h for every
// action, the reason of a quarantine, score contributions, tags, the three header
// lists (the policy's added and removed headers, the gateway's result headers) and
// mp_verdict_json with the keys docs/cli.md documents.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/api/api_test_util.h"

namespace mp::api_test {
namespace {

using nlohmann::json;

// A message with this subject and body.
std::string message(const std::string& subject, const std::string& body = "hello\n") {
  return "From: Sam <sam@example.org>\nTo: pat@widget.com\nSubject: " + subject +
         "\nX-Spam-Flag: YES\nX-Spam-Flag: maybe\n\n" + body;
}

// A policy of `text` compiled in a scratch directory, with an evaluator (defaults).
struct Policy {
  explicit Policy(const std::string& text)
      : program(compile(dir.write("policy.mp", text))),
        evaluator(mp_evaluator_new(program.get(), nullptr, nullptr)) {}

  Verdict judge(const std::string& bytes) const {
    Envelope env =
        envelope({"--client-ip", "192.0.2.1", "--sender", "sam@example.org", "--rcpt", "pat@widget.com"});
    return evaluate(evaluator.get(), bytes, env.get());
  }

  e2e::TempDir dir;
  Program program;
  Evaluator evaluator;
};

// ---- The SMTP reply -------------------------------------------------------------------

struct Reply {
  std::string subject;
  mp_action action;
  int code;
  std::string status, text, verdict_text;
};

void PrintTo(const Reply& r, std::ostream* os) {
  *os << "subject " << r.subject;
}

const char* const kActionsPolicy =
    "if subject is \"greylist\" then tempfail \"451 4.7.1 Greylisted, try again later\"\n"
    "if subject is \"busy\" then tempfail \"452 Too busy\"\n"
    "if subject is \"defer\" then tempfail\n"
    "if subject is \"refuse\" then reject \"554 5.7.0 Go away\"\n"
    "if subject is \"nostatus\" then reject \"550 Nope\"\n"
    "if subject is \"bare\" then reject\n"
    "if subject is \"hold\" then quarantine \"held for review\"\n"
    "if subject is \"drop\" then discard\n"
    "if subject is \"pass\" then allow\n";

class CapiReply : public testing::TestWithParam<Reply> {};

TEST_P(CapiReply, FollowsTheActionAndItsText) {
  static const Policy policy(kActionsPolicy);
  const Reply& r = GetParam();
  Verdict v = policy.judge(message(r.subject));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(mp_verdict_action(v.get()), r.action);
  EXPECT_EQ(mp_verdict_smtp_code(v.get()), r.code);
  EXPECT_EQ(mp_verdict_smtp_status(v.get()), r.status);
  EXPECT_EQ(mp_verdict_smtp_text(v.get()), r.text);
  EXPECT_EQ(mp_verdict_text(v.get()), r.verdict_text);
  if (r.action == MP_ACTION_DELIVER) {
    EXPECT_EQ(mp_verdict_rule(v.get()), nullptr);
  } else {
    EXPECT_STREQ(mp_verdict_stage(v.get()), "custom_filters");
    EXPECT_TRUE(std::string(mp_verdict_rule(v.get())).starts_with("line_")) << mp_verdict_rule(v.get());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Actions, CapiReply,
    testing::Values(Reply{"greylist", MP_ACTION_TEMPFAIL, 451, "4.7.1", "Greylisted, try again later",
                          "451 4.7.1 Greylisted, try again later"},
                    Reply{"busy", MP_ACTION_TEMPFAIL, 452, "4.7.1", "Too busy", "452 Too busy"},
                    Reply{"defer", MP_ACTION_TEMPFAIL, 451, "4.7.1", "Try again later",
                          "451 4.7.1 Try again later"},
                    Reply{"refuse", MP_ACTION_REJECT, 554, "5.7.0", "Go away", "554 5.7.0 Go away"},
                    Reply{"nostatus", MP_ACTION_REJECT, 550, "5.7.1", "Nope", "550 Nope"},
                    Reply{"bare", MP_ACTION_REJECT, 550, "5.7.1", "Message rejected by policy",
                          "550 5.7.1 Message rejected by policy"},
                    Reply{"hold", MP_ACTION_QUARANTINE, 250, "2.0.0", "", "held for review"},
                    Reply{"drop", MP_ACTION_DISCARD, 250, "2.0.0", "", ""},
                    Reply{"pass", MP_ACTION_ALLOW, 250, "2.0.0", "", ""},
                    Reply{"anything else", MP_ACTION_DELIVER, 250, "2.0.0", "", ""}),
    [](const testing::TestParamInfo<Reply>& info) {
      std::string name = info.param.subject;
      std::replace(name.begin(), name.end(), ' ', '_');
      return name;
    });

TEST(CapiReplyExample, ExecutableAttachmentIs550) {
  Program program = compile(kWidgetPolicy);
  Evaluator evaluator(mp_evaluator_new(program.get(), nullptr, nullptr));
  const Example& exe = example("mail/exe-attachment.eml");
  Verdict v = evaluate(evaluator.get(), exe.message, envelope(exe.flags).get());
  EXPECT_EQ(mp_verdict_action(v.get()), MP_ACTION_REJECT);
  EXPECT_EQ(mp_verdict_smtp_code(v.get()), 550);
  EXPECT_STREQ(mp_verdict_smtp_status(v.get()), "5.7.1");
  EXPECT_STREQ(mp_verdict_smtp_text(v.get()), "Executable attachments are not accepted");
  EXPECT_STREQ(mp_verdict_text(v.get()), "550 5.7.1 Executable attachments are not accepted");
  EXPECT_STREQ(mp_verdict_stage(v.get()), "attachment_defense");
  EXPECT_STREQ(mp_verdict_rule(v.get()), "executables");
  EXPECT_EQ(mp_verdict_location(v.get()), kWidgetPolicy.string() + ":29:3");
  EXPECT_EQ(mp_verdict_fact(v.get()), nullptr);
  EXPECT_STREQ(mp_verdict_direction(v.get()), "inbound");
}

// ---- Score, tags, headers, JSON ----------------------------------------------------------

const char* const kScoringPolicy =
    "settings {\n"
    "  spam.threshold.quarantine = 5.0\n"
    "  spam.threshold.reject = 10.0\n"
    "}\n"
    "stage spam_engine {\n"
    "  rule lottery:\n"
    "    if subject contains \"lottery\"\n"
    "    then score +2.5 \"lottery wording\", tag \"[LOTTERY]\", add header X-Lottery \"yes\",\n"
    "      remove header X-Spam-Flag, log \"lottery seen\"\n"
    "  rule prize:\n"
    "    if body contains \"prize\" then score +3 \"prize\", tag \"[PRIZE]\", add header X-Policy-Note "
    "\"ours\"\n"
    "  rule refund:\n"
    "    if body contains \"refund\" then score -1 \"refund talk\"\n"
    "}\n";

std::vector<std::pair<std::string, std::string>> headers(const mp_verdict* v, bool result) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t count = result ? mp_verdict_result_header_count(v) : mp_verdict_added_header_count(v);
  for (size_t i = 0; i < count; ++i) {
    mp_header h{};
    EXPECT_EQ(result ? mp_verdict_result_header(v, i, &h) : mp_verdict_added_header(v, i, &h), MP_OK);
    out.emplace_back(h.name, h.value);
  }
  mp_header past{};
  EXPECT_EQ(result ? mp_verdict_result_header(v, count, &past) : mp_verdict_added_header(v, count, &past),
            MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_verdict_result_header(v, 0, nullptr), MP_ERR_INVALID_ARGUMENT);
  return out;
}

using HeaderList = std::vector<std::pair<std::string, std::string>>;

const std::string kLotteryAndPrize = message("You won the lottery", "Claim your prize now.\n");

TEST(CapiVerdict, ScoreContributionsTagsAndHeaders) {
  Policy policy(kScoringPolicy);
  Verdict v = policy.judge(kLotteryAndPrize);
  ASSERT_NE(v, nullptr);
  // 2.5 + 3 reaches the quarantine threshold: a verdict by score, no rule.
  EXPECT_EQ(mp_verdict_action(v.get()), MP_ACTION_QUARANTINE);
  EXPECT_DOUBLE_EQ(mp_verdict_score(v.get()), 5.5);
  EXPECT_EQ(mp_verdict_rule(v.get()), nullptr);
  EXPECT_EQ(mp_verdict_stage(v.get()), nullptr);
  EXPECT_EQ(mp_verdict_location(v.get()), nullptr);
  EXPECT_STREQ(mp_verdict_text(v.get()), "spam score above the quarantine threshold");
  EXPECT_EQ(mp_verdict_smtp_code(v.get()), 250);
  EXPECT_STREQ(mp_verdict_smtp_text(v.get()), "");

  ASSERT_EQ(mp_verdict_contribution_count(v.get()), 2u);
  mp_contribution c{};
  ASSERT_EQ(mp_verdict_contribution(v.get(), 0, &c), MP_OK);
  EXPECT_STREQ(c.stage, "spam_engine");
  EXPECT_STREQ(c.rule, "lottery");
  EXPECT_EQ(c.delta, 2.5);
  EXPECT_STREQ(c.reason, "lottery wording");
  ASSERT_EQ(mp_verdict_contribution(v.get(), 1, &c), MP_OK);
  EXPECT_STREQ(c.rule, "prize");
  EXPECT_EQ(c.delta, 3);
  EXPECT_EQ(mp_verdict_contribution(v.get(), 2, &c), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_verdict_contribution(v.get(), 0, nullptr), MP_ERR_INVALID_ARGUMENT);

  ASSERT_EQ(mp_verdict_tag_count(v.get()), 2u);
  EXPECT_STREQ(mp_verdict_tag(v.get(), 0), "[LOTTERY]");
  EXPECT_STREQ(mp_verdict_tag(v.get(), 1), "[PRIZE]");
  EXPECT_EQ(mp_verdict_tag(v.get(), 2), nullptr);

  EXPECT_EQ(headers(v.get(), false), (HeaderList{{"X-Lottery", "yes"}, {"X-Policy-Note", "ours"}}));
  ASSERT_EQ(mp_verdict_removed_header_count(v.get()), 1u);
  EXPECT_STREQ(mp_verdict_removed_header(v.get(), 0), "X-Spam-Flag");
  EXPECT_EQ(mp_verdict_removed_header(v.get(), 1), nullptr);
  // The gateway's own headers only: the policy's X-Policy-Note is an added header.
  EXPECT_EQ(headers(v.get(), true),
            (HeaderList{{"X-Policy-Verdict", "quarantine"}, {"X-Policy-Score", "5.5"}}));
}

TEST(CapiVerdict, ANegativeContributionLowersTheScore) {
  Policy policy(kScoringPolicy);
  Verdict v = policy.judge(message("lottery", "a refund\n"));
  EXPECT_EQ(mp_verdict_action(v.get()), MP_ACTION_DELIVER);
  EXPECT_DOUBLE_EQ(mp_verdict_score(v.get()), 1.5);
  mp_contribution c{};
  ASSERT_EQ(mp_verdict_contribution(v.get(), 1, &c), MP_OK);
  EXPECT_STREQ(c.rule, "refund");
  EXPECT_EQ(c.delta, -1);
  EXPECT_EQ(headers(v.get(), true), (HeaderList{{"X-Policy-Verdict", "deliver"}, {"X-Policy-Score", "1.5"}}));
}

TEST(CapiVerdict, ResultHeadersNameTheDecidingRule) {
  Program program = compile(kWidgetPolicy);
  Evaluator evaluator(mp_evaluator_new(program.get(), nullptr, nullptr));
  const Example& exe = example("mail/exe-attachment.eml");
  Verdict v = evaluate(evaluator.get(), exe.message, envelope(exe.flags).get());
  EXPECT_EQ(
      headers(v.get(), true),
      (HeaderList{{"X-Policy-Verdict", "reject; rule=attachment_defense.executables"},
                  {"X-Policy-Score", "0"},
                  {"X-Policy-Rule", "attachment_defense.executables at " + kWidgetPolicy.string() + ":29"}}));
  EXPECT_EQ(headers(v.get(), false), HeaderList{});
}

std::set<std::string> keys(const json& object) {
  std::set<std::string> out;
  for (const auto& item : object.items()) out.insert(item.key());
  return out;
}

// docs/cli.md, "JSON output", less what only policyc knows (envelope) and the keys
// only computed facts (auth) or tracing (trace, defects) add.
const std::set<std::string> kJsonKeys = {
    "file",  "action",      "rule",           "stage", "location", "fact",
    "score", "direction",   "text",           "tags",  "banners",  "contributions",
    "fired", "add_headers", "remove_headers", "log",   "facts",    "url_rewrite"};

TEST(CapiVerdict, JsonHasTheDocumentedKeysAndValues) {
  Policy policy(kScoringPolicy);
  Verdict v = policy.judge(kLotteryAndPrize);
  const char* text = mp_verdict_json(v.get());
  EXPECT_EQ(mp_verdict_json(v.get()), text) << "made once, then the same string";
  json j = json::parse(text);
  EXPECT_EQ(keys(j), kJsonKeys);
  EXPECT_EQ(j["action"], "quarantine");
  EXPECT_EQ(j["rule"], nullptr);
  EXPECT_EQ(j["score"], 5.5);
  EXPECT_EQ(j["tags"], json({"[LOTTERY]", "[PRIZE]"}));
  EXPECT_EQ(
      j["contributions"][0],
      json({{"rule", "lottery"}, {"stage", "spam_engine"}, {"score", 2.5}, {"reason", "lottery wording"}}));
  EXPECT_EQ(j["add_headers"][0], json({{"name", "X-Lottery"}, {"value", "yes"}}));
  EXPECT_EQ(j["remove_headers"], json({"X-Spam-Flag"}));
  EXPECT_EQ(j["log"], json({"lottery seen"}));
  ASSERT_EQ(j["fired"].size(), 2u);
  EXPECT_EQ(j["fired"][0]["rule"], "lottery");
  EXPECT_EQ(j["fired"][0]["evidence"][0]["field"], "subject");
  EXPECT_EQ(j["facts"], json::array());
}

TEST(CapiVerdict, JsonWithTraceOnHasTraceAndDefects) {
  e2e::TempDir dir;
  Program program = compile(dir.write("policy.mp", kScoringPolicy));
  Config traced = config({{"trace", "on"}});
  Evaluator evaluator(mp_evaluator_new(program.get(), traced.get(), nullptr));
  Verdict v = evaluate(evaluator.get(), kLotteryAndPrize, Envelope(mp_envelope_new()).get());
  json j = json::parse(mp_verdict_json(v.get()));
  std::set<std::string> expected = kJsonKeys;
  expected.insert({"trace", "defects"});
  EXPECT_EQ(keys(j), expected);
  ASSERT_EQ(j["trace"].size(), 3u);
  EXPECT_EQ(j["trace"][0]["rule"], "lottery");
  EXPECT_EQ(j["trace"][0]["outcome"], "fired");
  EXPECT_EQ(j["trace"][2]["outcome"], "false (prefilter)");
}

TEST(CapiVerdict, SecondsAreTheEvaluationsWallTime) {
  Policy policy(kScoringPolicy);
  Verdict v = policy.judge(kLotteryAndPrize);
  EXPECT_GT(mp_verdict_seconds(v.get()), 0);
  EXPECT_LT(mp_verdict_seconds(v.get()), 10);
}

// ---- Body edits (banners) ----------------------------------------------------------

const char* const kBannerPolicy =
    "if subject contains \"warn\" then banner \"CAUTION: external sender.\"\n"
    "if subject contains \"umlaut\" then banner \"Vorsicht – extern\"\n"
    "if subject contains \"refuse\" then reject\n"
    "if subject contains \"hold\" then quarantine\n";

TEST(CapiVerdict, BannersGiveTheNewBodyForAMessageThatIsPassedOn) {
  Policy policy(kBannerPolicy);
  Verdict v = policy.judge(message("warn me"));
  ASSERT_EQ(mp_verdict_banner_count(v.get()), 1u);
  EXPECT_STREQ(mp_verdict_banner(v.get(), 0), "CAUTION: external sender.");
  EXPECT_EQ(mp_verdict_banner(v.get(), 1), nullptr);
  size_t size = 99;
  const char* body = mp_verdict_body(v.get(), &size);
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(std::string(body, size), "CAUTION: external sender.\n\nhello\n");
  EXPECT_EQ(mp_verdict_changed_header_count(v.get()), 0u);
  EXPECT_STREQ(mp_verdict_body_note(v.get()), "");
  // Held mail keeps it for its release; refused mail has no body to change.
  EXPECT_NE(mp_verdict_body(policy.judge(message("warn and hold")).get(), nullptr), nullptr);
  Verdict refused = policy.judge(message("warn and refuse"));
  EXPECT_EQ(mp_verdict_banner_count(refused.get()), 1u);
  EXPECT_EQ(mp_verdict_body(refused.get(), &size), nullptr);
  EXPECT_EQ(size, 0u);
}

TEST(CapiVerdict, ChangedHeadersComeWithABodyThatNeedsANewEncoding) {
  Policy policy(kBannerPolicy);
  Verdict v = policy.judge(message("umlaut"));
  ASSERT_NE(mp_verdict_body(v.get(), nullptr), nullptr);
  std::vector<std::pair<std::string, std::string>> changed;
  for (size_t i = 0; i < mp_verdict_changed_header_count(v.get()); ++i) {
    mp_header h;
    ASSERT_EQ(mp_verdict_changed_header(v.get(), i, &h), MP_OK);
    changed.emplace_back(h.name, h.value);
  }
  EXPECT_EQ(changed, (std::vector<std::pair<std::string, std::string>>{
                         {"Content-Type", "text/plain; charset=utf-8"},
                         {"Content-Transfer-Encoding", "quoted-printable"},
                         {"MIME-Version", "1.0"}}));
  mp_header h;
  EXPECT_EQ(mp_verdict_changed_header(v.get(), 3, &h), MP_ERR_INVALID_ARGUMENT);
}

// ---- Body edits (URL defense) -----------------------------------------------------

const char* const kRewritePolicy =
    "if count(urls) > 0 then rewrite urls \"https://urldefense.example/v1?u={url}\" except [widget.com]\n"
    "if subject contains \"refuse\" then reject\n";

TEST(CapiVerdict, RewrittenLinksGiveTheNewBodyAndTheirCount) {
  Policy policy(kRewritePolicy);
  Verdict v = policy.judge(message("links", "see http://evil.example/a and https://www.widget.com/b\n"));
  EXPECT_STREQ(mp_verdict_url_rewrite(v.get()), "https://urldefense.example/v1?u={url}");
  EXPECT_EQ(mp_verdict_urls_rewritten(v.get()), 1u);
  size_t size = 0;
  const char* body = mp_verdict_body(v.get(), &size);
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(
      std::string(body, size),
      "see https://urldefense.example/v1?u=http%3A%2F%2Fevil.example%2Fa and https://www.widget.com/b\n");
  json j = json::parse(mp_verdict_json(v.get()));
  EXPECT_EQ(j["url_rewrite"]["target"], "https://urldefense.example/v1?u={url}");
  EXPECT_EQ(j["url_rewrite"]["skip_domains"], json::array({"widget.com"}));
  // Refused mail is not passed on; a message without links has nothing to rewrite.
  Verdict refused = policy.judge(message("refuse", "http://evil.example/\n"));
  EXPECT_EQ(mp_verdict_body(refused.get(), nullptr), nullptr);
  EXPECT_EQ(mp_verdict_urls_rewritten(refused.get()), 0u);
  Verdict ours = policy.judge(message("ours", "https://widget.com/\n"));
  EXPECT_EQ(mp_verdict_body(ours.get(), nullptr), nullptr);
  EXPECT_STREQ(mp_verdict_body_note(ours.get()), "no link to rewrite");
  Verdict none = policy.judge(message("plain"));
  EXPECT_EQ(mp_verdict_url_rewrite(none.get()), nullptr);
  EXPECT_TRUE(json::parse(mp_verdict_json(none.get()))["url_rewrite"].is_null());
  EXPECT_EQ(mp_verdict_url_rewrite(nullptr), nullptr);
  EXPECT_EQ(mp_verdict_urls_rewritten(nullptr), 0u);
}

TEST(CapiVerdict, BodyNoteSaysWhyNoBannerWasAdded) {
  Policy policy(kBannerPolicy);
  Verdict v = policy.judge(
      "From: a@b.example\nSubject: warn\nMIME-Version: 1.0\nContent-Type: application/pdf\n\n%PDF-1.4\n");
  EXPECT_EQ(mp_verdict_body(v.get(), nullptr), nullptr);
  EXPECT_STREQ(mp_verdict_body_note(v.get()), "no inline text part");
  EXPECT_STREQ(mp_verdict_body_note(policy.judge(message("plain")).get()), "");
  EXPECT_EQ(mp_verdict_banner_count(nullptr), 0u);
  EXPECT_EQ(mp_verdict_body(nullptr, nullptr), nullptr);
  EXPECT_STREQ(mp_verdict_body_note(nullptr), "");
  mp_header h;
  EXPECT_EQ(mp_verdict_changed_header(nullptr, 0, &h), MP_ERR_INVALID_ARGUMENT);
}

// Recipients of one message with different verdicts: one outcome each, every accessor
// working on it, each with its own banner in its own body.
TEST(CapiVerdict, SplitGivesEachOutcomeWithItsRecipients) {
  Policy policy(R"(settings { org.groups = ["finance: pat@widget.com"] }
stage custom_filters {
  rule finance (group finance): if subject contains "invoice" then banner "Check invoices with the supplier"
  rule ceo (user ceo@widget.com): if subject contains "invoice" then reject "550 5.7.1 not for the CEO"
}
)");
  Envelope env = envelope({"--sender", "sam@example.org", "--rcpt", "Pat@widget.com", "--rcpt",
                           "ceo@widget.com", "--rcpt", "kim@widget.com"});
  Verdict v = evaluate(policy.evaluator.get(), message("invoice 9"), env.get());
  ASSERT_EQ(mp_verdict_split_count(v.get()), 3u);
  const mp_verdict* pat = mp_verdict_split(v.get(), 0);
  const mp_verdict* ceo = mp_verdict_split(v.get(), 1);
  const mp_verdict* kim = mp_verdict_split(v.get(), 2);
  EXPECT_EQ(mp_verdict_split(v.get(), 3), nullptr);
  ASSERT_EQ(mp_verdict_recipient_count(pat), 1u);
  EXPECT_STREQ(mp_verdict_recipient(pat, 0), "pat@widget.com");
  EXPECT_EQ(mp_verdict_recipient(pat, 1), nullptr);
  EXPECT_EQ(mp_verdict_action(pat), MP_ACTION_DELIVER);
  EXPECT_NE(mp_verdict_body(pat, nullptr), nullptr);  // its banner, in its own body
  EXPECT_EQ(mp_verdict_action(ceo), MP_ACTION_REJECT);
  EXPECT_EQ(mp_verdict_smtp_code(ceo), 550);
  EXPECT_STREQ(mp_verdict_rule(ceo), "ceo");
  EXPECT_EQ(mp_verdict_action(kim), MP_ACTION_DELIVER);
  EXPECT_EQ(mp_verdict_body(kim, nullptr), nullptr);
  EXPECT_EQ(mp_verdict_split_count(pat), 0u);
  // The verdict itself is the first recipient's; its JSON lists the outcomes.
  EXPECT_EQ(mp_verdict_recipient_count(v.get()), 1u);
  EXPECT_EQ(mp_verdict_banner_count(v.get()), 1u);
  EXPECT_EQ(json::parse(mp_verdict_json(v.get()))["per_recipient"].size(), 3u);
  // One verdict for all: no split, and every recipient is its.
  Envelope same =
      envelope({"--sender", "sam@example.org", "--rcpt", "kim@widget.com", "--rcpt", "lee@widget.com"});
  Verdict plain = evaluate(policy.evaluator.get(), message("invoice 9"), same.get());
  EXPECT_EQ(mp_verdict_split_count(plain.get()), 0u);
  EXPECT_EQ(mp_verdict_recipient_count(plain.get()), 2u);
  EXPECT_EQ(mp_verdict_split_count(nullptr), 0u);
  EXPECT_EQ(mp_verdict_split(nullptr, 0), nullptr);
}

// Recipient classes: the same scoped rules, the same class; a policy with nothing per
// recipient gives every recipient class 0.
TEST(CapiVerdict, RecipientClassesFollowTheScopedRules) {
  Policy policy(R"(settings { org.groups = ["finance: pat@widget.com, kim@widget.com"] }
stage custom_filters {
  rule finance (group finance): if subject contains "invoice" then quarantine
  rule ceo (user ceo@widget.com): if subject contains "invoice" then reject "550 5.7.1 no"
}
)");
  Envelope env = envelope({"--sender", "sam@example.org", "--client-ip", "192.0.2.1"});
  auto cls = [&](const char* rcpt) {
    uint64_t out = 0;
    EXPECT_EQ(mp_recipient_class(policy.evaluator.get(), env.get(), rcpt, &out, nullptr), MP_OK);
    return out;
  };
  EXPECT_EQ(cls("pat@widget.com"), cls("<Kim@Widget.com>"));
  EXPECT_NE(cls("pat@widget.com"), cls("lee@widget.com"));
  EXPECT_NE(cls("ceo@widget.com"), cls("lee@widget.com"));
  EXPECT_EQ(cls("lee@widget.com"), cls("max@other.example"));
  EXPECT_NE(cls("lee@widget.com"), 0u);
  Policy plain("if subject contains \"invoice\" then quarantine\n");
  uint64_t out = 7;
  EXPECT_EQ(mp_recipient_class(plain.evaluator.get(), env.get(), "pat@widget.com", &out, nullptr), MP_OK);
  EXPECT_EQ(out, 0u);
  mp_error err;
  EXPECT_EQ(mp_recipient_class(nullptr, env.get(), "pat@widget.com", &out, &err), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_recipient_class(plain.evaluator.get(), env.get(), nullptr, &out, &err),
            MP_ERR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace mp::api_test
