#include "tools/fact_options.h"

#include <algorithm>
#include <iostream>

namespace mp::tools {

void FactFlags::add_to(CLI::App& command, bool system_resolver) {
  command
      .add_option(
          "--dns-server", servers_,
          std::string("DNS server for facts (IP, IP:PORT or [IPv6]:PORT), repeatable; ") +
              (system_resolver ? "default: /etc/resolv.conf" : "default: none, DNS facts have no value"))
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command.add_option("--dns-timeout", timeout_ms_, "Milliseconds to wait for one DNS answer (per try)")
      ->check(CLI::Range(1, 60000));
  command.add_option("--fact-budget", budget_ms_, "Milliseconds all DNS of one message may take")
      ->check(CLI::Range(1, 600000));
  command.add_option("--geoip", geoip_path_, "MaxMind DB (GeoIP2/GeoLite2 Country or City) for country()")
      ->type_name("FILE");
  command
      .add_option("--clamd", clamd_, "clamd socket for av and av.signature: unix:PATH, /PATH or HOST:PORT")
      ->type_name("ADDRESS");
  command.add_option("--clamd-timeout", clamd_timeout_ms_, "Milliseconds one virus scan may take")
      ->check(CLI::Range(1, 600000));
  command
      .add_option("--store", store_,
                  "State store for the state facts (reputation, rate, rate_surge, bayes, sender_list, "
                  "bulk.*): lmdb:PATH, redis://HOST:PORT[/DB] "
                  "(docs/state.md)")
      ->type_name("ADDRESS");
}

std::unique_ptr<dns::Resolver> FactFlags::resolver(std::shared_ptr<dns::Cache> cache) const {
  try {
    return std::make_unique<dns::Resolver>(dns::ResolverOptions{
        .servers = servers_, .timeout_ms = timeout_ms_, .tries = 2, .cache = std::move(cache)});
  } catch (const std::exception& e) {
    std::cerr << "error: --dns-server: " << e.what() << "\n";
    return nullptr;
  }
}

bool FactFlags::fact_options(const vm::ImageData& image, auth::FactOptions& out) const {
  out.budget = std::chrono::milliseconds(budget_ms_);
  out.trusted_relays = image.settings.trusted_relays;
  if (std::string problem = av::address_problem(clamd_); !clamd_.empty() && !problem.empty()) {
    std::cerr << "error: --clamd: `" << clamd_ << "`: " << problem << "\n";
    return false;
  }
  out.clamd = av::ClamdOptions{.address = clamd_, .timeout = std::chrono::milliseconds(clamd_timeout_ms_)};
  out.spamtraps = image.settings.spamtraps;
  out.groups = image.settings.groups;
  out.auto_learn = image.settings.bayes_auto_learn;
  out.auto_learn_spam = image.settings.auto_learn_spam;
  out.auto_learn_ham = image.settings.auto_learn_ham;
  out.state_tempfail = image.settings.state_on_error == vm::TempErrorPolicy::Tempfail;
  out.reputation.half_life = image.settings.reputation_half_life;
  if (!store_.empty()) {
    if (std::string problem = state::address_problem(store_); !problem.empty()) {
      std::cerr << "error: --store: `" << store_ << "`: " << problem << "\n";
      return false;
    }
    try {
      out.store = state::open_store({.address = store_});
    } catch (const std::exception& e) {
      std::cerr << "error: --store: " << e.what() << "\n";
      return false;
    }
  }
  if (geoip_path_.empty()) return true;
  try {
    out.geoip = runtime::GeoIp::open(geoip_path_);
  } catch (const std::exception& e) {
    std::cerr << "error: --geoip: " << e.what() << "\n";
    return false;
  }
  return true;
}

std::string fact_name(vm::FieldId fact, std::string_view argument) {
  std::string_view written = vm::field_info(fact).name;
  std::string base(written.substr(0, written.find('(')));
  if (!vm::takes_argument(fact)) return base;
  return argument.empty() ? std::string(written) : vm::field_label(fact, argument);
}

namespace {

// The facts the programs read that `wanted` selects, each once, in order.
template <class Wanted>
std::vector<std::string> facts_read(std::span<const vm::ProgramPtr> programs, Wanted wanted) {
  std::vector<std::string> names;
  auto add = [&names](std::string name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  };
  for (const auto& program : programs) {
    for (const vm::FactUse& use : program->facts_used()) {
      if (!wanted(use.field)) continue;
      if (use.arguments.empty()) add(fact_name(use.field, {}));
      for (const auto& argument : use.arguments) add(fact_name(use.field, argument));
    }
  }
  return names;
}

void warn(const std::vector<std::string>& names, std::string_view flag, std::string_view unless) {
  if (names.empty()) return;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  std::cerr << "warning: the policy reads " << list << " but no " << flag
            << " was given: " << (names.size() == 1 ? "it has" : "they have") << " no value" << unless
            << "\n";
}

}  // namespace

void warn_uncomputable(std::span<const vm::ProgramPtr> programs, FactAvailability available,
                       std::string_view unless) {
  std::string suffix = unless.empty() ? std::string() : " " + std::string(unless);
  // Which flag computes a fact: the one FactAvailability names for it.
  const auto needs = [](bool FactAvailability::*flag) {
    return [flag](vm::FieldId fact) {
      FactAvailability only;
      only.*flag = true;
      return only.computes(fact);
    };
  };
  if (!available.dns) warn(facts_read(programs, needs(&FactAvailability::dns)), "--dns-server", suffix);
  if (!available.geoip) warn(facts_read(programs, needs(&FactAvailability::geoip)), "--geoip", suffix);
  if (!available.clamd) warn(facts_read(programs, needs(&FactAvailability::clamd)), "--clamd", suffix);
  if (!available.store) warn(facts_read(programs, needs(&FactAvailability::store)), "--store", suffix);
}

void warn_uncomputable(std::span<const std::pair<std::string, std::string>> facts, std::string_view unless) {
  for (const char* flag : FactAvailability::kFlags) {
    std::vector<std::string> names;
    for (const auto& [name, needs] : facts) {
      if (needs == flag && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    warn(names, flag, " " + std::string(unless));
  }
}

}  // namespace mp::tools
