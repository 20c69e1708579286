// The witness and proof solvers of a search (search.h).
#include "explore/search.h"

#include <unordered_set>

#include "explore/isolated.h"
#include "explore/realize.h"

namespace mp::explore {

namespace {

z3::params timeout_params(z3::context& ctx, unsigned timeout_ms) {
  z3::params p(ctx);
  p.set("timeout", timeout_ms);
  return p;
}

constexpr unsigned kAbstractMs = 1000;
constexpr unsigned kReasonMs = 2000;
constexpr double kReasonGraceSeconds = 5;

// Whether `e` has a term of the theory of strings (a string or a regex); each shared
// subterm is read once.
bool reads_strings(const z3::expr& e, std::unordered_set<unsigned>& seen) {
  if (!seen.insert(e.id()).second) return false;
  z3::sort s = e.get_sort();
  if (s.is_seq() || s.is_re()) return true;
  if (!e.is_app()) return false;
  for (unsigned i = 0; i < e.num_args(); ++i) {
    if (reads_strings(e.arg(i), seen)) return true;
  }
  return false;
}

// The model must be complete before the strings solver reads its variables.
MessageModel& completed(MessageModel& model) {
  model.complete_for_writing();
  return model;
}

}  // namespace

WitnessFinder::WitnessFinder(MessageModel& model, unsigned timeout_ms, const Budget& budget, size_t& queries)
    : model_(completed(model)),
      timeout_ms_(timeout_ms),
      budget_(budget),
      queries_(queries),
      strings_(model.ctx(), model, timeout_ms, budget) {}

// A fresh optimizer for each goal, not push/pop on one (Prover::check says why): the
// model, the preferences for a small message, and the lemmas learnt so far.
z3::optimize WitnessFinder::skeleton() const {
  z3::optimize o(model_.ctx());
  o.add(model_.constraints());
  for (const auto& [test, relation] : model_.string_tests()) o.add_soft(!test, 1);
  for (const auto& [collection, items] : model_.presence()) {
    for (const auto& item : items) o.add_soft(!item, 2);
  }
  if (const auto& null = model_.null_reverse_path()) o.add_soft(!*null, 2);  // a sender, unless needed
  for (const auto& preferred : model_.preferences()) o.add_soft(preferred, 1);
  for (const auto& lemma : lemmas_) o.add(lemma);
  return o;
}

// Lazy solving: the skeleton solver picks which string tests hold, the strings
// solver finds values for that choice; a choice it refutes is ruled out for good by
// a clause of the tests in its unsat core (a fact about strings, true for every goal).
z3::check_result WitnessFinder::find(const z3::expr& goal, std::optional<Witness>& out) {
  constexpr int kRounds = 200;
  z3::optimize solver = skeleton();
  solver.add(goal);
  z3::check_result result = z3::unknown;
  bool gave_up = false;  // a choice was ruled out without proof: unsat then means unknown
  for (int round = 0; round < kRounds && !budget_.over(); ++round) {
    ++queries_;
    solver.set(timeout_params(model_.ctx(), budget_.limit_ms(timeout_ms_)));
    result = solver.check();
    if (result != z3::sat) break;
    z3::model choice = solver.get_model();
    std::vector<z3::expr> refuted, given_up;
    ++queries_;
    z3::check_result strings = strings_.solve(choice, refuted, given_up);
    if (strings == z3::sat) {
      out = realize(model_, choice, strings_.model());
      break;
    }
    result = z3::unknown;
    gave_up = gave_up || !given_up.empty();  // a group timed out, whatever another's refutation
    for (const auto& clause : given_up) solver.add(clause);  // this goal only
    for (auto& lemma : refuted) {
      solver.add(lemma);
      lemmas_.push_back(std::move(lemma));
    }
  }
  if (result == z3::unsat && gave_up) result = z3::unknown;
  return result;
}

Prover::Prover(MessageModel& model, unsigned timeout_ms, const Budget& budget, size_t& queries)
    : constraints_(model.constraints()),
      abstract_(model.ctx()),
      relations_(model.ctx()),
      booleans_(model.ctx()),
      timeout_ms_(timeout_ms),
      budget_(budget),
      queries_(queries) {
  // A goal is simplified (encode.cpp): its relations too, which may change their terms.
  for (unsigned i = 0; i < model.string_relations().size(); ++i) {
    z3::expr r = model.string_relations()[i],
             b = model.ctx().bool_const(("relation!" + std::to_string(i)).c_str());
    relations_.push_back(r);
    booleans_.push_back(b);
    if (z3::expr s = r.simplify(); !z3::eq(s, r)) {
      relations_.push_back(s);
      booleans_.push_back(b);
    }
  }
  for (const auto& c : model.constraints()) {
    z3::expr a = abstracted(c);
    std::unordered_set<unsigned> seen;
    if (!reads_strings(a, seen)) abstract_.push_back(a);
  }
}

// A fresh solver for each check, not push/pop on one: Z3 4.8 crashed (SIGSEGV in
// Z3_solver_pop) popping a solver whose check a short time limit had cancelled. The
// check with strings runs in a child (isolated.h): its engines crash on a cancelled check.
z3::check_result Prover::check(const z3::expr& goal, unsigned timeout_ms) {
  ++queries_;
  z3::context& ctx = goal.ctx();
  if (!relations_.empty()) {
    z3::solver abstract(ctx);
    abstract.set(timeout_params(ctx, std::min(timeout_ms, kAbstractMs)));
    abstract.add(abstract_);
    abstract.add(abstracted(goal));
    if (abstract.check() == z3::unsat) return z3::unsat;
  }
  z3::solver s(ctx);
  s.add(constraints_);
  s.add(goal);
  return check_in_child(s, z3::expr_vector(ctx), {}, timeout_ms).result;
}

bool Prover::unsat(const z3::expr& goal) {
  if (budget_.elapsed() > budget_.seconds() + kReasonGraceSeconds) return false;
  return check(goal, std::min(timeout_ms_, kReasonMs)) == z3::unsat;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string approximated_note(const std::vector<std::string>& a) {
  return a.empty() ? "" : " (tests of " + joined(a) + " that fuzz cannot state or write yet)";
}

std::vector<std::string> approximated_by(std::initializer_list<const PolicyEncoder*> encoders) {
  std::vector<std::string> all;
  for (const PolicyEncoder* e : encoders) {
    for (const auto& a : e->approximated()) {
      if (std::find(all.begin(), all.end(), a) == all.end()) all.push_back(a);
    }
  }
  return all;
}

}  // namespace mp::explore
