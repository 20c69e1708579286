// policyc import spamassassin, piece by piece: Perl regexes as this language writes
// them, the .cf reader's if/ifplugin blocks and scores, metas folded with score set 0,
// and a small rule set imported whole, compiled and run over a message.
#include <gtest/gtest.h>

#include <set>

#include "importer/sa_config.h"
#include "importer/sa_meta.h"
#include "importer/sa_translate.h"
#include "importer/spamassassin.h"
#include "tests/vm/interpreter_test_util.h"

namespace mp::importer {
namespace {

// The names of the rules that fire on `message`.
std::set<std::string> fired_rules(vm::interpreter_test::Policy& policy, const std::string& message) {
  std::set<std::string> names;
  for (const auto& f : policy.run(message).fired) names.insert(f.name);
  return names;
}

std::string literal(std::string_view perl) {
  auto r = regex_literal(perl);
  if (auto* why = std::get_if<Untranslatable>(&r)) return "! " + why->kind + ": " + why->reason;
  return std::get<RegexLiteral>(r).literal;
}

TEST(SaRegex, PerlDelimitersFlagsAndBytes) {
  EXPECT_EQ(literal(R"(/http:\/\/x/i)"), R"(/http:\/\/x/i)");
  EXPECT_EQ(literal("m{a/b}i"), R"(/a\/b/i)");
  EXPECT_EQ(literal("m!x(?:y)!gs"), "/x(?:y)/s");
  EXPECT_EQ(literal("m{a{2}b}"), "/a{2}b/");  // nested braces inside m{}
  EXPECT_EQ(literal("/caf\xe9/"), R"(/caf\xe9/)");
  EXPECT_EQ(literal("/x/e"), "! regex: the regex flag `e`");
  EXPECT_EQ(literal("/unclosed"), "! syntax: the regex is not closed");
  EXPECT_EQ(literal("/(?<=a+)b/").substr(0, 30), "! regex: PCRE2 cannot compile ");
  auto rest = regex_literal("/x/ [if-unset: none]");
  EXPECT_EQ(std::get<RegexLiteral>(rest).rest, "[if-unset: none]");
}

TEST(SaConfig, BlocksScoresDescriptionsAndRedefinitions) {
  const CfFile files[] = {{"a.cf", R"(# comment
header A From =~ /x/  # a comment after a rule
ifplugin Mail::SpamAssassin::Plugin::TextCat
body IN_TEXTCAT /y/
else
body NOT_TEXTCAT /y/
endif
if (version >= 3.004000) && plugin(Mail::SpamAssassin::Plugin::HeaderEval)
body NEW_ENOUGH /z\#1/
endif
if (version < 3.000000)
body TOO_OLD /z/
endif
score A 1.5 2 3 4
score NEW_ENOUGH 0.7
describe A An "A" rule
tflags A nice
required_score 6
frobnicate 1
)"},
                          {"b.cf", "header A Subject =~ /again/\n"}};
  const SaConfig config = read_config(files);
  std::vector<std::string> names;
  for (const auto& r : config.rules) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"A", "NOT_TEXTCAT", "NEW_ENOUGH"}));
  EXPECT_EQ(config.rules[0].definition, "Subject =~ /again/");  // b.cf replaced it
  EXPECT_EQ(config.rules[2].definition, "/z\\#1/");             // an escaped # is no comment
  EXPECT_EQ(score_of(config, "A", 0), 1.5);
  EXPECT_EQ(score_of(config, "A", 3), 4);
  EXPECT_EQ(score_of(config, "NEW_ENOUGH", 2), 0.7);
  EXPECT_EQ(score_of(config, "UNSCORED", 0), 1);
  EXPECT_EQ(score_of(config, "T_TEST", 0), 0.01);
  EXPECT_EQ(score_of(config, "__SUB", 0), 0);
  EXPECT_EQ(config.descriptions.at("A"), "An \"A\" rule");
  EXPECT_TRUE(config.tflags.at("A").count("nice"));
  EXPECT_EQ(config.required_score, 6);
  ASSERT_EQ(config.notes.size(), 1u);
  EXPECT_EQ(config.notes[0], "a.cf:19: `frobnicate` not imported");
}

