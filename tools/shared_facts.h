// The facts of one message as `diff` and `test` compute them: from an inner source
// (auth::MessageFacts) only the facts this run can compute (FactAvailability), every
// other one reading as no value; and each fact computed once, so that every evaluation
// of the message (diff's old and new policy, test's re-run with the trace) sees the
// same answers, whatever DNS does in between: a diff then shows policy changes, not
// DNS flakiness.
#pragma once

#include <map>
#include <span>
#include <string>
#include <utility>

#include "tools/fact_options.h"
#include "vm/facts.h"

namespace mp::tools {

class SharedFacts final : public vm::FactSource {
 public:
  // `inner` may be null (nothing is computed); it must outlive this.
  SharedFacts(vm::FactSource* inner, FactAvailability available) : inner_(inner), available_(available) {}

  void prefetch(std::span<const vm::FactUse> facts) override;
  vm::FactValue compute(vm::FieldId fact, std::span<const std::string> arguments) override;
  bool computes(vm::FieldId fact) const { return inner_ != nullptr && available_.computes(fact); }

 private:
  const vm::FactValue& once(vm::FieldId fact, const std::string& argument);

  vm::FactSource* inner_;
  FactAvailability available_;
  // By fact and argument ("" for facts without one): a fact with several arguments is
  // computed per argument, so that two policies reading different zones still agree
  // on the zones they share.
  std::map<std::pair<vm::FieldId, std::string>, vm::FactValue> computed_;
};

// Adds `part` (the values of some arguments of a fact) to `into`.
void merge_fact_value(vm::FactValue& into, vm::FactValue part);

}  // namespace mp::tools
