// The search behind policyc fuzz (explore.h): for each rule, a witness that makes it
// fire and one that reaches it without firing, each proposed by the solver over the
// witness model, written out and confirmed by the VM; a goal the witness model cannot
// meet is then put to the proof model, which says whether any message could.
#include "explore/explore.h"

#include <algorithm>
#include <optional>

#include "compiler/ir.h"
#include "explore/encode.h"
#include "explore/search.h"

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

constexpr const char* kBudgetRanOutInSearch = "the budget ran out during its search";

// Reached and evaluated without firing: what a "does not fire" goal wants.
bool unfired(vm::RuleOutcome o) {
  return o == vm::RuleOutcome::NotMatched || o == vm::RuleOutcome::SkippedPrefilter;
}

std::string rule_name(const FuzzReport& r, uint32_t i) {
  return r.rules[i].stage + "." + r.rules[i].name;
}

// Marks the goals the witness's trace meets that are not Found yet (`also_impossible`:
// those proved impossible too); returns the first it met ("stage.rule fires"), "" for none.
std::string cover_goals(FuzzReport& r, const vm::Verdict& verdict, int index, bool also_impossible) {
  std::string first;
  for (const auto& t : verdict.trace) {
    if (t.rule >= r.rules.size()) continue;
    RuleCoverage& rc = r.rules[t.rule];
    bool fired = t.outcome == vm::RuleOutcome::Fired;
    Goal* g = fired ? &rc.fire : unfired(t.outcome) ? &rc.not_fire : nullptr;
    if (g == nullptr || g->status == GoalStatus::Found) continue;
    if (g->status == GoalStatus::Impossible && !also_impossible) continue;
    *g = {GoalStatus::Found, "", index};
    if (first.empty()) first = rule_name(r, t.rule) + (fired ? " fires" : " does not fire");
  }
  return first;
}

// The least first share of the budget a goal gets (Budget::share): two shares of an
// even split, or this.
constexpr double kMinShareSeconds = 2;

class Search {
 public:
  Search(const compiler::IrModule& module, const vm::ImageData& image, const Judge& judge, const Probe& probe,
         const FuzzOptions& o)
      : module_(module),
        image_(image),
        judge_(judge),
        probe_(probe),
        budget_(o.budget_seconds),
        witness_model_(ctx_, Mode::Witness),
        proof_model_(ctx_, Mode::Prove),
        witness_(witness_model_, module, image, o.now),
        proof_(proof_model_, module, image, o.now),
        finder_(witness_model_, o.solver_timeout_ms, budget_, report_.solver_queries),
        prover_(proof_model_, o.solver_timeout_ms, budget_, report_.solver_queries) {}