std::string folded(const std::string& meta, std::set<std::string> off = {}) {
  auto parsed = parse_meta(meta);
  if (auto* why = std::get_if<std::string>(&parsed)) return "! " + *why;
  auto known = [&](const std::string& r) -> std::optional<bool> {
    return off.count(r) ? std::optional<bool>(false) : std::nullopt;
  };
  return meta_condition(fold_meta(std::get<MetaNode>(parsed), known));
}

TEST(SaMeta, ParsedFoldedAndWritten) {
  EXPECT_EQ(folded("(__A && !__B) || __C"), "(__A and not __B) or __C");
  EXPECT_EQ(folded("__A && (__B || __C)"), "__A and (__B or __C)");
  EXPECT_EQ(folded("(__A + __B + __C) > 1"), "(__A + __B + __C) > 1");
  EXPECT_EQ(folded("(__A + !__B) >= 1"), "(__A + (not __B)) >= 1");
  // A network rule reads false in score set 0: the sum keeps the rest.
  EXPECT_EQ(folded("(__A + __NET + __C) > 1", {"__NET"}), "(__A + __C) > 1");
  EXPECT_EQ(folded("(__A + __NET) > 1", {"__NET"}), "false");
  EXPECT_EQ(folded("__A && !__NET", {"__NET"}), "__A");
  EXPECT_EQ(folded("__A || __NET", {"__NET"}), "__A");
  EXPECT_EQ(folded("__A > 0"), "__A");
  EXPECT_EQ(folded("__A * 2 > 1"), "! meta arithmetic `*` (only sums of rules translate)");
  EXPECT_EQ(folded("(__A + __B"), "! a parenthesis is not closed");
}

const char* kRules = R"(
header   __FROM_FREE   From =~ /\@free\.example/i
header   SUBJ_WIN      Subject =~ /\bwinner\b/i
describe SUBJ_WIN      Subject says winner
score    SUBJ_WIN      1.5
body     BODY_PRIZE    /claim your prize/i
score    BODY_PRIZE    2.0
uri      URI_SHORT     m{^https?://bit\.ly/}i
score    URI_SHORT     0.5
header   NO_DATE       Date !~ /./
score    NO_DATE       0.25
header   __HAS_LIST    exists:List-Id
meta     PRIZE_FREE    (__FROM_FREE && BODY_PRIZE && !__HAS_LIST)
score    PRIZE_FREE    3.0
header   RCVD_IN_X     eval:check_rbl('x', 'zen.example.')
tflags   RCVD_IN_X     net
score    RCVD_IN_X     0 2.0 0 2.0
meta     NET_AND_WIN   RCVD_IN_X && SUBJ_WIN
score    NET_AND_WIN   1
header   MISSING_MID   eval:check_for_missing_header('Message-Id')
score    MISSING_MID   0.5
meta     MID_AND_WIN   MISSING_MID && SUBJ_WIN
score    MID_AND_WIN   1
header   RAW_X         X-Thing:raw =~ /=\?/
score    RAW_X         1
)";

