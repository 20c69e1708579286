// explore-internal: a compiled policy as formulas over a MessageModel — what each rule's
// condition is, whether the evaluation reaches the rule, whether it fires, and the
// verdict's action and score, following the VM's order (vm/interpreter.cpp: first
// terminal action decides; an allow waits for the mandatory stages; scores add up and
// meet the thresholds when no rule decided).
#pragma once

#include <z3++.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir.h"
#include "explore/literals.h"
#include "explore/model.h"
#include "vm/image.h"

namespace mp::explore {

class PolicyEncoder {
 public:
  // Both must outlive the encoder. Sizes the model's slots for this module unless
  // size_slots did for several.
  PolicyEncoder(MessageModel& model, const compiler::IrModule& module, const vm::ImageData& image,
                double now);

  size_t rule_count() const { return module_.rules.size(); }
  const compiler::IrRule& rule(size_t i) const { return module_.rules[i]; }
  bool terminal(size_t i) const;

  const z3::expr& condition(size_t i) const { return conditions_[i]; }
  // The rule applies to the message: its direction, its recipients, not expired.
  const z3::expr& applicable(size_t i) const { return applicable_[i]; }
  // The evaluation reaches the rule (no earlier rule decided) and it applies.
  const z3::expr& reached(size_t i) const { return reached_[i]; }
  // Reached, no fact it reads failed, and its condition holds.
  const z3::expr& fires(size_t i) const { return fires_[i]; }
  // vm::Action as an integer, and the score the rules that fire add.
  const z3::expr& action() const { return action_; }
  // Assertion i's condition (IrModule::assertions).
  const z3::expr& assertion(size_t i) const { return assertions_[i]; }
  const z3::expr& score() const { return score_; }

  // Tests stated only as free booleans (field, as written), when the model could not
  // state them: proofs stay sound, but a witness may need them.
  const std::vector<std::string>& approximated() const { return approximated_; }
  // Those of rule i's condition, and of assertion i's.
  const std::vector<std::string>& approximated_in_rule(size_t i) const { return rule_approximated_[i]; }
  const std::vector<std::string>& approximated_in_assertion(size_t i) const {
    return assertion_approximated_[i];
  }
  // A collection had more tests than slots: a proof is then not sound.
  bool slots_exceeded() const { return m_.slots_exceeded(); }

 private:
  using Bound = std::map<vm::Collection, unsigned>;
  z3::expr node(const compiler::IrNode& n, const Bound& bound);
  z3::expr any_item(const compiler::IrNode& n, const Bound& bound, const std::string& argument,
                    const std::function<z3::expr(const ValueKey&)>& test);
  z3::expr field_test(const compiler::IrNode& n, const Bound& bound);
  z3::expr match(const compiler::IrNode& n, const Bound& bound);
  z3::expr in_set(const compiler::IrNode& n, const Bound& bound);
  z3::expr url_flags(const compiler::IrNode& n, const Bound& bound);
  std::vector<MessageModel::KnownTest> url_flag_tests(const std::string& flag);
  z3::expr in_net(const compiler::IrNode& n, const Bound& bound);
  z3::expr resembles(const compiler::IrNode& n, const Bound& bound);
  z3::expr same_value(const compiler::IrNode& n, const Bound& bound);
  z3::expr loop(const compiler::IrNode& n, const Bound& bound);
  z3::expr compare(const compiler::IrNode& n, const Bound& bound);
  std::optional<z3::expr> number(const compiler::IrNumber& x, const compiler::IrNode& n, const Bound& bound,
                                 z3::expr& has);
  z3::expr sum(const compiler::IrNode& n, const Bound& bound);
  z3::expr approximate(const compiler::IrNode& n, const Bound& bound);
  z3::expr direction();
  z3::expr in_scope(const compiler::IrRule& r);
  void chain(double now);

  MessageModel& m_;
  z3::context& ctx_;
  const compiler::IrModule& module_;
  const vm::ImageData& image_;
  // By pattern and field: a witness reads each over its field's alphabet.
  std::map<std::pair<uint32_t, vm::FieldId>, std::optional<RegexTest>> regexes_;
  std::optional<std::optional<RegexTest>> ip_literal_;  // url_flag_tests, once read
  unsigned next_placeholder_ = 0;
  z3::expr fact_tempfail(const compiler::IrRule& r);
  std::vector<z3::expr> conditions_, applicable_, reached_, fires_, assertions_;
  z3::expr action_, score_;
  std::vector<std::string> approximated_;
  std::vector<std::vector<std::string>> rule_approximated_, assertion_approximated_;
  std::vector<std::string>* approximating_ = nullptr;  // the list of the condition being encoded
};

// Gives each collection of `model` the slots the tests of all `policies` (a module
// and its image) need (a proof needs one per distinct test: the same test written
// twice, or in both policies, is one; a witness rarely needs more than two), before
// any encoder reads the model: policyc fuzz --diff reads two policies over one message.
using EncodedPolicy = std::pair<const compiler::IrModule*, const vm::ImageData*>;
void size_slots(MessageModel& model, const std::vector<EncodedPolicy>& policies);

// An IP prefix test on a 32-bit vector: (ip & mask) == network.
z3::expr ipv4_in(z3::context& ctx, const z3::expr& ip, const std::vector<runtime::Cidr>& prefixes);
// The same of the IPv6 prefixes, `ip` a 128-bit vector (MessageModel::ipv6).
z3::expr ipv6_in(z3::context& ctx, const z3::expr& ip, const std::vector<runtime::Cidr>& prefixes);

}  // namespace mp::explore
