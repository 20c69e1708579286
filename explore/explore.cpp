// The search behind policyc fuzz (explore.h): for each rule, a witness that makes it
// fire and one that reaches it without firing, each proposed by the solver over the
// witness model, written out and confirmed by the VM; a goal the witness model cannot
// meet is then put to the proof model, which says whether any message could.
#include "explore/explore.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "compiler/ir.h"
#include "explore/encode.h"
#include "explore/realize.h"
#include "explore/strings.h"

namespace mp::explore {

std::string_view goal_status_name(GoalStatus s) {
  switch (s) {
    case GoalStatus::Found: return "found";
    case GoalStatus::Impossible: return "impossible";
    case GoalStatus::NotFound: return "not-found";
    case GoalStatus::NotTried: return "not-tried";
  }
  return "not-tried";
}

std::string_view property_status_name(PropertyStatus s) {
  switch (s) {
    case PropertyStatus::Proved: return "proved";
    case PropertyStatus::Violated: return "violated";
    case PropertyStatus::Unknown: return "unknown";
    case PropertyStatus::NotTried: return "not-tried";
  }
  return "not-tried";
}

namespace {

using Clock = std::chrono::steady_clock;

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

class Search {
 public:
  Search(const compiler::IrModule& module, const vm::ImageData& image, const Judge& judge, const Probe& probe,
         const FuzzOptions& o)
      : module_(module),
        image_(image),
        judge_(judge),
        probe_(probe),
        options_(o),
        witness_model_(ctx_, Mode::Witness),
        proof_model_(ctx_, Mode::Prove),
        witness_(witness_model_, module, image, o.now),
        proof_(proof_model_, module, image, o.now),
        witness_solver_(ctx_),
        proof_solver_(ctx_) {
    witness_model_.complete_for_writing();
    strings_.emplace(ctx_, witness_model_, o.solver_timeout_ms);
    z3::params p(ctx_);
    p.set("timeout", o.solver_timeout_ms);
    witness_solver_.set(p);
    proof_solver_.set(p);
    witness_solver_.add(witness_model_.constraints());
    for (const auto& [test, relation] : witness_model_.string_tests()) witness_solver_.add_soft(!test, 1);
    for (const auto& [collection, items] : witness_model_.presence()) {
      for (const auto& item : items) witness_solver_.add_soft(!item, 2);
    }
    proof_solver_.add(proof_model_.constraints());
  }

  FuzzReport run() {
    start_ = Clock::now();
    for (uint32_t i = 0; i < witness_.rule_count(); ++i) {
      const vm::RuleInfo& r = image_.rules[i];
      report_.rules.push_back({i,
                               image_.stages[r.stage],
                               r.name,
                               r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column),
                               {},
                               {}});
    }
    for (size_t i = 0; i < module_.assertions.size(); ++i) check_property(i);
    for (uint32_t i = 0; i < witness_.rule_count(); ++i) {
      pursue(i, true);
      pursue(i, false);
    }
    report_.approximated = proof_.approximated();
    report_.seconds = elapsed();
    return std::move(report_);
  }

 private:
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  std::string rule_name(uint32_t i) const { return report_.rules[i].stage + "." + report_.rules[i].name; }

  z3::check_result check(z3::solver& s, const z3::expr& goal) {
    ++report_.solver_queries;
    s.push();
    s.add(goal);
    z3::check_result r = s.check();
    if (r != z3::sat) s.pop();
    return r;  // sat: the caller reads the model, then pops
  }

  void pursue(uint32_t i, bool fire) {
    Goal& goal = fire ? report_.rules[i].fire : report_.rules[i].not_fire;
    if (goal.status == GoalStatus::Found) return;  // an earlier witness did it
    if (elapsed() > options_.budget_seconds) {
      goal = {GoalStatus::NotTried, "the budget ran out", -1};
      return;
    }
    z3::expr want = fire ? witness_.fires(i) : witness_.reached(i) && !witness_.condition(i);
    std::optional<Witness> w;
    z3::check_result r = find_witness(want, w);
    if (r == z3::sat) {
      judge_witness(std::move(*w), rule_name(i) + (fire ? " fires" : " does not fire"));
      if (goal.status == GoalStatus::Found) return;
      goal = {GoalStatus::NotFound,
              "the message the solver proposed did not " +
                  std::string(fire ? "fire it" : "reach it unfired") + " in the VM" +
                  approximated_note(witness_.approximated_in_rule(i)),
              -1};
      return;
    }
    prove(i, fire, goal, r);
  }

