// Facts a policy test states (`spf: fail`, `dnsbl("zen.example"): 127.0.0.2`,
// docs/testing.md, "Stated facts"), so that a case needs no DNS; and the FactSource
// that answers them, leaving every fact the case does not state to the facts the run
// computes (tools/shared_facts.h) and noting which of those it could not compute.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/ip.h"
#include "tools/shared_facts.h"
#include "vm/facts.h"

namespace mp::tools {

struct StatedFact {
  vm::FieldId field = vm::FieldId::Spf;
  // The zone of dnsbl/dnswl, the field of mx(...)/country(...); "" for mx and country
  // stated without one: then it answers for every field they are read with.
  std::string argument;
  std::vector<std::string> text;        // text and domain facts
  std::vector<runtime::IpAddress> ips;  // dnsbl, dnswl
  std::vector<double> numbers;          // reputation, net_reputation, rate
  bool temp_error = false;
  int line = 0;
};

// The fact a `.mptest` key names (spf, dkim.domains, dnsbl("zen.example"), mx,
// country(client.ip)), nullopt when it names none. A key that names a fact with an
// argument the language refuses (`rate_surge(subject, 1h)`) is nullopt too, and
// `problem` (when given) says what the fact takes.
std::optional<StatedFact> parse_fact_key(std::string_view key, std::string* problem = nullptr);
// Every fact key, for "did you mean" (dnsbl("ZONE") stands for the zone form).
const std::vector<std::string>& fact_keys();
// Reads the stated value into `fact`; the problem when the value is not one the fact
// can have (with the closest value of its vocabulary).
std::optional<std::string> parse_fact_value(StatedFact& fact, std::string_view value);

class StatedFacts final : public vm::FactSource {
 public:
  // Both must outlive this.
  StatedFacts(std::span<const StatedFact> stated, SharedFacts& computed)
      : stated_(stated), computed_(computed) {}

  void prefetch(std::span<const vm::FactUse> facts) override;
  vm::FactValue compute(vm::FieldId fact, std::span<const std::string> arguments) override;
  // The facts a rule read that the case does not state and the run could not compute
  // (they read as no value), as the policy writes them.
  const std::vector<std::string>& unstated() const { return unstated_; }
  // The flags that would compute them (FactAvailability::flag), each once, in the order
  // --dns-server, --geoip, --clamd, --store.
  std::vector<std::string> unstated_flags() const;
  // Each unstated fact with its flag: {"bayes", "--store"}.
  const std::vector<std::pair<std::string, std::string>>& unstated_sources() const {
    return unstated_sources_;
  }

 private:
  const StatedFact* find(vm::FieldId fact, const std::string& argument) const;
  vm::FactValue unstated(vm::FieldId fact, std::span<const std::string> arguments);

  std::span<const StatedFact> stated_;
  SharedFacts& computed_;
  std::vector<std::string> unstated_;
  std::vector<std::pair<std::string, std::string>> unstated_sources_;
};

}  // namespace mp::tools
