// The flags that say how facts (spf, dkim, dmarc, ptr, …) are computed, shared by the
// commands that evaluate messages: --dns-server, --dns-timeout, --fact-budget.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "auth/facts.h"
#include "dns/resolver.h"
#include "vm/image.h"

namespace mp::tools {

class FactFlags {
 public:
  void add_to(CLI::App& command);
  // The resolver the flags describe; null (after printing why) on a bad --dns-server.
  std::unique_ptr<dns::Resolver> resolver() const;
  // The options for evaluating `image`'s rules (its trusted relays, the --geoip
  // database); false (after printing why) when the database cannot be opened.
  bool fact_options(const vm::ImageData& image, auth::FactOptions& out) const;

 private:
  std::vector<std::string> servers_;
  int timeout_ms_ = 2000;
  int budget_ms_ = 10000;
  std::string geoip_path_;
};

}  // namespace mp::tools
