// explore::fuzz_diff over pairs of small policies: a change of action is found and
// confirmed by both VMs; the changes no message can make are impossible; a rewrite
// that changes nothing is proved equivalent.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "compiler/compiler.h"
#include "compiler/ir.h"
#include "explore/explore.h"
#include "runtime/message.h"
#include "vm/image_io.h"

namespace mp::explore {
namespace {

// One policy compiled, loaded and judged as policyc fuzz does.
struct Side {
  compiler::Compilation c;
  vm::ProgramPtr program;
  std::unique_ptr<vm::Evaluator> evaluator;

  explicit Side(const std::string& text) {
    compiler::CompileOptions options;
    options.keep_ir = true;
    c = compiler::compile_source("test.mp", text, options);
    if (!c.ok()) throw std::runtime_error("a test policy does not compile");
    std::string bytes = vm::write_image(*c.image);
    program = vm::Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    evaluator = std::make_unique<vm::Evaluator>(program);
  }
  DiffSide side() {
    return {c.module.get(), &*c.image, [this](const Witness& w) {
              return evaluator->evaluate(runtime::Message::parse(w.message, program->parse_options()),
                                         w.envelope);
            }};
  }
};

DiffReport diff(const std::string& old_text, const std::string& new_text) {
  Side old_side(old_text), new_side(new_text);
  FuzzOptions o;
  o.budget_seconds = 120;
  return fuzz_diff(old_side.side(), new_side.side(), o);
}

const VerdictChange& change(const DiffReport& r, vm::Action from, vm::Action to) {
  for (const auto& c : r.changes) {
    if (c.old_action == from && c.new_action == to) return c;
  }
  throw std::runtime_error("no such change");
}

constexpr const char* kOld = R"(
stage attachment_defense {
  rule executables:
    if any attachment (extension in [exe]) then reject "550 5.7.1 no executables"
}
)";

TEST(FuzzDiff, AWiderRuleRejectsWhatTheOldPolicyDelivered) {
  DiffReport r = diff(kOld, R"(
stage attachment_defense {
  rule executables:
    if any attachment (extension in [exe, scr]) then reject "550 5.7.1 no executables"
}
)");
  EXPECT_FALSE(r.equivalent);
  const VerdictChange& widened = change(r, vm::Action::Deliver, vm::Action::Reject);
  ASSERT_EQ(widened.goal.status, GoalStatus::Found) << widened.goal.why;
  const DiffWitness& w = r.witnesses[widened.goal.witness];
  EXPECT_EQ(w.old_verdict.action, vm::Action::Deliver);
  EXPECT_EQ(w.new_verdict.action, vm::Action::Reject);
  runtime::Message m = runtime::Message::parse(w.witness.message);
  bool scr = false;
  for (const auto& a : m.attachments()) scr = scr || a.extension == "scr";
  EXPECT_TRUE(scr) << w.witness.message;
  // The new policy rejects all the old one did: nothing goes the other way.
  EXPECT_EQ(change(r, vm::Action::Reject, vm::Action::Deliver).goal.status, GoalStatus::Impossible);
  EXPECT_EQ(r.witnesses.size(), 1u);
}

TEST(FuzzDiff, ConditionsWrittenInAnotherOrderAreProvedEquivalent) {
  DiffReport r = diff(R"(
if subject contains "win" and sender.domain is "spam.example" then reject "550 no"
if not (size > 1MB or from.domain in [a.example, b.example]) then quarantine "look"
)",
                      R"(
if sender.domain is "spam.example" and subject contains "win" then reject "550 no"
if size <= 1MB and from.domain not in [b.example, a.example] then quarantine "look"
)");
  EXPECT_TRUE(r.equivalent);
  EXPECT_TRUE(r.witnesses.empty());
  for (const auto& c : r.changes) EXPECT_EQ(c.goal.status, GoalStatus::Impossible);
}

