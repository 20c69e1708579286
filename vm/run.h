// vm-internal: the state of one evaluation (Run) and the per-thread scratch it works
// in, shared by interpreter.cpp (the dispatch loop and the tests) and evaluate.cpp
// (Evaluator::evaluate: the shared part and the per-recipient runs).
#pragma once

#include <hs/hs.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "vm/field_values.h"
#include "vm/loaded.h"
#include "vm/match_state.h"

namespace mp::vm {

struct ScratchDeleter {
  void operator()(hs_scratch_t* s) const { hs_free_scratch(s); }
};

struct LoopFrame {
  Collection collection;
  uint32_t index;
  uint32_t items;
  double count;
  int64_t saved_binding;
  size_t evidence_start;
};

// A value on the stack and where the evidence for it begins in the rule's evidence
// list (see opcodes.def).
struct Slot {
  double value;
  size_t evidence_start;
};

struct VmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Evaluator::Scratch {
  std::unique_ptr<hs_scratch_t, ScratchDeleter> hs;
  std::vector<Slot> stack;
  std::vector<LoopFrame> loops;
  MatchTable patterns;
  MatchTable sets;
  std::array<int64_t, kCollectionCount> binding{};
};

class Run {
 public:
  Run(const Program& program, MatchState& matches, MessageFields& fields, Evaluator::Scratch& scratch,
      Verdict& verdict, bool tracing)
      : im_(program.image()),
        loaded_(program.loaded()),
        matches_(matches),
        fields_(fields),
        s_(scratch),
        verdict_(verdict),
        tracing_(tracing) {}

  // Runs the rules from `first_rule` on. Returns true when it stopped at `stop_rule`
  // (the verdict so far is then what every recipient's evaluation continues from),
  // false when the evaluation is complete.
  bool execute(uint8_t direction_bit, uint32_t first_rule, uint32_t stop_rule);
  // From here on the rules see recipient `item` (Collection::Recipients), a folded
  // address in `groups` (org.groups): scoped rules run when it is in their scope, and
  // sender_list reads its value only.
  void set_recipient(uint32_t item, std::string address, std::vector<std::string> groups) {
    recipient_ = item;
    recipient_address_ = std::move(address);
    recipient_groups_ = std::move(groups);
  }
  void set_now(double now) { now_ = now; }
  bool allow_pending() const { return allow_pending_; }
  void set_allow_pending(bool pending) { allow_pending_ = pending; }
  // The rule being evaluated read a fact that failed (facts.on_temperror = tempfail):
  // the verdict names the fact and the rule that needed it.
  void note_fact_failure(const FactReport& fact) {
    const RuleInfo& r = im_.rules[current_rule_];
    verdict_.fact = fact.name;
    verdict_.rule_name = r.name;
    verdict_.stage_name = im_.stages[r.stage];
    verdict_.location = r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column);
    if (!tracing_) return;
    trace_test(fact.name, "computed", false, fact.detail);
    trace_rule(current_rule_, RuleOutcome::FactUnavailable, "fact `" + fact.name + "` could not be computed");
  }

 private:
  Slot pop() {
    if (s_.stack.empty()) throw VmError("stack underflow");
    Slot v = s_.stack.back();
    s_.stack.pop_back();
    return v;
  }
  // A false value keeps no evidence: whatever its operands found is dropped.
  void push(double value, size_t evidence_start) {
    if (value == 0 && evidence_start < evidence_.size()) evidence_.resize(evidence_start);
    s_.stack.push_back({value, std::min(evidence_start, evidence_.size())});
  }
  void push(double value) { push(value, evidence_.size()); }
  double top() const {
    if (s_.stack.empty()) throw VmError("stack underflow");
    return s_.stack.back().value;
  }

  int64_t item_for(FieldId field, bool bound) const {
    Collection c = field_info(field).collection;
    if (c == Collection::Single) return -1;  // any value: facts may hold several
    if (field == FieldId::SenderList && recipient_ >= 0 && !bound) return recipient_;
    return bound ? s_.binding[static_cast<size_t>(c)] : -1;  // -1: any item
  }

  uint32_t next_applicable_rule(uint32_t rule, uint8_t direction_bit, uint32_t stop_rule);
  bool in_scope(uint32_t rule) const;
  bool match(FieldId field, uint32_t pattern, int64_t item);
  bool in_set(FieldId field, uint32_t set, int64_t item);
  std::string values_seen(FieldId field, const std::string& argument, int64_t item = -1);
  bool in_net(FieldId field, uint32_t net, int64_t item);
  bool resembles(FieldId field, uint32_t set, int64_t item);
  bool same_value(FieldId field, FieldId other, int64_t item);
  double load_number(FieldId field, int64_t item);
  double load_arg_number(FieldId field, std::string_view argument);
  void loop_begin(const Instruction& ins, size_t& pc);
  void loop_next(const Instruction& ins, size_t& pc);
  void fire(uint32_t rule);
  void terminal(const Instruction& ins);
  void finish_by_score();
  std::string str(uint32_t i) const { return i == kNoString ? std::string() : im_.strings[i]; }
  void trace_rule(uint32_t rule, RuleOutcome outcome, std::string note = {});
  void trace_test(std::string field, std::string test, bool result, std::string detail) {
    if (tracing_) tests_.push_back({std::move(field), std::move(test), result, std::move(detail)});
  }
  std::string skip_note(const RuleHot& r) const;
  std::string item_name(FieldId field, uint32_t item) {
    return fields_.item_name(field_info(field).collection, item);
  }
  // "in delivery_form.htm: " before a trace detail, for an item of a collection.
  static std::string in_item(const Evidence& e) {
    return e.item_name.empty() ? "" : "in " + e.item_name + ": ";
  }

  const ImageData& im_;
  const Program::Loaded& loaded_;
  MatchState& matches_;
  MessageFields& fields_;
  Evaluator::Scratch& s_;
  Verdict& verdict_;
  uint32_t current_rule_ = 0;
  // An `allow` decided before the mandatory stages were through: the verdict holds it
  // while only their rules still run (image.h, kMandatoryStages).
  bool allow_pending_ = false;
  double now_ = 0;          // seconds since the epoch: rules that expired before it are skipped
  int64_t recipient_ = -1;  // the recipient evaluated for, or -1: all of them
  std::string recipient_address_;
  std::vector<std::string> recipient_groups_;
  std::vector<Evidence> evidence_;
  bool tracing_;
  std::vector<TestTrace> tests_;  // tests of the current rule, when tracing
};

}  // namespace mp::vm
