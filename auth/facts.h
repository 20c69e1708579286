// The facts of one message, computed on demand for the VM (a vm::FactSource):
//   spf, dkim, dkim.domains, dmarc, dmarc.policy, ptr, fcrdns, ptr.checks, helo.checks,
//   dnsbl("ZONE"), dnswl("ZONE"), mx(DOMAIN-FIELD), country(IP-FIELD), av, av.signature
//
//   dns::Resolver resolver(options);                  // one per thread, reused
//   auth::MessageFacts facts(resolver, message, envelope);
//   auto verdict = evaluator.evaluate(message, envelope, &facts);
//   facts.authentication_results();                   // RFC 8601 header value
//
// All DNS of one message shares one deadline (FactOptions::budget) and one query
// budget; prefetch() starts every first-round question together.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/dkim.h"
#include "auth/dmarc.h"
#include "auth/spf.h"
#include "av/clamd.h"
#include "dns/resolver.h"
#include "runtime/api_export.h"
#include "runtime/envelope.h"
#include "runtime/geoip.h"
#include "runtime/message.h"
#include "state/bulk.h"
#include "state/memory.h"
#include "state/store.h"
#include "vm/facts.h"
#include "vm/image.h"
#include "vm/opcodes.h"
#include "vm/vm.h"

namespace mp::auth {

struct FactOptions {
  std::chrono::milliseconds budget{10000};      // wall time for all DNS of one message
  uint32_t max_queries = 200;                   // DNS questions on the wire per message
  std::string authserv_id = "mailpolicy";       // names us in Authentication-Results
  std::shared_ptr<const runtime::GeoIp> geoip;  // for country(); none: country() has no value
  // Our relays (org.trusted_relays): DNS lists and country() judge the first client
  // outside them (client.effective_ip).
  std::vector<runtime::Cidr> trusted_relays;
  // The virus scanner for `av` and `av.signature` (address "" : none, and the facts
  // have no value). The message is scanned once, when a rule first reads either.
  av::ClamdOptions clamd;
  // What the gateway remembers (state/store.h) for reputation, net_reputation and rate;
  // none: they have no value. A store that cannot answer makes them temperror when
  // `state_tempfail` (the setting state.on_error = tempfail), else no value.
  std::shared_ptr<state::Store> store;
  state::Clock clock = state::system_clock_now;
  state::ReputationOptions reputation;
  // The Bayes classifier's training minimum (bayes/bayes.h Options: 200 spam and 200
  // ham before `bayes` has a value).
  double bayes_min_spam = 200, bayes_min_ham = 200;
  // bayes.auto_learn: after the verdict, learn a message whose score without Bayes is
  // at or above `auto_learn_spam` as spam, one passed on at or below `auto_learn_ham`
  // as ham (bayes/bayes.h AutoLearn).
  bool auto_learn = false;
  double auto_learn_spam = 12, auto_learn_ham = 0.1;
  bool state_tempfail = false;
  // org.spamtraps: addresses no one uses; mail to one raises its client's reputation.
  std::vector<std::string> spamtraps;
  // org.groups: the group level of the recipients' sender lists (sender_list).
  std::vector<vm::RecipientGroup> groups;
};

struct ReverseDns {
  bool temp_error = false;
  std::string detail;
  std::vector<std::string> names;  // PTR names
  std::string confirmed;           // the first name whose addresses include the client
};

// Holds references to the resolver, message and envelope: they must outlive it.
class MP_API MessageFacts final : public vm::FactSource {
 public:
  MessageFacts(dns::Resolver& resolver, const runtime::Message& message, const runtime::Envelope& envelope,
               FactOptions options = {});

  void prefetch(std::span<const vm::FactUse> facts) override;
  vm::FactValue compute(vm::FieldId fact, std::span<const std::string> arguments) override;