// A named field's line is one of the lines `header` reads: widening a test of
// X-Spam to every field rejects more, and provably nothing less, whatever case the
// field's name is written in.
TEST(FuzzDiff, ANamedFieldIsOneOfTheLinesEveryHeaderTestReads) {
  DiffReport r = diff(R"(
if header "X-Spam" contains "yes" then reject "550 5.7.1 spam"
)",
                      R"(
if header contains "yes" then reject "550 5.7.1 spam"
)");
  EXPECT_EQ(change(r, vm::Action::Deliver, vm::Action::Reject).goal.status, GoalStatus::Found);
  const Goal& narrowed = change(r, vm::Action::Reject, vm::Action::Deliver).goal;
  EXPECT_EQ(narrowed.status, GoalStatus::Impossible) << narrowed.why;
  // The other way round, a message with "yes" in another field is delivered now.
  DiffReport back = diff("if header contains \"yes\" then reject \"550 5.7.1 spam\"\n",
                         "if header \"X-Spam\" contains \"yes\" then reject \"550 5.7.1 spam\"\n");
  EXPECT_EQ(change(back, vm::Action::Reject, vm::Action::Deliver).goal.status, GoalStatus::Found);
  EXPECT_EQ(change(back, vm::Action::Deliver, vm::Action::Reject).goal.status, GoalStatus::Impossible);
}

TEST(FuzzDiff, AnAllowMovedAfterARejectShowsBothWays) {
  const char* old_text = R"(
stage custom_filters {
  rule partner:
    if sender is info@widget.com then allow
  rule invoices:
    if subject contains "invoice" then reject "550 5.7.1 no invoices"
}
)";
  const char* new_text = R"(
stage custom_filters {
  rule invoices:
    if subject contains "invoice" then reject "550 5.7.1 no invoices"
  rule partner:
    if sender is info@widget.com then allow
}
)";
  DiffReport r = diff(old_text, new_text);
  const VerdictChange& c = change(r, vm::Action::Allow, vm::Action::Reject);
  ASSERT_EQ(c.goal.status, GoalStatus::Found) << c.goal.why;
  const DiffWitness& w = r.witnesses[c.goal.witness];
  EXPECT_EQ(w.witness.envelope.sender, "info@widget.com");
  EXPECT_EQ(w.old_verdict.rule_name, "partner");
  EXPECT_EQ(w.new_verdict.rule_name, "invoices");
  EXPECT_EQ(change(r, vm::Action::Reject, vm::Action::Allow).goal.status, GoalStatus::Impossible);
  EXPECT_EQ(change(r, vm::Action::Deliver, vm::Action::Reject).goal.status, GoalStatus::Impossible);
}

// A DNS fact that could not be computed tempfails the message at the first rule that
// reads it (facts.on_temperror = tempfail): a rule that reads spf is not the same as
// `true`, however its condition reads, and a rule added that reads spf can tempfail
// what the old policy delivered. Neither may be claimed impossible.
TEST(FuzzDiff, AFactThatFailsCanTempfailAndIsNeverProvedAway) {
  DiffReport tautology = diff(R"(
stage custom_filters {
  rule r: if spf is "fail" or spf is not "fail" then quarantine "q"
}
)",
                              R"(
stage custom_filters {
  rule r: if true then quarantine "q"
}
)");
  EXPECT_FALSE(tautology.equivalent);
  EXPECT_NE(change(tautology, vm::Action::Tempfail, vm::Action::Quarantine).goal.status,
            GoalStatus::Impossible);

  DiffReport added = diff(R"(if subject contains "hello" then quarantine "hello")",
                          R"(if subject contains "hello" then quarantine "hello"
if spf is "fail" then reject "550 5.7.1 spf")");
  EXPECT_NE(change(added, vm::Action::Deliver, vm::Action::Tempfail).goal.status, GoalStatus::Impossible);
  // With facts.on_temperror = ignore a failed fact reads as temperror and rules go on.
  DiffReport ignored = diff(R"(settings {
  facts.on_temperror = ignore
}
stage custom_filters {
  rule r: if spf is "fail" or spf is not "fail" then quarantine "q"
}
)",
                            R"(settings {
  facts.on_temperror = ignore
}
stage custom_filters {
  rule r: if true then quarantine "q"
}
)");
  EXPECT_EQ(change(ignored, vm::Action::Tempfail, vm::Action::Quarantine).goal.status,
            GoalStatus::Impossible);
}