TEST(SaImport, ASmallRuleSetCompilesAndScoresAsSpamAssassinWould) {
  const CfFile files[] = {{"local.cf", kRules}};
  const ImportResult r = import_spamassassin(files);
  EXPECT_EQ(r.report.rules, 12u);
  EXPECT_EQ(r.report.scored, 9u);  // RCVD_IN_X scores 0 in set 0
  EXPECT_EQ(r.report.translated_scored, 6u) << report_text(r.report) << r.policy;
  std::map<std::string, std::string> kind;
  for (const Skipped& s : r.report.skipped) kind[s.rule] = s.kind + ": " + s.reason;
  EXPECT_EQ(kind["RCVD_IN_X"], "network: a network test (score set 0 has none)");
  EXPECT_EQ(kind["NET_AND_WIN"],
            "constant: always false in score set 0, since these read as false: RCVD_IN_X (network)");
  EXPECT_EQ(kind["MISSING_MID"], "eval: eval:check_for_missing_header (Perl code)");
  EXPECT_EQ(kind["MID_AND_WIN"], "depends: needs MISSING_MID (eval:check_for_missing_header (Perl code))");
  EXPECT_NE(r.policy.find("def RAW_X = raw_header(\"X-Thing\") matches /=\\?/"), std::string::npos)
      << r.policy;
  EXPECT_NE(r.policy.find("if SUBJ_WIN then score +1.5 \"Subject says winner\""), std::string::npos)
      << r.policy;

  vm::interpreter_test::Policy policy(r.policy);
  const vm::Verdict v = policy.run(
      "From: Prize Desk <desk@free.example>\nSubject: You are a WINNER\n\n"
      "Please claim\nyour prize at https://bit.ly/x today.\n");
  // SUBJ_WIN 1.5 + BODY_PRIZE 2 (across the line break, as SpamAssassin's body reads it)
  // + URI_SHORT 0.5 + NO_DATE 0.25 + PRIZE_FREE 3 = 7.25: at or above 5, quarantined.
  EXPECT_EQ(v.score, 7.25);
  EXPECT_EQ(v.action, vm::Action::Quarantine);
  const vm::Verdict listed = policy.run(
      "From: desk@free.example\nDate: Mon, 30 Nov 2026 10:00:00 +0000\nList-Id: <x.example>\n"
      "Subject: hello\n\nclaim your prize\n");
  EXPECT_EQ(listed.score, 2);  // BODY_PRIZE only: the list makes PRIZE_FREE false
}

