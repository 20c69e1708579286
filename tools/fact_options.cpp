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
  command.add_option("--geoip", geoip_path_, "MaxMind DB (GeoIP2/GeoLite2 Country or City) for country()")
      ->type_name("FILE");
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

bool FactFlags::fact_options(const vm::ImageData& image, auth::FactOptions& out) const {
  out.budget = std::chrono::milliseconds(budget_ms_);
  out.trusted_relays = image.settings.trusted_relays;
  if (geoip_path_.empty()) return true;
  try {
    out.geoip = runtime::GeoIp::open(geoip_path_);
  } catch (const std::exception& e) {
    std::cerr << "error: --geoip: " << e.what() << "\n";
    return false;
  }
  return true;
}

}  // namespace mp::tools
