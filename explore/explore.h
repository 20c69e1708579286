// explore/: searching a compiled policy for the messages that make its rules fire or
// not, and for messages that break a promise about its verdicts — what `policyc fuzz`
// does (docs/fuzzing.md).
//
//   auto c = mp::compiler::compile_file("policy.mp", {.keep_ir = true});
//   mp::explore::FuzzReport r = mp::explore::fuzz(*c.module, *c.image, judge, {});
//
// The rules are read as formulas over a message model (the checked IR: every test a
// pattern, set, net or comparison on a known field) and handed to the Z3 SMT solver
// (Debian libz3): a model of "rule R fires" is written out as a message, envelope and
// stated facts, and the real VM — the judge — confirms it. When the solver shows that
// no message can satisfy a goal, the goal is impossible, with the reason.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/envelope.h"
#include "vm/vm.h"

namespace mp::compiler {
struct IrModule;
}

namespace mp::explore {

// A message policyc fuzz wrote: RFC 5322 text (LF line ends), the SMTP envelope and
// the facts a policy test states for it (`.mptest` key and value: "spf", "pass").
struct Witness {
  std::string message;
  runtime::Envelope envelope;
  std::vector<std::pair<std::string, std::string>> facts;
};

// Runs a witness through the VM, tracing (vm::Verdict::trace filled): the judge of
// every witness the solver proposes. May throw; the search then stops with the error.
using Judge = std::function<vm::Verdict(const Witness&)>;

struct FuzzOptions {
  double budget_seconds = 60;          // wall time for the whole search
  unsigned solver_timeout_ms = 10000;  // per solver query
  double now = 0;                      // seconds since the epoch: rules past `until` never run
  // false: the solver's terms are kept until the process exits, for a caller that exits
  // next (policyc, as clang's -disable-free): Z3 frees a large policy's terms more
  // slowly than it searched (14 s for 5,000 prefixes after a 3 s search).
  bool free_solver = true;
};

enum class GoalStatus {
  Found,       // a witness made it happen in the VM
  Impossible,  // the solver proved no message can (why says what stops it)
  NotFound,    // neither (why says what was missing)
  NotTried     // the budget ran out first
};
std::string_view goal_status_name(GoalStatus s);

struct Goal {
  GoalStatus status = GoalStatus::NotTried;
  std::string why;   // Impossible and NotFound: the reason
  int witness = -1;  // Found: index into FuzzReport::witnesses
  double seconds = 0;  // wall time of its search and proof (0: another goal's witness met it)
};

struct RuleCoverage {
  uint32_t rule = 0;  // index in the image
  std::string stage, name, location;
  Goal fire;      // a message on which the rule fires
  Goal not_fire;  // a message that reaches the rule without its condition holding
};

enum class PropertyStatus {
  Proved,    // the solver showed that no message breaks it
  Violated,  // a witness breaks it in the VM: the counterexample
  Unknown,   // neither (why says what was missing)
  NotTried   // the budget ran out first
};
std::string_view property_status_name(PropertyStatus s);

struct PropertyResult {
  std::string text;      // `assert never allow when …` as written
  std::string location;  // file:line:col
  PropertyStatus status = PropertyStatus::NotTried;
  std::string why;
  int witness = -1;  // Violated: index into FuzzReport::witnesses
};

struct FoundWitness {
  Witness witness;
  vm::Verdict verdict;  // the VM's, traced
  std::string purpose;  // the goal it was made for: "stage.rule fires"
};

struct FuzzReport {
  std::vector<RuleCoverage> rules;
  std::vector<PropertyResult> properties;  // one per assertion, in the order written
  std::vector<FoundWitness> witnesses;
  // Fields whose tests the solver could only treat as unknown booleans.
  std::vector<std::string> approximated;
  size_t solver_queries = 0;
  double seconds = 0;
};

// Whether each assertion's condition holds for a witness (compiler::assertion_probe
// run through the VM), in the order of IrModule::assertions.
using Probe = std::function<std::vector<bool>(const Witness&)>;

// Throws std::runtime_error when the solver cannot be set up.
FuzzReport fuzz(const compiler::IrModule& module, const vm::ImageData& image, const Judge& judge,
                const Probe& probe, const FuzzOptions& options);

// Credits a witness found outside the solver (policyc fuzz --seeds: a mutated real
// message) with the goals its traced `verdict` meets that no earlier witness met, and
// the assertions it breaks (`holds[i]`: assertion i's condition holds for it, and the
// verdict is the one it forbids). Keeps it, named "<first goal met> (<origin>)", only
// when it met one; returns whether it did. The VM's word overrides a proof: a goal or
// assertion met this way is Found or Violated even when the solver said otherwise.
bool add_witness(FuzzReport& report, const compiler::IrModule& module, Witness w, vm::Verdict verdict,
                 const std::vector<bool>& holds, std::string_view origin);

// ---- Two policies (policyc fuzz --diff) -------------------------------------------
// Messages whose verdict's action differs between an old and a new policy, searched
// over one message model read by both (beyond the corpus `policyc diff` replays).

struct DiffSide {
  const compiler::IrModule* module = nullptr;
  const vm::ImageData* image = nullptr;
  Judge judge;  // need not trace
};

// One way the verdict can change: old action → new action.
struct VerdictChange {
  vm::Action old_action = vm::Action::Deliver, new_action = vm::Action::Deliver;
  Goal goal;  // Found: a message that changes this way; Impossible: none can
};

struct DiffWitness {
  Witness witness;
  vm::Verdict old_verdict, new_verdict;  // the VM's
};

struct DiffReport {
  // Proved: every message gets the same action from both policies (`changes` then
  // all impossible).
  bool equivalent = false;
  std::vector<VerdictChange> changes;  // every pair of different actions, old-major
  std::vector<DiffWitness> witnesses;
  std::vector<std::string> approximated;  // of both policies
  size_t solver_queries = 0;
  double seconds = 0;
};

// Throws std::runtime_error when the solver cannot be set up.
DiffReport fuzz_diff(const DiffSide& old_policy, const DiffSide& new_policy, const FuzzOptions& options);

}  // namespace mp::explore