// What a first user of the importer found silently wrong (session 10), each a case.
TEST(SaImport, SpamAssassinsSemanticsTheTranslationMustKeep) {
  const CfFile files[] = {{"edge.cf", R"(
header   NO_SUBJ     Subject =~ /^\s*$/
header   NOT_SPACE   Subject !~ /^\s*$/
header   UNSET_X     X-Foo =~ /^none$/ [if-unset: none]
header   NEEDS_NL    ALL =~ /\[\d+\r?\n/s
header   TWO_LINES   ALL =~ /^Message-Id:.*?^Received:/msi
header   ONE_LINE    ALL =~ /^(?:Antivirus|X-[^:]*Zip):/m
header   TWO_HOPS    Received =~ /from evilhost.*from relay2/s
body     __UNREAD    /no scoring rule reads this/
body     __LINE      /^\s*\S/
tflags   __LINE      multiple maxhits=3
meta     FEW_LINES   __LINE < 2
body     __ANY_TEXT  /\S/
tflags   __ANY_TEXT  nosubject
meta     EMPTY_BODY  !__ANY_TEXT
header   ZERO        Subject =~ /zero/
score    ZERO        0
meta     NOT_ZERO    NO_SUBJ && !ZERO
score    REL         2
score    REL         (1.5)
body     REL         /relative/
body     score       /lowercase/
meta     USES_LOWER  score && REL
)"
                                      "describe REL R\xc3\xa9sum\xc3\xa9\tcost \\#1 \"quoted\" \xff\n"}};
  const ImportResult r = import_spamassassin(files);
  std::map<std::string, std::string> kind;
  for (const Skipped& s : r.report.skipped) kind[s.rule] = s.kind + ": " + s.reason;
  EXPECT_EQ(kind["NEEDS_NL"], "view: the pattern needs the line breaks of the header block");
  EXPECT_EQ(kind["TWO_LINES"], "view: the pattern spans lines of the header block (ALL as one text)");
  EXPECT_FALSE(kind.count("ONE_LINE"));
  // Translated, but read by no scoring rule: left out (its pattern would still be
  // matched on every message), and counted.
  EXPECT_EQ(r.policy.find("__UNREAD"), std::string::npos);
  EXPECT_GE(r.report.unused, 1u);
  EXPECT_EQ(kind["TWO_HOPS"],
            "view: the pattern spans lines (SpamAssassin joins a repeated header's occurrences)");
  EXPECT_EQ(kind["FEW_LINES"], "meta: a count of __LINE's hits (tflags multiple) `< 2`");
  EXPECT_EQ(kind["ZERO"], "disabled: score 0 in set 0: SpamAssassin does not run it");
  EXPECT_NE(r.policy.find("def NOT_ZERO = NO_SUBJ\n"), std::string::npos) << r.policy;
  EXPECT_NE(r.policy.find("def SA_score = body.paragraphs matches /lowercase/"), std::string::npos)
      << r.policy;
  EXPECT_NE(r.policy.find("def USES_LOWER = SA_score and REL"), std::string::npos) << r.policy;
  EXPECT_NE(r.policy.find("score +3.5 \"R\xc3\xa9sum\xc3\xa9 cost #1 \\\"quoted\\\" ?\""), std::string::npos)
      << r.policy;
  EXPECT_NE(r.policy.find("def __ANY_TEXT = body matches /\\S/"), std::string::npos) << r.policy;

  vm::interpreter_test::Policy policy(r.policy);
  auto fired = [&](const std::string& message) { return fired_rules(policy, message); };
  // No Subject: SpamAssassin tests "" (the regex matches it); no X-Foo: "none".
  const auto bare = fired("From: a@b.example\n\nsome text\n");
  EXPECT_TRUE(bare.count("NO_SUBJ"));
  EXPECT_FALSE(bare.count("NOT_SPACE"));
  EXPECT_TRUE(bare.count("UNSET_X"));
  EXPECT_FALSE(bare.count("EMPTY_BODY"));
  // An empty body is empty whatever the Subject says (nosubject).
  const auto empty = fired("From: a@b.example\nSubject: hello there\nX-Foo: other\n\n\n");
  EXPECT_TRUE(empty.count("EMPTY_BODY"));
  EXPECT_TRUE(empty.count("NOT_SPACE"));
  EXPECT_FALSE(empty.count("UNSET_X"));
}

