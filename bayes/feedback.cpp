// The feedback loop (feedback.h).
#include "bayes/feedback.h"

#include <fmt/format.h>

#include "state/lists.h"
#include "state/memory.h"

namespace mp::bayes {

ReportOutcome report_message(state::Store& store, const runtime::Message& message, bool false_positive,
                             const std::optional<runtime::IpAddress>& client, double now) {
  ReportOutcome out;
  out.learned = Classifier(store).train(message, false_positive ? Class::Ham : Class::Spam);
  if (!client) {
    out.reputation = "unchanged (no client address)";
    return out;
  }
  const std::string address = state::address_subject(*client);
  const double before = state::reputation(store, address, now);
  const std::vector<std::string> subjects = {address, state::network_subject(*client)};
  state::add_reputation(store, subjects, false_positive ? -before : 10, now);
  out.reputation = fmt::format("{:g} -> {:g}", before, state::reputation(store, address, now));
  return out;
}

ReleaseOutcome release_message(state::Store& store, const runtime::Message& message,
                               std::span<const std::string> recipients, bool approve_sender) {
  ReleaseOutcome out;
  out.learned = Classifier(store).train(message, Class::Ham);
  if (!approve_sender) return out;
  for (const auto& mailbox : message.from()) {
    const auto entry = state::list_entry(mailbox.address);
    if (!entry) continue;
    for (const std::string& recipient : recipients) {
      if (recipient.find('@') == std::string::npos || !state::list_entry(recipient)) continue;
      const std::string scope = state::user_scope(recipient);
      state::list_add(store, state::ListKind::Safe, scope, *entry);
      out.approved.push_back(state::list_key(state::ListKind::Safe, scope, *entry));
    }
  }
  return out;
}

}  // namespace mp::bayes
