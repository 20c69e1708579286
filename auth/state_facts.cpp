// The facts read from what the gateway remembers (state/memory.h): reputation,
// net_reputation and rate, and what the gateway learns from a verdict.
#include <algorithm>

#include <fmt/format.h>

#include "auth/facts.h"
#include "bayes/bayes.h"
#include "runtime/identity.h"
#include "state/bulk.h"
#include "state/lists.h"

namespace mp::auth {

using vm::FactValue;
using vm::FieldId;

namespace {

constexpr double kSpamtrapHits = 10;  // about five days for a trap to be forgotten
constexpr double kVerdictHits = 1;

}  // namespace

// Runs `compute(store, value)` on the gateway's store: without one the fact has no
// value; a store that cannot answer gives no value, or a temperror with state.on_error
// = tempfail, and says why in the detail.
template <class Compute>
FactValue MessageFacts::from_store(Compute&& compute) {
  FactValue v;
  if (!options_.store) {
    v.detail = "no state store";
    return v;
  }
  try {
    compute(*options_.store, v);
  } catch (const state::StoreUnavailable& e) {
    ++store_errors_.facts;
    FactValue failed;
    failed.temp_error = options_.state_tempfail;
    failed.detail = std::string("state store: ") + e.what() +
                    (options_.state_tempfail ? "" : " (state.on_error = ignore: no value)");
    return failed;
  }
  return v;
}

// The address whose reputation a rule reads, and its /24 or /64.
FactValue MessageFacts::reputation_fact(FieldId fact, std::span<const std::string> fields) {
  return from_store([&](state::Store& store, FactValue& v) {
    for (const std::string& field : fields) {
      const auto ip = ip_of_field(field);
      if (!ip) continue;
      const std::string subject =
          fact == FieldId::Reputation ? state::address_subject(*ip) : state::network_subject(*ip);
      v.numbers.push_back(state::reputation(store, subject, options_.clock(), options_.reputation));
      v.arguments.push_back(field);
      v.detail += (v.detail.empty() ? "" : "; ") + subject;
    }
  });
}

// "client.auth_user/3600": counts this message for the field's value and reads the
// window, or for rate_surge how many times its usual the window is. A field without a
// value (no SASL login) counts nothing and has no value.
FactValue MessageFacts::rate_fact(FieldId fact, std::span<const std::string> arguments) {
  return from_store([&](state::Store& store, FactValue& v) {
    for (const std::string& argument : arguments) {
      const size_t slash = argument.rfind('/');
      const std::string field = argument.substr(0, slash);
      const std::string key = key_of_field(field);
      if (slash == std::string::npos || key.empty()) continue;
      const double window = std::stod(argument.substr(slash + 1));
      v.arguments.push_back(argument);
      if (fact == FieldId::Rate) {
        v.numbers.push_back(state::count_event(store, field + ":" + key, window, options_.clock()));
        continue;
      }
      const state::Surge surge = state::count_surge(store, field + ":" + key, window, options_.clock());
      v.numbers.push_back(surge.ratio());
      v.detail += fmt::format("{}{}: {:g} in the last {}, usually {:.1f}", v.detail.empty() ? "" : "; ", key,
                              surge.count, vm::window_text(window), surge.usual);
    }
  });
}

// The classifier's spam probability; the trace names the strongest clues.
FactValue MessageFacts::bayes_fact() {
  return from_store([&](state::Store& store, FactValue& v) {
    bayes::Options options;
    options.min_spam = options_.bayes_min_spam;
    options.min_ham = options_.bayes_min_ham;
    const bayes::Score score = bayes::Classifier(store, options).classify(message_);
    if (!score.probability) {
      v.detail = fmt::format("not trained enough: {:g} spam and {:g} ham learnt, {:g} and {:g} needed",
                             score.totals.spam, score.totals.ham, options.min_spam, options.min_ham);
      return;
    }
    v.numbers.push_back(*score.probability);
    for (size_t i = 0; i < score.clues.size() && i < 5; ++i) {
      v.detail +=
          fmt::format("{}{} {:.2f}", i ? ", " : "clues: ", score.clues[i].token, score.clues[i].probability);
    }
  });
}

// For each recipient, in envelope order: whether their lists (their own, their groups',
// the organisation's; the narrowest that names the sender decides) block or trust the
// sender, known by the envelope sender, the From: mailboxes and the client's address.
FactValue MessageFacts::sender_list_fact() {
  std::vector<std::string> addresses;
  if (!envelope_.sender.empty()) addresses.push_back(runtime::fold_address(envelope_.sender));
  for (const auto& mailbox : message_.from()) addresses.push_back(runtime::fold_address(mailbox.address));
  const std::vector<std::string> entries =
      state::sender_entries(addresses, ip_of_field("client.effective_ip"));
  return from_store([&](state::Store& store, FactValue& v) {
    if (envelope_.recipients.empty()) v.detail = "no envelope recipient: no one's lists to read";
    for (const std::string& recipient : envelope_.recipients) {
      const std::string address = runtime::fold_address(recipient);
      const auto match = state::find_listed(
          store, state::recipient_scopes(address, vm::recipient_groups(options_.groups, address)), entries);
      v.text.emplace_back(match ? state::list_kind_name(match->kind) : "none");
      if (match)
        v.detail += fmt::format("{}{}: {} by {} ({})", v.detail.empty() ? "" : "; ", address,
                                state::list_kind_name(match->kind), match->scope, match->entry);
    }
  });
}

// Counts the message under its body's fingerprint and reads the day's count; or, for
// `addresses`, the client's address under it and the count of its network's.
FactValue MessageFacts::bulk_fact(bool addresses) {
  if (!fingerprint_) fingerprint_ = state::bulk_fingerprint(message_.body_text());  // once for both facts
  const state::BulkFingerprint& fingerprint = *fingerprint_;
  const auto client = ip_of_field("client.effective_ip");
  if (fingerprint.keys.empty() || (addresses && !client)) {
    FactValue v;
    v.detail = !options_.store            ? "no state store"
               : fingerprint.keys.empty() ? "body text too short to fingerprint"
                                          : "no client address";
    return v;
  }
  return from_store([&](state::Store& store, FactValue& v) {
    v.numbers.push_back(addresses ? state::count_bulk_addresses(store, fingerprint, *client)
                                  : state::count_bulk(store, fingerprint, options_.clock()));
    v.detail = "ssdeep " + fingerprint.ssdeep + (addresses ? " from " + state::network_subject(*client) : "");
  });
}

// The value of a one-valued envelope field, folded as the policy compares it.
std::string MessageFacts::key_of_field(std::string_view field) {
  if (field == "sender") return runtime::fold_address(envelope_.sender);
  if (field == "sender.domain" || field == "helo") return domain_of_field(field);
  if (field == "sender.local") return envelope_.sender.substr(0, envelope_.sender.rfind('@'));
  if (field == "client.auth_user") return envelope_.auth_user;
  if (field == "client.ip" || field == "client.effective_ip") {
    const auto ip = ip_of_field(field);
    return ip ? ip->str() : std::string();
  }
  return {};
}

std::string MessageFacts::learn(vm::Verdict& verdict) {
  const bool split = !verdict.per_recipient.empty();
  std::string problem = learn(verdict.action, !verdict.fact.empty() || split);
  if (!options_.auto_learn || !options_.store || !verdict.fact.empty() || split ||
      verdict.action == vm::Action::Tempfail)
    return problem;
  auto cls = bayes::auto_learn_class(verdict.score_without_bayes, {.spam_score = options_.auto_learn_spam,
                                                                   .ham_score = options_.auto_learn_ham});
  const bool passed_on = verdict.action == vm::Action::Deliver || verdict.action == vm::Action::Allow;
  if (!cls || (*cls == bayes::Class::Ham && !passed_on)) return problem;
  try {
    const bayes::Learned learned = bayes::Classifier(*options_.store).train(message_, *cls);
    verdict.logs.push_back(fmt::format("bayes: auto-learnt as {} (score {:g} without Bayes): {}",
                                       *cls == bayes::Class::Spam ? "spam" : "ham",
                                       verdict.score_without_bayes, bayes::learned_name(learned)));
  } catch (const state::StoreUnavailable& e) {
    ++store_errors_.learning;
    problem += (problem.empty() ? "" : "; ") + std::string("bayes not auto-learnt: ") + e.what();
  }
  return problem;
}

std::string MessageFacts::learn(vm::Action action, bool decided_by_fact) {
  if (!options_.store || !envelope_.client_ip) return {};
  const auto ip = ip_of_field("client.effective_ip");
  if (!ip) return {};
  const bool trapped =
      std::any_of(envelope_.recipients.begin(), envelope_.recipients.end(), [&](const auto& r) {
        return std::find(options_.spamtraps.begin(), options_.spamtraps.end(), runtime::fold_address(r)) !=
               options_.spamtraps.end();
      });
  const bool refused = (action == vm::Action::Reject || action == vm::Action::Quarantine) && !decided_by_fact;
  const double hits = (trapped ? kSpamtrapHits : 0) + (refused ? kVerdictHits : 0);
  if (hits == 0) return {};
  const std::vector<std::string> subjects = {state::address_subject(*ip), state::network_subject(*ip)};
  try {
    state::add_reputation(*options_.store, subjects, hits, options_.clock(), options_.reputation);
  } catch (const state::StoreUnavailable& e) {
    ++store_errors_.learning;
    return std::string("reputation not recorded: ") + e.what();
  }
  return {};
}

}  // namespace mp::auth