  FuzzReport run() {
    for (uint32_t i = 0; i < witness_.rule_count(); ++i) {
      const vm::RuleInfo& r = image_.rules[i];
      report_.rules.push_back({i,
                               image_.stages[r.stage],
                               r.name,
                               r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column),
                               {},
                               {}});
    }
    for (const auto& a : module_.assertions)
      report_.properties.push_back({a.text, a.location, PropertyStatus::NotTried, "the budget ran out", -1});
    std::vector<Task> tasks;
    for (size_t i = 0; i < module_.assertions.size(); ++i) tasks.push_back({static_cast<int>(i), 0, false});
    for (uint32_t i = 0; i < witness_.rule_count(); ++i) {
      tasks.push_back({-1, i, true});
      tasks.push_back({-1, i, false});
    }
    // Each task first gets a share of the budget; those whose share ran out go again,
    // in order, with what is left.
    const double share =
        std::max(kMinShareSeconds, 2 * budget_.seconds() / static_cast<double>(tasks.size()));
    std::vector<Task> again;
    for (const Task& t : tasks) {
      budget_.share(share);
      attempt(t);
      if (budget_.share_spent() && budget_.elapsed() < budget_.seconds() && !settled(t)) again.push_back(t);
    }
    budget_.unshare();
    for (const Task& t : again) {
      reset(t);
      attempt(t);
    }
    report_.approximated = approximated_by({&witness_, &proof_});
    report_.seconds = budget_.elapsed();
    return std::move(report_);
  }

 private:
  std::string rule_name(uint32_t i) const { return explore::rule_name(report_, i); }

  // A property to check (property >= 0) or a rule's goal.
  struct Task {
    int property;
    uint32_t rule;
    bool fire;
  };
  Goal& goal_of(const Task& t) {
    return t.fire ? report_.rules[t.rule].fire : report_.rules[t.rule].not_fire;
  }
  void attempt(const Task& t) {
    if (t.property >= 0)
      check_property(static_cast<size_t>(t.property));
    else
      pursue(t.rule, t.fire);
  }
  bool settled(const Task& t) {
    if (t.property >= 0) {
      PropertyStatus s = report_.properties[static_cast<size_t>(t.property)].status;
      return s == PropertyStatus::Proved || s == PropertyStatus::Violated;
    }
    GoalStatus s = goal_of(t).status;
    return s == GoalStatus::Found || s == GoalStatus::Impossible;
  }
  // A task whose share ran out, before it goes again: tried, so never "not tried".
  void reset(const Task& t) {
    if (t.property >= 0) {
      PropertyResult& p = report_.properties[static_cast<size_t>(t.property)];
      p = {p.text, p.location, PropertyStatus::Unknown, kBudgetRanOutInSearch, -1};
    } else {
      Goal& g = goal_of(t);
      g = {GoalStatus::NotFound, kBudgetRanOutInSearch, -1, g.seconds};
    }
  }

  void pursue(uint32_t i, bool fire) {
    Goal& goal = fire ? report_.rules[i].fire : report_.rules[i].not_fire;
    if (goal.status == GoalStatus::Found) return;  // an earlier witness did it
    const double start = budget_.elapsed(), before = goal.seconds;  // a first share's
    search(i, fire, goal);
    goal.seconds = before + budget_.elapsed() - start;
  }

  void search(uint32_t i, bool fire, Goal& goal) {
    // A condition the compiler reduced to false (an option's value turns the rule off, as
    // in the stdlib's `dns.spf_fail is "reject"`) or to true: no search or proof needed,
    // nor slots enough for every test of the policy, nor budget.
    if (fire && module_.rules[i].condition.op == compiler::IrOp::False) {
      goal = {GoalStatus::Impossible,
              "its condition compiles to false: a setting, option or const turns it off", -1};
      return;
    }
    // True (the stdlib's `anti_spoofing.external_tag is not ""`): whatever reaches it
    // fires it, where a proof needed more slots than the stdlib's tests leave.
    if (!fire && module_.rules[i].condition.op == compiler::IrOp::True) {
      goal = {GoalStatus::Impossible,
              "its condition compiles to true: a setting, option or const turns it on for every message", -1};
      return;
    }
    if (budget_.over()) {
      if (goal.seconds == 0) goal = {GoalStatus::NotTried, "the budget ran out", -1};
      return;  // else tried in its share: as reset left it
    }
    z3::expr want = fire ? witness_.fires(i) : witness_.reached(i) && !witness_.condition(i);
    std::optional<Witness> w;
    z3::check_result r = finder_.find(want, w);
    if (r == z3::sat) {
      judge_witness(std::move(*w), i, fire);
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

  // The witness model found nothing: can any message do it?
  void prove(uint32_t i, bool fire, Goal& goal, z3::check_result witness_result) {
    z3::expr want = fire ? proof_.fires(i) : proof_.reached(i) && !proof_.condition(i);
    z3::check_result r = prover_.check(want);
    if (r == z3::unsat && !proof_.slots_exceeded()) {
      goal = {GoalStatus::Impossible, fire ? why_never_fires(i) : why_always_fires(i), -1};
      return;
    }
    std::string why = witness_result != z3::unknown ? "no message fuzz can write does it" +
                                                          approximated_note(witness_.approximated_in_rule(i))
                      : budget_.over() ? kBudgetRanOutInSearch
                                       : "the solver gave up within the time limit";
    goal = {GoalStatus::NotFound, why, -1};
  }

  std::string why_never_fires(uint32_t i) {
    if (prover_.unsat(proof_.condition(i))) return "its condition can never be true";
    if (prover_.unsat(proof_.applicable(i) && proof_.condition(i)))
      return "no message its direction, recipients and date admit meets its condition";
    std::vector<std::string> first;
    for (uint32_t q = 0; q < i; ++q) {
      if (!proof_.terminal(q)) continue;
      if (prover_.unsat(proof_.applicable(i) && proof_.condition(i) &&
                        !(proof_.applicable(q) && proof_.condition(q))))
        first.push_back(rule_name(q));
    }
    if (!first.empty()) return "every message it matches is decided first by " + joined(first);
    return "the earlier rules together decide every message it matches";
  }

  std::string why_always_fires(uint32_t i) {
    if (prover_.unsat(proof_.reached(i))) return "no message reaches it (see why it never fires)";
    return "its condition is true of every message that reaches it";
  }

  // `assert never V when C`: a message with verdict V on which C holds, confirmed by
  // the VM on the policy and on the assertion probe; else a proof that there is none.
  void check_property(size_t i) {
    const compiler::IrAssertion& a = module_.assertions[i];
    PropertyResult& p = report_.properties[i];
    if (budget_.over()) return;
    z3::expr verdict = ctx_.int_val(static_cast<int>(a.verdict));
    std::optional<Witness> w;
    z3::check_result r = finder_.find(witness_.action() == verdict && witness_.assertion(i), w);
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
    z3::check_result proof = prover_.check(proof_.action() == verdict && proof_.assertion(i));
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

  std::string cover(const vm::Verdict& verdict, int index) {
    return cover_goals(report_, verdict, index, false);
  }

  // Keeps the witness when it meets a goal no earlier one did, named after the goal it
  // was made for (rule i fires, or not) when it met that one, else after the first it met.
  void judge_witness(Witness w, uint32_t i, bool fire) {
    vm::Verdict verdict = judge_(w);
    std::string met = cover(verdict, static_cast<int>(report_.witnesses.size()));
    if (met.empty()) return;
    bool own = std::any_of(verdict.trace.begin(), verdict.trace.end(), [&](const vm::RuleTrace& t) {
      return t.rule == i && (fire ? t.outcome == vm::RuleOutcome::Fired : unfired(t.outcome));
    });
    std::string purpose = own ? rule_name(i) + (fire ? " fires" : " does not fire") : met;
    report_.witnesses.push_back({std::move(w), std::move(verdict), std::move(purpose)});
  }

  const compiler::IrModule& module_;
  const vm::ImageData& image_;
  const Judge& judge_;
  const Probe& probe_;
  Budget budget_;
  FuzzReport report_;
  z3::context ctx_;
  MessageModel witness_model_, proof_model_;
  PolicyEncoder witness_, proof_;
  WitnessFinder finder_;  // after the encoders: they fill the models it reads
  Prover prover_;
};

}  // namespace

bool add_witness(FuzzReport& report, const compiler::IrModule& module, Witness w, vm::Verdict verdict,
                 const std::vector<bool>& holds, std::string_view origin) {
  const int index = static_cast<int>(report.witnesses.size());
  std::string met = cover_goals(report, verdict, index, true);
  for (size_t i = 0; i < report.properties.size() && i < holds.size() && i < module.assertions.size(); ++i) {
    PropertyResult& p = report.properties[i];
    if (!holds[i] || verdict.action != module.assertions[i].verdict || p.status == PropertyStatus::Violated)
      continue;
    p = {p.text, p.location, PropertyStatus::Violated, "", index};
    if (met.empty()) met = "counterexample to assertion " + std::to_string(i + 1);
  }
  if (met.empty()) return false;
  report.witnesses.push_back({std::move(w), std::move(verdict), met + " (" + std::string(origin) + ")"});
  return true;
}

FuzzReport fuzz(const compiler::IrModule& module, const vm::ImageData& image, const Judge& judge,
                const Probe& probe, const FuzzOptions& options) {
  try {
    return run_search(std::make_unique<Search>(module, image, judge, probe, options), options.free_solver);
  } catch (const z3::exception& e) {
    throw std::runtime_error(std::string("the solver failed: ") + e.msg());
  }
}

}  // namespace mp::explore