  // After the verdict: what the gateway learns from this message (state/memory.h).
  // Mail to a spamtrap adds 10 to its client's reputation and network reputation,
  // mail the policy rejected or quarantined (not for a fact it could not compute) 1;
  // mail whose recipients got different verdicts counts as not refused: one user's
  // blocked sender is another's newsletter.
  // Without a store nothing; a store that cannot answer is skipped, reported in the
  // returned text ("" when all went well).
  std::string learn(vm::Action action, bool decided_by_fact);
  // The same for a verdict, then Bayes auto-learning (FactOptions::auto_learn): what
  // was auto-learnt is then a log line of the verdict ("bayes: auto-learnt as spam
  // (score 14 without Bayes)"), added here.
  std::string learn(vm::Verdict& verdict);

  // How often the state store failed during this message: facts left without their
  // value (or a temperror) and learning dropped (reputation, Bayes auto-learning);
  // for the gateway's metrics. Nothing is retried or queued: state is advisory.
  struct StoreErrors {
    size_t facts = 0;
    size_t learning = 0;
  };
  const StoreErrors& store_errors() const { return store_errors_; }

  // What was computed (nullopt: no rule needed it).
  const std::optional<SpfOutcome>& spf() const { return spf_; }
  const std::optional<DkimVerification>& dkim() const { return dkim_; }
  const std::optional<DmarcResult>& dmarc() const { return dmarc_; }

  // "mailpolicy; spf=pass smtp.mailfrom=…; dkim=pass header.d=…; dmarc=pass header.from=…"
  std::string authentication_results() const;
  // ("spf", "pass"), ("dkim", "fail"), … for each authentication fact computed.
  std::vector<std::pair<std::string, std::string>> auth_summary() const;

 private:
  const SpfOutcome& need_spf();
  const DkimVerification& need_dkim();
  const DmarcResult& need_dmarc();
  const ReverseDns& need_reverse_dns();
  vm::FactValue spf_fact();
  vm::FactValue dkim_fact(bool domains);
  vm::FactValue dmarc_fact(bool policy);
  vm::FactValue ptr_fact(vm::FieldId field);
  vm::FactValue helo_fact();
  vm::FactValue dns_list_fact(std::span<const std::string> zones);
  vm::FactValue mx_fact(std::span<const std::string> fields);
  vm::FactValue country_fact(std::span<const std::string> fields);
  vm::FactValue av_fact(bool signature);
  vm::FactValue reputation_fact(vm::FieldId fact, std::span<const std::string> fields);
  vm::FactValue rate_fact(vm::FieldId fact, std::span<const std::string> arguments);
  vm::FactValue bayes_fact();
  vm::FactValue sender_list_fact();
  vm::FactValue bulk_fact(bool addresses);
  template <class Compute>
  vm::FactValue from_store(Compute&& compute);
  std::string key_of_field(std::string_view field);
  std::optional<runtime::IpAddress> ip_of_field(std::string_view field);
  std::string domain_of_field(std::string_view field) const;
  std::string dns_list_query(const std::string& zone);
  dns::Answer txt(const std::string& name);
  std::vector<std::string> from_domains() const;  // of every From mailbox, folded

  dns::Resolver& resolver_;
  const runtime::Message& message_;
  const runtime::Envelope& envelope_;
  FactOptions options_;
  dns::Resolver::Clock::time_point deadline_;
  std::optional<SpfOutcome> spf_;
  std::optional<DkimVerification> dkim_;
  std::optional<DmarcResult> dmarc_;
  std::optional<ReverseDns> reverse_;
  std::optional<av::ScanResult> scan_;
  std::optional<state::BulkFingerprint> fingerprint_;
  StoreErrors store_errors_;
};

// Generic (dynamic-pool) reverse names carry the address's digits: 1-2-3-4.dsl.example,
// host4.3.2.1.example, 001002003004.example.
bool looks_generic(std::string_view ptr_name, const runtime::IpAddress& ip);

// Loopback, RFC 1918, link-local, unique-local and unspecified addresses: an MX host
// there cannot receive mail from the Internet.
bool is_private_address(const runtime::IpAddress& ip);

}  // namespace mp::auth
