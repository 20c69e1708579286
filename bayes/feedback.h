// The feedback loop (issue 12): what a user or an administrator says about a message,
// turned into what the gateway remembers. Shared by `policyc report|release` and the C
// API (mp_report, mp_release) so that a web console and the command line do the same.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bayes/bayes.h"
#include "runtime/ip.h"
#include "runtime/message.h"
#include "state/store.h"

namespace mp::bayes {

struct ReportOutcome {
  Learned learned = Learned::Trained;
  std::string reputation;  // "11 -> 0", or "unchanged (no client address)"
};

// A false positive (`false_positive`: it was not spam) is learnt as ham and the client's
// reputation reset to 0 (its address and network: the reporter vouches for it); a false
// negative is learnt as spam and the client's reputation raised by 10, as a spamtrap
// hit. `now`: seconds since the epoch. Throws state::StoreUnavailable.
ReportOutcome report_message(state::Store& store, const runtime::Message& message, bool false_positive,
                             const std::optional<runtime::IpAddress>& client, double now);

struct ReleaseOutcome {
  Learned learned = Learned::Trained;
  std::vector<std::string> approved;  // the list keys added (state/lists.h)
};

// A held message released: it was wanted, so it is learnt as ham; with
// `approve_sender` its From: addresses go on each recipient's safe list (the
// recipients are addresses; one that is not is skipped). Throws state::StoreUnavailable.
ReleaseOutcome release_message(state::Store& store, const runtime::Message& message,
                               std::span<const std::string> recipients, bool approve_sender);

}  // namespace mp::bayes
