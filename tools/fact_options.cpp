#include "tools/fact_options.h"

#include <iostream>

namespace mp::tools {

void FactFlags::add_to(CLI::App& command) {
  command
      .add_option("--dns-server", servers_,
                  "DNS server for facts (IP, IP:PORT or [IPv6]:PORT), repeatable; default: /etc/resolv.conf")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command.add_option("--dns-timeout", timeout_ms_, "Milliseconds to wait for one DNS answer (per try)")
      ->check(CLI::Range(1, 60000));
  command.add_option("--fact-budget", budget_ms_, "Milliseconds all DNS of one message may take")
      ->check(CLI::Range(1, 600000));
}

std::unique_ptr<dns::Resolver> FactFlags::resolver() const {
  try {
    return std::make_unique<dns::Resolver>(
        dns::ResolverOptions{.servers = servers_, .timeout_ms = timeout_ms_, .tries = 2, .cache = nullptr});
  } catch (const std::exception& e) {
    std::cerr << "error: --dns-server: " << e.what() << "\n";
    return nullptr;
  }
}

auth::FactOptions FactFlags::fact_options() const {
  auth::FactOptions options;
  options.budget = std::chrono::milliseconds(budget_ms_);
  return options;
}

}  // namespace mp::tools
