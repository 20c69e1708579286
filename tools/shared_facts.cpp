#include "tools/shared_facts.h"

#include <vector>

namespace mp::tools {

void SharedFacts::prefetch(std::span<const vm::FactUse> facts) {
  if (!inner_) return;
  std::vector<vm::FactUse> wanted;  // only what is computed here and not yet known
  for (const auto& use : facts) {
    if (!computes(use.field)) continue;
    vm::FactUse fresh{use.field, {}};
    for (const auto& argument : use.arguments) {
      if (!computed_.count({use.field, argument})) fresh.arguments.push_back(argument);
    }
    if (!fresh.arguments.empty() || (use.arguments.empty() && !computed_.count({use.field, ""}))) {
      wanted.push_back(std::move(fresh));
    }
  }
  if (!wanted.empty()) inner_->prefetch(wanted);
}

const vm::FactValue& SharedFacts::once(vm::FieldId fact, const std::string& argument) {
  auto key = std::make_pair(fact, argument);
  auto it = computed_.find(key);
  if (it != computed_.end()) return it->second;
  vm::FactValue value;
  if (computes(fact)) {
    std::vector<std::string> one;
    if (!argument.empty()) one.push_back(argument);
    value = inner_->compute(fact, one);
  } else {
    value.detail = fact == vm::FieldId::Country                                  ? "not computed: no --geoip"
                   : fact == vm::FieldId::Av || fact == vm::FieldId::AvSignature ? "not computed: no --clamd"
                   : vm::is_state_fact(fact)                                     ? "not computed: no --store"
                                             : "not computed: no --dns-server";
  }
  return computed_.emplace(key, std::move(value)).first->second;
}

vm::FactValue SharedFacts::compute(vm::FieldId fact, std::span<const std::string> arguments) {
  if (arguments.empty()) return once(fact, "");
  vm::FactValue out;
  for (const auto& argument : arguments) merge_fact_value(out, once(fact, argument));
  return out;
}

void merge_fact_value(vm::FactValue& into, vm::FactValue part) {
  for (auto& t : part.text) into.text.push_back(std::move(t));
  for (auto& ip : part.ips) into.ips.push_back(ip);
  for (double n : part.numbers) into.numbers.push_back(n);
  for (auto& a : part.arguments) into.arguments.push_back(std::move(a));
  into.temp_error = into.temp_error || part.temp_error;
  if (!part.detail.empty()) into.detail += (into.detail.empty() ? "" : "; ") + part.detail;
}

}  // namespace mp::tools
