// VM semantics, end to end (policy text → image → Evaluator on literal messages; see
// also interpreter_test.cpp and interpreter_matching_test.cpp): the evidence a fired
// rule carries (field, test and offsets), evaluator reuse across messages and
// threads, tracing, and lazy field extraction on garbage input.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runtime/message.h"
#include "tests/vm/interpreter_test_util.h"
#include "vm/vm.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;
using runtime::Message;

// ---- Evidence ------------------------------------------------------------------------

const FiredRule* fired(const Verdict& v, const std::string& name) {
  for (const auto& f : v.fired) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

TEST(VmEvidence, NamesFieldTestAndOffset) {
  Policy p(
      "stage s {\n"
      "  rule wire: if subject contains \"wire\" and sender is boss@widget.com then tag \"t\"\n"
      "  rule hdr: if header \"Received\" contains \"outlook\" then tag \"t\"\n"
      "  rule att: if any attachment (name ends with \".exe\") then tag \"t\"\n"
      "  rule ip: if client.ip in [192.0.2.0/24] then tag \"t\"\n"
      "}\n");
  std::string m =
      "Received: from mx.example by mx.widget.com\r\n"
      "Received: from a.outlook.com by mx.example\r\n"
      "From: b@widget.com\r\nSubject: Urgent wire transfer\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
      "--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
      "--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\nx\r\n"
      "--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"run.exe\"\r\n"
      "\r\nMZ\r\n--B--\r\n";
  Verdict v = p.run(m, envelope("Boss@widget.com", {}, "192.0.2.10"));
  const FiredRule* wire = fired(v, "wire");
  ASSERT_TRUE(wire);
  EXPECT_EQ(wire->stage, "s");
  EXPECT_EQ(wire->location, "test.mp:2:3");
  ASSERT_EQ(wire->evidence.size(), 2u);
  EXPECT_EQ(wire->evidence[0].field, "subject");
  EXPECT_EQ(wire->evidence[0].test, "contains \"wire\"");
  EXPECT_EQ(wire->evidence[0].item, 0u);
  EXPECT_EQ(wire->evidence[0].offset, 7);  // "Urgent wire transfer"
  EXPECT_NE(wire->evidence[0].excerpt.find("wire"), std::string::npos);
  EXPECT_EQ(wire->evidence[1].field, "sender");
  EXPECT_EQ(wire->evidence[1].offset, -1);
  EXPECT_NE(wire->evidence[1].excerpt.find("boss@widget.com"), std::string::npos) << wire->evidence[1].excerpt;

  const FiredRule* hdr = fired(v, "hdr");
  ASSERT_TRUE(hdr);
  ASSERT_EQ(hdr->evidence.size(), 1u);
  std::string label = hdr->evidence[0].field;
  for (char& ch : label) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_EQ(label, "header \"received\"") << hdr->evidence[0].field;
  EXPECT_EQ(hdr->evidence[0].test, "contains \"outlook\"");
  EXPECT_EQ(hdr->evidence[0].item, 1u);  // the second header of the message
  EXPECT_EQ(hdr->evidence[0].offset, 7);  // "from a.outlook.com …"

  const FiredRule* att = fired(v, "att");
  ASSERT_TRUE(att);
  ASSERT_EQ(att->evidence.size(), 1u);
  EXPECT_EQ(att->evidence[0].field, "attachments.name");
  EXPECT_EQ(att->evidence[0].item, 1u);  // the second attachment
  EXPECT_EQ(att->evidence[0].offset, 3);  // "run.exe"
  EXPECT_EQ(att->evidence[0].excerpt, "run.exe");

  const FiredRule* ip = fired(v, "ip");
  ASSERT_TRUE(ip);
  ASSERT_EQ(ip->evidence.size(), 1u);
  EXPECT_EQ(ip->evidence[0].field, "client.ip");
  EXPECT_EQ(ip->evidence[0].excerpt, "192.0.2.10");
}

TEST(VmEvidence, OnlyTestsThatMadeTheRuleFireAreEvidence) {
  Policy p(
      "stage s {\n"
      "  rule negated: if not subject contains \"Hello\" or size > 0 then tag \"n\"\n"
      "  rule failed_branch: if (subject contains \"Hello\" and body contains \"zzz\") or size > 0 then tag "
      "\"f\"\n"
      "}\n");
  Verdict v = p.run(simple("Hello there"));
  ASSERT_EQ(v.fired.size(), 2u);
  for (const auto& f : v.fired) {
    for (const auto& e : f.evidence) {
      ADD_FAILURE() << f.name << " reports " << e.field << " " << e.test << " as evidence";
    }
  }
}

// Hyperscan reports where a regex match ends; the start would need start-of-match
// tracking, which it only offers without single-match mode. Evidence says so: no
// start offset, and the end.
TEST(VmEvidence, RegexEvidenceGivesWhereTheMatchEnds) {
  // Hyperscan decides this one (no text of 4 bytes in every match): it reports ends.
  Policy p("if subject matches /w\\w(re|red)/ then tag \"t\"\n");
  Verdict v = p.run(simple("Urgent wire transfer"));
  ASSERT_EQ(v.fired.size(), 1u);
  ASSERT_EQ(v.fired[0].evidence.size(), 1u);
  EXPECT_EQ(v.fired[0].evidence[0].test, "matches /w\\w(re|red)/");
  EXPECT_EQ(v.fired[0].evidence[0].offset, -1);
  EXPECT_EQ(v.fired[0].evidence[0].end, 11);
}

TEST(VmEvidence, RegexPcre2ConfirmsGivesStartAndEnd) {
  // Every match contains "wire": Hyperscan finds that, PCRE2 decides, with both offsets.
  Policy p("if subject matches /wi(re|red)/ then tag \"t\"\n");
  ASSERT_EQ(p.program()->image().patterns[0].engine, vm::Engine::Prefilter);
  Verdict v = p.run(simple("Urgent wire transfer"));
  ASSERT_EQ(v.fired.size(), 1u);
  EXPECT_EQ(v.fired[0].evidence[0].offset, 7);
  EXPECT_EQ(v.fired[0].evidence[0].end, 11);
}

TEST(VmEvidence, LiteralEvidenceGivesStartAndEnd) {
  Policy p("if subject contains \"wire\" then tag \"t\"\n");
  Verdict v = p.run(simple("Urgent wire transfer"));
  ASSERT_EQ(v.fired.size(), 1u);
  ASSERT_EQ(v.fired[0].evidence.size(), 1u);
  EXPECT_EQ(v.fired[0].evidence[0].offset, 7);
  EXPECT_EQ(v.fired[0].evidence[0].end, 11);
}

// ---- Evaluators ------------------------------------------------------------------------

TEST(VmEvaluator, ReuseDoesNotLeakMatchesBetweenMessages) {
  Policy p(
      "stage s {\n"
      "  rule a: if subject contains \"alpha\" then tag \"a\"\n"
      "  rule b: if sender in [x@widget.com] then tag \"b\"\n"
      "  rule c: if any attachment (extension is \"exe\") then tag \"c\"\n"
      "  rule d: if header \"X-Flag\" contains \"on\" then tag \"d\"\n"
      "}\n");
  std::string hit = with_attachments({{"a.exe", "MZ"}});
  hit.insert(0, "X-Flag: on\r\n");
  hit.replace(hit.find("Subject: files"), 14, "Subject: alpha");
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(p.run(hit, envelope("x@widget.com")).tags, (std::vector<std::string>{"a", "b", "c", "d"}));
    EXPECT_EQ(p.run(simple("beta"), envelope("y@widget.com")).tags, std::vector<std::string>{});
  }
}

