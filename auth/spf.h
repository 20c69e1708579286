// SPF, RFC 7208: check_host() with every mechanism and modifier, macros, the 10-lookup
// and 2-void-lookup limits, include/redirect, exp= and the HELO identity. DNS goes
// through dns::Resolver; the first lookups of a record are started together so that
// one record costs about one round trip.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dns/resolver.h"
#include "runtime/ip.h"

namespace mp::auth {

enum class SpfResult : uint8_t { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };
std::string_view spf_result_name(SpfResult result);  // "none", "neutral", "pass", "fail", "softfail", …

struct SpfRequest {
  runtime::IpAddress ip;
  std::string sender;  // MAIL FROM; "" for the null sender (then the HELO identity is checked)
  std::string helo;
  std::string receiver = "unknown";  // our host name, for the %{r} macro in explanations
};

struct SpfOutcome {
  SpfResult result = SpfResult::None;
  std::string identity;      // "mailfrom" or "helo"
  std::string domain;        // the domain whose policy was evaluated
  std::string mechanism;     // the term that decided ("-all", "include:_spf.example.com"), or "default"
  std::string explanation;   // for fail: the exp= text, or the default explanation
  std::string problem;       // for temperror/permerror: what went wrong
  uint32_t dns_lookups = 0;  // DNS-interactive terms evaluated (limit 10)
};

// The RFC's default explanation when a domain's record gives none.
inline constexpr std::string_view kSpfDefaultExplanation = "SPF fail - not authorized";

// Evaluates the MAIL FROM identity (or HELO for the null sender) for `request.ip`.
// Every DNS question is bounded by `deadline`; running out is temperror.
SpfOutcome check_spf(const SpfRequest& request, dns::Resolver& resolver,
                     dns::Resolver::Clock::time_point deadline);

}  // namespace mp::auth
