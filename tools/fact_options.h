// The flags that say how facts (spf, dkim, dmarc, ptr, …) are computed, shared by the
// commands that evaluate messages: --dns-server, --dns-timeout, --fact-budget.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "auth/facts.h"
#include "dns/resolver.h"

namespace mp::tools {

class FactFlags {
 public:
  void add_to(CLI::App& command);
  // The resolver the flags describe; null (after printing why) on a bad --dns-server.
  std::unique_ptr<dns::Resolver> resolver() const;
  auth::FactOptions fact_options() const;

 private:
  std::vector<std::string> servers_;
  int timeout_ms_ = 2000;
  int budget_ms_ = 10000;
};

}  // namespace mp::tools