TEST(VmEvaluator, OneProgramManyThreads) {
  Policy p("if subject contains \"alpha\" and body contains \"beta\" then reject\n");
  ProgramPtr program = p.program();
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Evaluator ev(program);
      for (int i = 0; i < 50; ++i) {
        bool hit = (i + t) % 2 == 0;
        Verdict v = ev.evaluate(Message::parse(simple(hit ? "alpha" : "gamma", "beta\r\n")), {});
        if (v.action != (hit ? Action::Reject : Action::Deliver)) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(VmEvaluator, TracingDoesNotChangeTheVerdict) {
  Policy p(
      "stage s {\n"
      "  rule a: if subject contains \"x\" and not body contains \"y\" then score +6\n"
      "  rule b: if sender in [a@widget.com] or any url (domain is evil.top) then tag \"b\"\n"
      "  rule c: if subject contains \"stop\" then reject\n"
      "  rule d: if size > 0 then allow\n"
      "}\n");
  for (std::string subject : {"x", "x stop", "nothing"}) {
    Message m = Message::parse(simple(subject, "see http://evil.top/\r\n"));
    p.evaluator().set_trace(false);
    Verdict plain = p.run(m, envelope("a@widget.com"));
    p.evaluator().set_trace(true);
    Verdict traced = p.run(m, envelope("a@widget.com"));
    p.evaluator().set_trace(false);
    EXPECT_EQ(plain.action, traced.action) << subject;
    EXPECT_EQ(plain.rule, traced.rule) << subject;
    EXPECT_EQ(plain.score, traced.score) << subject;
    EXPECT_EQ(plain.tags, traced.tags) << subject;
    EXPECT_EQ(fired_names(plain), fired_names(traced)) << subject;
    EXPECT_TRUE(plain.trace.empty()) << subject;
    EXPECT_FALSE(traced.trace.empty()) << subject;
  }
}

// ---- Laziness -------------------------------------------------------------------------

TEST(VmLazy, SenderOnlyPolicyIgnoresAGarbageBody) {
  Policy p("if sender is info@widget.com then allow\nif sender.domain is evil.example then reject\n");
  std::mt19937 rng(7);
  std::string junk(1 << 20, '\0');
  for (char& c : junk) c = static_cast<char>(rng() & 0xFF);
  std::string garbage =
      "From: x@y.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"never-closed\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n--never-closed\r\nContent-Type: text/html; charset=x-unknown\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n" + junk;
  Verdict v = p.run(garbage, envelope("info@widget.com"));
  EXPECT_EQ(v.action, Action::Allow);
  EXPECT_EQ(v.rule_name, "line_1");
  EXPECT_EQ(p.run(garbage, envelope("a@evil.example")).action, Action::Reject);
  // Not even a header block.
  EXPECT_EQ(p.run(junk, envelope("info@widget.com")).action, Action::Allow);
  EXPECT_EQ(p.run(std::string(), envelope("info@widget.com")).action, Action::Allow);
}

TEST(VmLazy, BodyTestsOnGarbageDoNotCrash) {
  Policy p(
      "stage s {\n"
      "  rule a: if body contains \"x\" or html contains \"y\" or rawbody matches /z+/ then tag \"a\"\n"
      "  rule b: if any attachment (name contains \"q\") or any url (domain is evil.top) then tag \"b\"\n"
      "  rule c: if header contains \"s\" or subject contains \"s\" then tag \"c\"\n"
      "}\n");
  std::mt19937 rng(11);
  for (int round = 0; round < 20; ++round) {
    std::string junk(4096, '\0');
    for (char& c : junk) c = static_cast<char>(rng() & 0xFF);
    Verdict v = p.run((round % 2 ? "Subject: s\r\n\r\n" : "") + junk);
    EXPECT_EQ(v.action, Action::Deliver);
  }
}

}  // namespace
}  // namespace mp::vm