// The same policy read twice is proved equivalent even when it reads facts: a failed
// fact stops both at the same rule.
TEST(FuzzDiff, APolicyThatReadsFactsIsEquivalentToItself) {
  const char* text = R"(
stage custom_filters {
  rule spf_fail: if spf is "fail" and subject contains "x" then reject "550 5.7.1 spf"
  rule listed: if dnsbl("zen.example") in [127.0.0.2/31] then quarantine "listed"
}
)";
  EXPECT_TRUE(diff(text, text).equivalent);
}

// Five tests of From, each written twice, and the same in both policies: five slots
// a proof needs, not 20 (more than the six the model has, which left the widget example's
// policy unproved against itself). The new policy writes each condition the other way
// round, so the solver has to prove it.
TEST(FuzzDiff, ATestWrittenTwiceNeedsOneSlot) {
  std::string old_text = "stage custom_filters {\n", new_text = old_text;
  for (int i = 0; i < 5; ++i) {
    for (int copy = 0; copy < 2; ++copy) {
      std::string name = "r" + std::to_string(i) + "_" + std::to_string(copy);
      std::string from = "from.domain is \"d" + std::to_string(i) + ".example\"";
      std::string subject = "subject contains \"" + std::to_string(copy) + "\"";
      old_text += "  rule " + name + ": if " + from + " and " + subject + " then score +1\n";
      new_text += "  rule " + name + ": if " + subject + " and " + from + " then score +1\n";
    }
  }
  old_text += "}\n";
  new_text += "}\n";
  DiffReport r = diff(old_text, new_text);
  EXPECT_TRUE(r.equivalent);
  EXPECT_GT(r.solver_queries, 0u);
  EXPECT_EQ(change(r, vm::Action::Deliver, vm::Action::Quarantine).goal.why,
            "the policies give every message the same action");
}

// The stdlib pipeline has more tests of some collections than the model has slots;
// read twice, its two actions are one term, which proves them equal for any message.
TEST(FuzzDiff, TheStdlibPipelineIsEquivalentToItself) {
  std::ifstream in(std::string(MP_SOURCE_DIR) + "/examples/stdlib/policy.mp");
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_FALSE(text.str().empty());
  DiffReport r = diff(text.str(), text.str());
  EXPECT_TRUE(r.equivalent);
  EXPECT_EQ(r.solver_queries, 0u);
}

// Two `resembles` tests of different lists are different tests: they were named by
// their table index (0 in both), so editing the executives' list was "proved" a no-op.
TEST(FuzzDiff, ResemblingAnotherListIsAnotherTest) {
  DiffReport r = diff(R"(if from.display_name resembles ["Jane Widget"] then reject)",
                      R"(if from.display_name resembles ["John Smith"] then reject)");
  EXPECT_FALSE(r.equivalent);
  EXPECT_NE(change(r, vm::Action::Reject, vm::Action::Deliver).goal.status, GoalStatus::Impossible);
}

// A setting the models do not read (a message limit, trusted relays, a regex limit…)
// changes what the VM reads of a message: nothing about the pair is proved, where the
// same rules under header.max_fields = 1 were "proved" to act the same.
TEST(FuzzDiff, SettingsTheModelsDoNotReadStopEveryProof) {
  const char* rule = "if subject contains \"x\" then reject\n";
  for (const char* setting : {"header.max_fields = 1", "org.trusted_relays = [10.0.0.1]",
                              "regex.match_limit = 1", "mime.max_parts = 1"}) {
    DiffReport r = diff(rule, std::string("settings { ") + setting + " }\n" + rule);
    EXPECT_FALSE(r.equivalent) << setting;
    for (const auto& c : r.changes) {
      EXPECT_NE(c.goal.status, GoalStatus::Impossible) << setting;
      if (c.goal.status != GoalStatus::NotFound) continue;
      EXPECT_NE(c.goal.why.find("settings differ in what the solver does not model"), std::string::npos)
          << c.goal.why;
    }
  }
  // The thresholds are modelled: a change there is still proved or found.
  DiffReport thresholds = diff(rule, std::string("settings { spam.threshold.quarantine = 4.0 }\n") + rule);
  EXPECT_TRUE(thresholds.equivalent);
}

}  // namespace
}  // namespace mp::explore