// `NAME:raw`: each occurrence's field body as received (raw_header), encoded words and
// the white space after the colon kept; an absent header reads as "" there too.
TEST(SaImport, RawHeaderViews) {
  const CfFile files[] = {{"raw.cf", R"(
header   SUBJ_B64    Subject:raw =~ /=\?\S+\?B\?/i
header   DATE_TAB    Date:raw =~ /^\t/
header   SUBJ_EMPTY  Subject:raw =~ /^\s*$/
header   ALL_RAW     ALL:raw =~ /^(?:Subject|From):\S/ism
header   EXISTS_RAW  exists:Subject:raw
header   EMPTY_UNSET X-Foo:raw =~ /^$/ [if-unset: ]
)"}};
  const ImportResult r = import_spamassassin(files);
  std::map<std::string, std::string> kind;
  for (const Skipped& s : r.report.skipped) kind[s.rule] = s.kind + ": " + s.reason;
  EXPECT_EQ(kind["ALL_RAW"], "view: `ALL:raw`: undecoded header lines (:raw of ALL)");
  // What SpamAssassin itself rejects is not translated either.
  EXPECT_EQ(kind["EXISTS_RAW"], "syntax: `exists:` of a view: SpamAssassin rejects it (invalid head test)");
  EXPECT_EQ(kind["EMPTY_UNSET"], "syntax: `[if-unset: ]` after the regex");
  EXPECT_NE(r.policy.find("raw_header(\"Subject\") matches /=\\?\\S+\\?B\\?/i"), std::string::npos)
      << r.policy;
  vm::interpreter_test::Policy policy(r.policy);
  auto fired = [&](const std::string& message) { return fired_rules(policy, message); };
  EXPECT_EQ(fired("Subject: =?utf-8?B?aGVsbG8=?=\nDate:\tMon, 1 Jan 2024 00:00:00 +0000\n\nx\n"),
            (std::set<std::string>{"SUBJ_B64", "DATE_TAB"}));
  EXPECT_EQ(fired("Subject: hello\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nx\n"), std::set<std::string>{});
  EXPECT_EQ(fired("From: a@b.example\n\nx\n"), std::set<std::string>{"SUBJ_EMPTY"});
}

// NAME:addr of headers other than From, To, Cc and Reply-To: header_address("NAME").
TEST(SaImport, AddrViewOfAnyHeader) {
  const CfFile files[] = {{"addr.cf", R"(
header   __ML5          Return-Path:addr =~ m{^(?:[^\@]+-(?:request|bounces|admin|owner)|owner-[^\@]+)(?:\@|\z)}i
header   ML5            Return-Path:addr =~ m{^owner-}i
header   APOSTROPHE     ToCc:addr =~ /'/
header   NAME_VIEW      Return-Path:name =~ /x/
header   FIRST_RCVD     Received:first =~ /^from a\.example /
header   LAST_RCVD      Received:last =~ /^from a\.example /
)"}};
  const ImportResult r = import_spamassassin(files);
  std::map<std::string, std::string> kind;
  for (const Skipped& s : r.report.skipped) kind[s.rule] = s.kind;
  EXPECT_EQ(kind["NAME_VIEW"], "view");
  vm::interpreter_test::Policy policy(r.policy);
  EXPECT_EQ(fired_rules(policy, "Return-Path: <owner-x@lists.example>\nTo: o'brien@example.com\n\nx\n"),
            (std::set<std::string>{"ML5", "APOSTROPHE"}));
  EXPECT_EQ(
      fired_rules(policy, "Received: from a.example by b\nReceived: from c.example by a.example\n\nx\n"),
      std::set<std::string>{"FIRST_RCVD"});
  EXPECT_EQ(fired_rules(policy, "Return-Path: <a@b.example>\nCc: c@d.example\n\nx\n"),
            std::set<std::string>{});
}

// X-Spam-Relays-*: relays("kind"), read as SpamAssassin reads them; ALL-EXTERNAL (the
// header lines of a part of the path) is reported.
TEST(SaImport, RelaysPseudoHeaders) {
  const CfFile files[] = {{"relays.cf", R"(
header   __RDNS_NONE  X-Spam-Relays-Untrusted =~ /^[^\]]+ rdns= /
header   RDNS_NONE    X-Spam-Relays-Untrusted =~ /^[^\]]+ rdns= /
header   NO_AUTH      X-Spam-Relays-External =~ /^[^\]]+ auth= /
header   VIA_DSL      X-Spam-Relays-External =~ /^[^\]]+ rdns=\S*dsl/i
header   ALL_EXT      ALL-EXTERNAL =~ /^Received:/m
header   ALL_TRUSTED  eval:check_all_trusted()
header   NO_RELAYS    eval:check_no_relays()
header   __UNPARSEABLE_RELAY_COUNT eval:check_relays_unparseable()
meta     UNPARSEABLE_RELAY (__UNPARSEABLE_RELAY_COUNT >= 1)
)"}};
  const ImportResult r = import_spamassassin(files);
  std::map<std::string, std::string> kind;
  for (const Skipped& s : r.report.skipped) kind[s.rule] = s.kind;
  EXPECT_EQ(kind["ALL_EXT"], "view");
  EXPECT_NE(r.policy.find("relays(\"untrusted\") matches /^[^\\]]+ rdns= /"), std::string::npos) << r.policy;
  vm::interpreter_test::Policy policy(r.policy);
  const std::string unknown =
      "Received: from pc (unknown [198.51.100.4]) by mx.example.org (8.11.6/8.11.6) with ESMTP id g7AAAA\n"
      "From: a@b.example\n\nx\n";
  const std::string dsl =
      "Received: from pc (host1.dsl.isp.example [198.51.100.4]) by mx.example.org (8.11.6/8.11.6) with "
      "ESMTPA "
      "id g7BBBB\nFrom: a@b.example\n\nx\n";
  EXPECT_EQ(fired_rules(policy, unknown), (std::set<std::string>{"RDNS_NONE", "NO_AUTH"}));
  // Authenticated: trusted, so nothing is external, and every relay is trusted.
  EXPECT_EQ(fired_rules(policy, dsl), std::set<std::string>{"ALL_TRUSTED"});
  EXPECT_EQ(fired_rules(policy, "From: a@b.example\n\nx\n"), std::set<std::string>{"NO_RELAYS"});
  EXPECT_EQ(fired_rules(policy, "Received: from nowhere at all\n" + dsl),
            std::set<std::string>{"UNPARSEABLE_RELAY"});
}

