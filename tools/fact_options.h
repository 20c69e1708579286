// The flags that say how facts (spf, dkim, dmarc, ptr, …) are computed, shared by the
// commands that evaluate messages (run, test, diff): --dns-server, --dns-timeout,
// --fact-budget, --geoip, --clamd; and the one warning a run prints about facts it cannot
// compute.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/facts.h"
#include "dns/resolver.h"
#include "vm/image.h"
#include "vm/vm.h"

namespace mp::tools {

// Which facts a run can compute: the DNS facts with a resolver, country() with a
// GeoIP database.
struct FactAvailability {
  bool dns = false;
  bool geoip = false;
  bool clamd = false;
  bool store = false;
  bool computes(vm::FieldId fact) const {
    if (fact == vm::FieldId::Country) return geoip;
    if (fact == vm::FieldId::Av || fact == vm::FieldId::AvSignature) return clamd;
    if (vm::is_state_fact(fact)) return store;
    return dns;
  }
  // The flag that makes a run compute `fact`, by the same division as computes().
  static const char* flag(vm::FieldId fact) {
    if (fact == vm::FieldId::Country) return "--geoip";
    if (fact == vm::FieldId::Av || fact == vm::FieldId::AvSignature) return "--clamd";
    if (vm::is_state_fact(fact)) return "--store";
    return "--dns-server";
  }
  // Every flag, in the order warnings name them.
  static constexpr const char* kFlags[] = {"--dns-server", "--geoip", "--clamd", "--store"};
};

class FactFlags {
 public:
  // `system_resolver`: without --dns-server the command asks /etc/resolv.conf's servers
  // (run, diff); otherwise facts no case states have no value (test).
  void add_to(CLI::App& command, bool system_resolver = true);
  bool dns_server_given() const { return !servers_.empty(); }
  bool store_given() const { return !store_.empty(); }
  bool geoip_given() const { return !geoip_path_.empty(); }
  bool clamd_given() const { return !clamd_.empty(); }
  // The resolver the flags describe, sharing `cache` (null: a private one); null
  // (after printing why) on a bad --dns-server.
  std::unique_ptr<dns::Resolver> resolver(std::shared_ptr<dns::Cache> cache = nullptr) const;
  // The options for evaluating `image`'s rules (its trusted relays, the --geoip
  // database); false (after printing why) when the database cannot be opened.
  bool fact_options(const vm::ImageData& image, auth::FactOptions& out) const;

 private:
  std::vector<std::string> servers_;
  int timeout_ms_ = 2000;
  int budget_ms_ = 10000;
  std::string geoip_path_;
  std::string clamd_;
  std::string store_;  // --store: the state store (state/store.h)
  int clamd_timeout_ms_ = 30000;
};

// A fact as a policy writes it: spf, dnsbl("zen.example"), country(client.ip).
std::string fact_name(vm::FieldId fact, std::string_view argument);

// Prints to stderr, once for the whole run, which facts the programs read that
// `available` cannot compute, and the flag that would provide them:
//   warning: the policy reads spf, dmarc but no --dns-server was given: they have no value
// `unless` is appended to the sentence (test: "unless a case states them").
void warn_uncomputable(std::span<const vm::ProgramPtr> programs, FactAvailability available,
                       std::string_view unless = {});
// The same warning for facts known by name, each with the flag that computes it
// ({"bayes", "--store"}): `test` names those that some case read without stating.
void warn_uncomputable(std::span<const std::pair<std::string, std::string>> facts, std::string_view unless);

}  // namespace mp::tools