  // Lazy solving: the skeleton solver picks which string tests hold, the strings
  // solver finds values for that choice; a choice it refutes is ruled out for good by
  // a clause of the tests in its unsat core (a fact about strings, true for every goal).
  z3::check_result find_witness(const z3::expr& goal, std::optional<Witness>& out) {
    constexpr int kRounds = 200;
    witness_solver_.push();
    witness_solver_.add(goal);
    z3::check_result result = z3::unknown;
    bool gave_up = false;  // a choice was ruled out without proof: unsat then means unknown
    for (int round = 0; round < kRounds && elapsed() <= options_.budget_seconds; ++round) {
      ++report_.solver_queries;
      result = witness_solver_.check();
      if (result != z3::sat) break;
      z3::model skeleton = witness_solver_.get_model();
      std::vector<z3::expr> refuted, given_up;
      ++report_.solver_queries;
      z3::check_result strings = strings_->solve(skeleton, refuted, given_up);
      if (strings == z3::sat) {
        out = realize(witness_model_, skeleton, strings_->model());
        break;
      }
      result = z3::unknown;
      gave_up = gave_up || strings == z3::unknown;
      for (const auto& clause : given_up) witness_solver_.add(clause);  // this goal only
      for (auto& lemma : refuted) {
        witness_solver_.add(lemma);
        lemmas_.push_back(std::move(lemma));
      }
    }
    witness_solver_.pop();
    if (result == z3::unsat && gave_up) result = z3::unknown;
    for (const auto& lemma : lemmas_) witness_solver_.add(lemma);  // kept for later goals
    lemmas_.clear();
    return result;
  }

  // The tests of the rule (or assertion) the solver could only guess at.
  std::string approximated_note(const std::vector<std::string>& a) const {
    return a.empty() ? "" : " (tests of " + joined(a) + " that fuzz cannot state or write yet)";
  }

  // The witness model found nothing: can any message do it?
  void prove(uint32_t i, bool fire, Goal& goal, z3::check_result witness_result) {
    z3::expr want = fire ? proof_.fires(i) : proof_.reached(i) && !proof_.condition(i);
    z3::check_result r = check(proof_solver_, want);
    if (r == z3::sat) proof_solver_.pop();
    if (r == z3::unsat && !proof_.slots_exceeded()) {
      goal = {GoalStatus::Impossible, fire ? why_never_fires(i) : why_always_fires(i), -1};
      return;
    }
    std::string why = witness_result == z3::unknown ? "the solver gave up within the time limit"
                                                    : "no message fuzz can write does it" +
                                                          approximated_note(witness_.approximated_in_rule(i));
    goal = {GoalStatus::NotFound, why, -1};
  }

  bool unsat(const z3::expr& e) {
    z3::check_result r = check(proof_solver_, e);
    if (r == z3::sat) proof_solver_.pop();
    return r == z3::unsat;
  }

  std::string why_never_fires(uint32_t i) {
    if (unsat(proof_.condition(i))) return "its condition can never be true";
    if (unsat(proof_.applicable(i) && proof_.condition(i)))
      return "no message its direction, recipients and date admit meets its condition";
    std::vector<std::string> first;
    for (uint32_t q = 0; q < i; ++q) {
      if (!proof_.terminal(q)) continue;
      if (unsat(proof_.applicable(i) && proof_.condition(i) &&
                !(proof_.applicable(q) && proof_.condition(q))))
        first.push_back(rule_name(q));
    }
    if (!first.empty()) return "every message it matches is decided first by " + joined(first);
    return "the earlier rules together decide every message it matches";
  }

  std::string why_always_fires(uint32_t i) {
    if (unsat(proof_.reached(i))) return "no message reaches it (see why it never fires)";
    return "its condition is true of every message that reaches it";
  }