// mimeheader: the field of any MIME entity; what the language cannot say of one part
// (a part without the field reading as its unset value, :raw, a line break) reported.
TEST(SaImport, MimeheaderRules) {
  const CfFile files[] = {{"mime.cf", R"(
mimeheader  GIF_PART     Content-Type =~ /^image\/gif/i
mimeheader  NOT_ZIP      Content-Type !~ /zip/
mimeheader  NULL_CTYPE   Content-Type =~ /^\s*;?$/
mimeheader  RAW_CTYPE    Content-Type:raw =~ /^image\/gif;\n\tname/
)"}};
  const ImportResult r = import_spamassassin(files);
  std::map<std::string, std::string> kind;
  for (const Skipped& s : r.report.skipped) kind[s.rule] = s.kind + ": " + s.reason;
  EXPECT_EQ(kind["NULL_CTYPE"], "view: mimeheader: a part without `Content-Type` matches (its unset value)");
  EXPECT_EQ(kind["RAW_CTYPE"], "view: mimeheader `Content-Type:raw`: only a plain header name is translated");
  EXPECT_NE(r.policy.find("def GIF_PART = mime_header(\"Content-Type\") matches /^image\\/gif/i"),
            std::string::npos)
      << r.policy;
  vm::interpreter_test::Policy policy(r.policy);
  auto fired = [&](const std::string& message) { return fired_rules(policy, message); };
  EXPECT_EQ(
      kind["NOT_ZIP"],
      "view: a negated mimeheader rule: SpamAssassin 4.0.1's MIMEHeader plugin fires it on every message");
  EXPECT_EQ(fired("Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: image/GIF\n\nx\n--B--\n"),
            (std::set<std::string>{"GIF_PART"}));
  // Of a field repeated within one part, the plugin reads the last.
  EXPECT_EQ(fired("Content-Type: image/gif\nContent-Type: text/plain\n\nx\n"), std::set<std::string>{});
  EXPECT_EQ(fired("Content-Type: application/zip\n\nx\n"), std::set<std::string>{});
}

// The evals this language has fields for: freemail senders, URL shorteners, the
// envelope sender as From, an HTML part.
TEST(SaImport, EvalsWithAFieldHereAreTranslated) {
  const CfFile files[] = {{"evals.cf", R"(
freemail_domains gmail.com Outlook.com *.free.example aol.*
freemail_welcomelist Friend@gmail.com aol.fr
url_shortener bit.ly .page.link
header FREEMAIL_FROM eval:check_freemail_from()
header FREEMAIL_RT_DIGIT eval:check_freemail_header('Reply-To', '\d@')
header FREEMAIL_SUBJ eval:check_freemail_header('Subject')
body   SHORT eval:short_url()
header ENV_IS_FROM eval:check_for_matching_env_and_hdr_from()
body   HTML_MESSAGE eval:html_test('html')
)"}};
  const ImportResult r = import_spamassassin(files);
  EXPECT_NE(r.policy.find("list sa_freemail = [\"gmail.com\", \"outlook.com\"]"), std::string::npos)
      << r.policy;
  // Wildcard entries as the FreeMail plugin makes them: `*` is any text within a label.
  EXPECT_NE(r.policy.find("domain matches /^(?:[^.]*\\.free\\.example|aol\\.[^.]*)$/"), std::string::npos)
      << r.policy;
  std::map<std::string, std::string> kind;
  for (const Skipped& s : r.report.skipped) kind[s.rule] = s.kind;
  EXPECT_EQ(kind, (std::map<std::string, std::string>{{"FREEMAIL_SUBJ", "eval"}}));

  vm::interpreter_test::Policy policy(r.policy);
  runtime::Envelope envelope;
  envelope.sender = "jane7@gmail.com";
  std::set<std::string> fired;
  for (const auto& f : policy
                           .run("From: Jane <jane7@gmail.com>\nReply-To: j7@mail.free.example\nSubject: hi\n"
                                "Content-Type: text/html\n\n<p>see https://x.page.link/a</p>\n",
                                envelope)
                           .fired)
    fired.insert(f.name);
  EXPECT_EQ(fired, (std::set<std::string>{"FREEMAIL_FROM", "FREEMAIL_RT_DIGIT", "SHORT", "ENV_IS_FROM",
                                          "HTML_MESSAGE"}));

  // check_freemail_from reads the envelope sender too, and skips the role and bounce
  // addresses of the plugin's welcomelist (info@, postmaster@, undisclosed…@).
  auto freemail_from = [&policy](const std::string& from, const std::string& sender) {
    runtime::Envelope e;
    e.sender = sender;
    for (const auto& f : policy.run("From: " + from + "\nSubject: hi\n\nhello\n", e).fired) {
      if (f.name == "FREEMAIL_FROM") return true;
    }
    return false;
  };
  EXPECT_TRUE(freemail_from("ann@corp.example", "ann@aol.de"));
  EXPECT_TRUE(freemail_from("ann@x.free.example", "ann@corp.example"));
  EXPECT_FALSE(freemail_from("ann@x.y.free.example", "ann@corp.example"));
  EXPECT_FALSE(freemail_from("info@gmail.com", "postmaster@gmail.com"));
  EXPECT_FALSE(freemail_from("ann@aol.co.uk", "ann@corp.example"));
  // freemail_welcomelist: an address or a domain that is never freemail.
  EXPECT_FALSE(freemail_from("friend@gmail.com", "ann@corp.example"));
  EXPECT_FALSE(freemail_from("ann@aol.fr", "ann@corp.example"));
}

TEST(SaImport, NetworkRulesInAScoreSetThatRunsThemAreReportedNotFolded) {
  const CfFile files[] = {{"net.cf",
                           "header RCVD_IN_X eval:check_rbl('x', 'zen.example.')\ntflags RCVD_IN_X net\n"
                           "body WIN /win/\nmeta WIN_NOT_LISTED WIN && !RCVD_IN_X\n"}};
  std::map<std::string, std::string> kind;
  for (const Skipped& s : import_spamassassin(files, {.score_set = 1}).report.skipped)
    kind[s.rule] = s.kind + ": " + s.reason;
  EXPECT_EQ(kind["RCVD_IN_X"], "network: a network test (score set 1 runs it; it is not run here)");
  EXPECT_EQ(kind["WIN_NOT_LISTED"].substr(0, 25), "depends: needs RCVD_IN_X ");
  const ImportResult set0 = import_spamassassin(files);
  EXPECT_NE(set0.policy.find("def WIN_NOT_LISTED = WIN"), std::string::npos) << set0.policy;
}

}  // namespace
}  // namespace mp::importer
