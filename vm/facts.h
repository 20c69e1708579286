// Facts: fields whose values are not in the message but must be computed — SPF, DKIM,
// DMARC, reverse DNS — usually with DNS. The VM asks a FactSource for them, lazily:
// only a fact some rule reads is computed, once per message. Before the rules run,
// the source is told every fact the program could read, so that it can start all
// their DNS questions together.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/api_export.h"
#include "runtime/ip.h"
#include "vm/fields.h"

namespace mp::vm {

MP_API bool is_fact(FieldId field);
// Whether one item of the field (the message, for a single field) can have several
// values at once: body.paragraphs, mime_header, message.defects, dkim.domains, the
// findings of helo.checks and mx, the A records of dnsbl, …; lint then cannot say that
// two `is` tests of it contradict.
MP_API bool several_values(FieldId field);
// The facts read from the state store (state/memory.h, bayes/bayes.h): reputation,
// net_reputation, rate, bayes.
MP_API bool is_state_fact(FieldId field);
// The facts that count the message as they read (rate, rate_surge, bulk.count,
// bulk.addresses): the VM computes them when a rule that reads them is reached, before
// its condition, so that a count never depends on what an `and` before it decided.
MP_API bool is_counting_fact(FieldId field);
// "1h", "7d", "90s": a rate window (seconds) as a policy writes it.
MP_API std::string window_text(double seconds);
// The other way: "90s", "30m", "12h", "7d", "1w" (a whole number of one unit) in
// seconds; nullopt for anything else.
MP_API std::optional<double> window_seconds(std::string_view text);
// The argument of rate(KEY-FIELD, WINDOW) or rate_surge(KEY-FIELD, WINDOW) as the
// compiler writes it, "client.auth_user/3600"; nullopt when the key field is not one a
// rate keys on (one value per message: sender, sender.domain, sender.local, helo,
// client.auth_user, client.ip, client.effective_ip), the window is not one of
// window_seconds', or a rate_surge window is longer than 3.5 days (half of its week's
// baseline, state/memory.h). The compiler and mptest's stated facts both use it.
MP_API std::optional<std::string> rate_argument(FieldId fact, std::string_view key_field,
                                                std::string_view window);
// Whether `field_name` can be the argument of country, reputation, net_reputation (an
// IP field) or mx (a domain field): a field with one value that is no fact itself.
// The compiler and mptest's stated facts both use it.
MP_API bool fact_argument_ok(FieldId fact, std::string_view field_name);
// The values a number field can have, when it has one: bayes is a probability, rate and
// bulk.count count the message itself (at least 1), the other counts, sizes and scores
// are never negative; header_number can be anything. The compiler refuses a comparison
// no value in the range satisfies (E023: `bayes > 1`, `rate(sender, 1h) < 1`).
struct NumberRange {
  double min, max;
};
MP_API NumberRange number_range(FieldId field);
// What rate_argument takes, said for a diagnostic: "`rate` takes a key field (…) and a
// window: …; e.g. `rate(client.auth_user, 1h)`".
MP_API std::string rate_argument_rules(FieldId fact);
// Fields written with an argument: header "NAME", dnsbl("ZONE"), mx(sender.domain), …
MP_API bool takes_argument(FieldId field);

struct FactValue {
  std::vector<std::string> text;        // Text and Domain facts ("pass", "example.com")
  std::vector<runtime::IpAddress> ips;  // Ip facts
  std::vector<double> numbers;          // Number facts (reputation, rate)
  std::vector<std::string> arguments;   // per value, for facts with an argument: whose value it is
  bool temp_error = false;              // could not be computed (DNS timeout, SERVFAIL)
  std::string detail;                   // for the trace: what decided, or what failed
};

// One fact a program reads, with every argument it is read with (dnsbl zones, …).
struct FactUse {
  FieldId field;
  std::vector<std::string> arguments;  // empty for facts without argument
};

class MP_API FactSource {
 public:
  virtual ~FactSource() = default;
  virtual void prefetch(std::span<const FactUse> facts) = 0;
  // For a fact with an argument: the values for each of `arguments`, each value
  // tagged in FactValue::arguments.
  virtual FactValue compute(FieldId fact, std::span<const std::string> arguments) = 0;
};

// A fact as the verdict reports it (trace, `run --format json`).
struct FactReport {
  std::string name;   // "spf"
  std::string value;  // values joined by ", " ("temperror" when it failed)
  std::string detail;
  bool temp_error = false;
  // Wall time compute() took for it (DNS included; the prefetched questions were
  // already on their way, so this is the wait that was left).
  double seconds = 0;
};

// Thrown out of a rule when a fact it reads failed and facts.on_temperror = tempfail.
struct FactUnavailable {
  FactReport fact;
};

}  // namespace mp::vm
