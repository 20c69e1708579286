// The two-policy search behind policyc fuzz --diff (explore.h): both policies are
// encoded over one message model, so that "old says A and new says B" is one formula;
// each pair of different actions is a goal, met by a witness both VMs confirm or
// proved impossible by the proof model.
#include <algorithm>

#include "compiler/ir.h"
#include "explore/encode.h"
#include "explore/explore.h"
#include "explore/search.h"
#include "vm/image.h"

namespace mp::explore {

namespace {

constexpr const char* kUnmodeledSettings =
    "not proved either way: the policies' settings differ in what the solver does not model (limits, "
    "trusted relays, groups, regex limits, state and learning settings)";

// Whether the two policies' settings differ in more than what the encoders read
// (org.domains, org.sending_servers, the thresholds, facts.on_temperror, state.on_error):
// the message limits, trusted relays, groups, regex limits… change what the VM reads of a
// message, which neither model sees, so no proof about the pair holds. Compared as the
// image writes them, so that a setting added later counts too.
bool unmodeled_settings_differ(const vm::Settings& a, const vm::Settings& b) {
  auto unmodeled = [](vm::Settings s) {
    vm::ImageData image;
    s.org_domains.clear();
    s.sending_servers.clear();
    s.quarantine_threshold = s.reject_threshold = 0;
    s.on_temperror = s.state_on_error = vm::TempErrorPolicy::Ignore;
    image.settings = std::move(s);
    return vm::write_image(image);
  };
  return unmodeled(a) != unmodeled(b);
}

class DiffSearch {
 public:
  DiffSearch(const DiffSide& old_policy, const DiffSide& new_policy, const FuzzOptions& o)
      : old_(old_policy),
        new_(new_policy),
        budget_(o.budget_seconds),
        witness_model_(sized(ctx_, Mode::Witness)),
        proof_model_(sized(ctx_, Mode::Prove)),
        old_witness_(witness_model_, *old_.module, *old_.image, o.now),
        new_witness_(witness_model_, *new_.module, *new_.image, o.now),
        old_proof_(proof_model_, *old_.module, *old_.image, o.now),
        new_proof_(proof_model_, *new_.module, *new_.image, o.now),
        finder_(witness_model_, o.solver_timeout_ms, budget_, report_.solver_queries),
        prover_(proof_model_, o.solver_timeout_ms, budget_, report_.solver_queries) {}

  DiffReport run() {
    for (uint8_t a = 0; a < vm::kActionCount; ++a) {
      for (uint8_t b = 0; b < vm::kActionCount; ++b) {
        if (a != b) report_.changes.push_back({vm::Action(a), vm::Action(b), {}});
      }
    }
    proofs_hold_ = !unmodeled_settings_differ(old_.image->settings, new_.image->settings);
    report_.equivalent =
        proofs_hold_ &&
        (same_action_term() || (prover_.check(old_proof_.action() != new_proof_.action()) == z3::unsat &&
                                !proof_model_.slots_exceeded()));
    for (auto& change : report_.changes) {
      if (report_.equivalent)
        change.goal = {GoalStatus::Impossible, "the policies give every message the same action", -1};
      else
        pursue(change);
    }
    report_.approximated = approximated_by({&old_witness_, &new_witness_, &old_proof_, &new_proof_});
    report_.seconds = budget_.elapsed();
    return std::move(report_);
  }

 private:
  // The two actions are one term: the encoders read the same tests (named by content)
  // and combined them the same way, so on any message, whatever its number of items,
  // the VM gives both the action of that one function of the tests' values. This needs
  // no slot per test (a policy of more tests than slots, such as the stdlib, is
  // otherwise never proved equivalent to itself or to its `policyc fmt` rewrite).
  bool same_action_term() const { return z3::eq(old_proof_.action(), new_proof_.action()); }

  // Both policies' slots are counted before either is encoded.
  MessageModel sized(z3::context& ctx, Mode mode) {
    MessageModel m(ctx, mode);
    m.keep_failed_facts();
    size_slots(m, {{old_.module, old_.image}, {new_.module, new_.image}});
    return m;
  }

  static z3::expr changes_to(const PolicyEncoder& old_p, const PolicyEncoder& new_p, const VerdictChange& c) {
    z3::context& ctx = old_p.action().ctx();
    return old_p.action() == ctx.int_val(static_cast<int>(c.old_action)) &&
           new_p.action() == ctx.int_val(static_cast<int>(c.new_action));
  }

  void pursue(VerdictChange& change) {
    if (change.goal.status == GoalStatus::Found) return;  // an earlier witness did it
    if (budget_.over()) {
      change.goal = {GoalStatus::NotTried, "the budget ran out", -1};
      return;
    }
    z3::check_result possible =
        proofs_hold_ ? prover_.check(changes_to(old_proof_, new_proof_, change)) : z3::unknown;
    if (possible == z3::unsat && !proof_model_.slots_exceeded()) {
      change.goal = {GoalStatus::Impossible, "no message gets these two actions", -1};
      return;
    }
    std::optional<Witness> w;
    z3::check_result r = finder_.find(changes_to(old_witness_, new_witness_, change), w);
    if (r == z3::sat) {
      judge_witness(std::move(*w));
      if (change.goal.status != GoalStatus::Found)
        change.goal = {GoalStatus::NotFound,
                       "the message the solver proposed did not change so in the VM" + note(), -1};
      return;
    }
    change.goal = {GoalStatus::NotFound,
                   !proofs_hold_ ? std::string(kUnmodeledSettings)
                   : r == z3::unknown || possible == z3::unknown
                       ? "the solver gave up within the time limit"
                       : "no message fuzz can write does it" + note(),
                   -1};
  }

  std::string note() const { return approximated_note(approximated_by({&old_witness_, &new_witness_})); }

  // Keeps a witness whose verdicts differ in the VM, for the change it shows (which
  // may be another than the one it was made for).
  void judge_witness(Witness w) {
    vm::Verdict old_v = old_.judge(w), new_v = new_.judge(w);
    if (old_v.action == new_v.action) return;
    auto it = std::find_if(report_.changes.begin(), report_.changes.end(), [&](const VerdictChange& c) {
      return c.old_action == old_v.action && c.new_action == new_v.action;
    });
    if (it->goal.status == GoalStatus::Found) return;
    it->goal = {GoalStatus::Found, "", static_cast<int>(report_.witnesses.size())};
    report_.witnesses.push_back({std::move(w), std::move(old_v), std::move(new_v)});
  }

  bool proofs_hold_ = true;
  const DiffSide& old_;
  const DiffSide& new_;
  Budget budget_;
  DiffReport report_;
  z3::context ctx_;
  MessageModel witness_model_, proof_model_;
  PolicyEncoder old_witness_, new_witness_, old_proof_, new_proof_;
  WitnessFinder finder_;  // after the encoders: they fill the models it reads
  Prover prover_;
};

}  // namespace

DiffReport fuzz_diff(const DiffSide& old_policy, const DiffSide& new_policy, const FuzzOptions& options) {
  try {
    return run_search(std::make_unique<DiffSearch>(old_policy, new_policy, options), options.free_solver);
  } catch (const z3::exception& e) {
    throw std::runtime_error(std::string("the solver failed: ") + e.msg());
  }
}

}  // namespace mp::explore