  // `assert never V when C`: a message with verdict V on which C holds, confirmed by
  // the VM on the policy and on the assertion probe; else a proof that there is none.
  void check_property(size_t i) {
    const compiler::IrAssertion& a = module_.assertions[i];
    report_.properties.push_back({a.text, a.location, PropertyStatus::NotTried, "the budget ran out", -1});
    PropertyResult& p = report_.properties.back();
    if (elapsed() > options_.budget_seconds) return;
    z3::expr verdict = ctx_.int_val(static_cast<int>(a.verdict));
    std::optional<Witness> w;
    z3::check_result r = find_witness(witness_.action() == verdict && witness_.assertion(i), w);
    if (r == z3::sat) {
      bool holds = probe_(*w)[i];
      vm::Verdict v = judge_(*w);
      if (holds && v.action == a.verdict) {
        p.status = PropertyStatus::Violated;
        p.why = "";
        p.witness =
            record(std::move(*w), std::move(v), "counterexample to assertion " + std::to_string(i + 1));
        return;
      }
      p.status = PropertyStatus::Unknown;
      p.why = "the counterexample the solver proposed did not hold in the VM" +
              approximated_note(witness_.approximated_in_assertion(i));
      return;
    }
    z3::check_result proof = check(proof_solver_, proof_.action() == verdict && proof_.assertion(i));
    if (proof == z3::sat) proof_solver_.pop();
    if (proof == z3::unsat && !proof_.slots_exceeded()) {
      p.status = PropertyStatus::Proved;
      p.why = "";
      return;
    }
    p.status = PropertyStatus::Unknown;
    p.why = r == z3::unknown || proof == z3::unknown
                ? "the solver gave up within the time limit"
                : "no message fuzz can write breaks it, but it is not proved" +
                      approximated_note(witness_.approximated_in_assertion(i));
  }

  // Keeps a witness and counts the goals it meets; returns its index.
  int record(Witness w, vm::Verdict verdict, std::string purpose) {
    const int index = static_cast<int>(report_.witnesses.size());
    cover(verdict, index);
    report_.witnesses.push_back({std::move(w), std::move(verdict), std::move(purpose)});
    return index;
  }

  // Marks the goals the witness's trace meets; returns the first it met that no
  // earlier witness did ("stage.rule fires"), "" for none.
  std::string cover(const vm::Verdict& verdict, int index) {
    std::string first;
    for (const auto& t : verdict.trace) {
      if (t.rule >= report_.rules.size()) continue;
      RuleCoverage& rc = report_.rules[t.rule];
      bool fired = t.outcome == vm::RuleOutcome::Fired;
      bool unfired =
          t.outcome == vm::RuleOutcome::NotMatched || t.outcome == vm::RuleOutcome::SkippedPrefilter;
      Goal* g = fired ? &rc.fire : unfired ? &rc.not_fire : nullptr;
      if (g == nullptr || g->status == GoalStatus::Found) continue;
      *g = {GoalStatus::Found, "", index};
      if (first.empty()) first = rule_name(t.rule) + (fired ? " fires" : " does not fire");
    }
    return first;
  }

  // Keeps the witness when it meets a goal no earlier one did, named after the goal it
  // was made for when it met that one, else after the first it met.
  void judge_witness(Witness w, const std::string& purpose) {
    vm::Verdict verdict = judge_(w);
    std::string met = cover(verdict, static_cast<int>(report_.witnesses.size()));
    if (met.empty()) return;
    bool own = std::any_of(verdict.trace.begin(), verdict.trace.end(), [&](const vm::RuleTrace& t) {
      return t.rule < report_.rules.size() &&
             rule_name(t.rule) + (t.outcome == vm::RuleOutcome::Fired ? " fires" : " does not fire") ==
                 purpose;
    });
    report_.witnesses.push_back({std::move(w), std::move(verdict), own ? purpose : met});
  }

  const compiler::IrModule& module_;
  const vm::ImageData& image_;
  const Judge& judge_;
  const Probe& probe_;
  FuzzOptions options_;
  z3::context ctx_;
  MessageModel witness_model_, proof_model_;
  PolicyEncoder witness_, proof_;
  // The skeleton: an optimizer, so that of the choices that meet a goal it takes the
  // one with the fewest string tests true and the fewest items present: a small
  // message, and string problems the solver finds easy.
  z3::optimize witness_solver_;
  z3::solver proof_solver_;
  std::optional<StringSolver> strings_;  // after complete_for_writing
  std::vector<z3::expr> lemmas_;         // refuted choices of this goal, kept after its scope
  FuzzReport report_;
  Clock::time_point start_;
};

}  // namespace

FuzzReport fuzz(const compiler::IrModule& module, const vm::ImageData& image, const Judge& judge,
                const Probe& probe, const FuzzOptions& options) {
  try {
    return Search(module, image, judge, probe, options).run();
  } catch (const z3::exception& e) {
    throw std::runtime_error(std::string("the solver failed: ") + e.msg());
  }
}

}  // namespace mp::explore
