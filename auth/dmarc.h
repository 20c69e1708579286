// DMARC (RFC 7489): the record grammar, organizational domains, identifier alignment
// and policy discovery. The caller supplies the SPF and DKIM outcomes and owns the DNS:
//
//   for (const std::string& name : dmarc_queries(from_domains)) resolver.query(name, RrType::Txt, ignore);
//   ...                                     // prefetch alongside SPF and DKIM queries
//   DmarcResult r = evaluate_dmarc(input, [&](const std::string& name) {
//     return resolver.resolve(name, RrType::Txt);  // answered from the cache by now
//   }, rng());  // any uint32_t; taken modulo 100 for pct
//   if (r.status == DmarcStatus::Fail && r.policy == DmarcPolicy::Reject) ...
//
// Reporting (rua/ruf delivery, fo/rf/ri) is not done here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.h"

namespace mp::auth {

// As in Authentication-Results (RFC 7489 11.2): none = no policy record (or several),
// permerror = a record that cannot be used, temperror = DNS failure.
enum class DmarcStatus : uint8_t { None, Pass, Fail, TempError, PermError };
std::string_view dmarc_status_name(DmarcStatus status);  // "none", "pass", "fail", "temperror", "permerror"

enum class DmarcPolicy : uint8_t { None, Quarantine, Reject };
std::string_view dmarc_policy_name(DmarcPolicy policy);  // "none", "quarantine", "reject"

// A policy record (RFC 7489 6.3); absent tags have the RFC's defaults.
struct DmarcRecord {
  DmarcPolicy p = DmarcPolicy::None;   // requested handling of failing mail
  DmarcPolicy sp = DmarcPolicy::None;  // the same for subdomains of the organizational domain; p if absent
  bool strict_spf = false;             // aspf=s (exact domain match) rather than r (same organization)
  bool strict_dkim = false;            // adkim=s
  int pct = 100;                       // percentage of failing mail the policy is applied to
  std::vector<std::string> rua, ruf;   // report URIs as written (with any "!size"); invalid ones dropped
};

// Parses one TXT record. nullopt (with *error set when error is non-null) when it does
// not start with v=DMARC1, a tag is malformed or repeated (DKIM tag-list rules, which
// RFC 7489 6.3 adopts), or p, sp, adkim, aspf or pct has a bad value. A missing or bad
// p (or bad sp) is accepted when rua holds a valid URI (RFC 7489 6.6.3): the record
// then reads as "v=DMARC1; p=none" plus its rua and ruf.
// Tag names and keyword values are case-insensitive, whitespace around ; = and , is
// ignored, unknown tags (fo, rf, ri included) are skipped.
std::optional<DmarcRecord> parse_dmarc_record(std::string_view txt, std::string* error);

// The registrable domain under the public suffix list (libpsl's built-in copy):
// "a.b.example.co.uk" -> "example.co.uk". Folded (lowercase, punycode, no trailing
// dot); a public suffix itself, or a single label, is its own organizational domain.
std::string organizational_domain(std::string_view domain);

struct DmarcInput {
  // The domain of every RFC5322.From mailbox (of every From field), as the message
  // has them; order and repetition do not matter. Each is evaluated and the results
  // combined (RFC 7489 6.6.1), see evaluate_dmarc. No domain at all, or a mailbox
  // without one, gives permerror.
  std::vector<std::string> from_domains;
  std::string spf_result;                      // "pass", "fail", … as SPF concluded
  std::string spf_domain;                      // the domain SPF checked: MAIL FROM, or HELO for a null sender
  std::vector<std::string> dkim_pass_domains;  // d= of the signatures that verified
};

struct DmarcResult {
  DmarcStatus status = DmarcStatus::None;
  // What to do with the message: the published policy for a failing message after pct
  // sampling, None for every other status.
  DmarcPolicy policy = DmarcPolicy::None;
  // The record's policy for this From domain (sp for a subdomain whose record came from
  // the organizational domain, else p), for reports: set whenever a record was used.
  DmarcPolicy published_policy = DmarcPolicy::None;
  std::string record_domain;  // owner name of the record used: "_dmarc.<from>" or "_dmarc.<org>"
  std::string author_domain;  // the From domain this result is for (the decisive one of several)
  bool spf_aligned = false;
  bool dkim_aligned = false;
  std::string reason;  // one line for --explain and Authentication-Results comments
  int pct = 100;       // the record's pct
};

// TXT lookup of one name; the caller owns the DNS (and its deadline).
using TxtLookup = std::function<dns::Answer(const std::string& query_name)>;

// The names evaluate_dmarc() may look up, to prefetch: for each author domain
// "_dmarc.<from>", then "_dmarc.<organizational domain>" when that differs. Empty
// domains are skipped.
std::vector<std::string> dmarc_queries(const std::vector<std::string>& from_domains);

// Policy discovery (RFC 7489 6.6.3): the DMARC records at _dmarc.<from>, else at
// _dmarc.<organizational domain>; TXT records not starting with v=DMARC1 are ignored;
// none, or more than one, at the name used gives status none; a DNS TempError gives
// temperror. Then pass when SPF passed for an aligned domain or an aligned DKIM
// signature verified, else fail.
// With several author domains, every one counts, so neither a second mailbox nor a
// second From field can borrow another domain's pass: the message fails when any
// author domain fails, and gets the strictest policy among those that fail (RFC
// 7489 6.6.1); otherwise the first of temperror, permerror, none, pass that some
// author domain has (pass only when all pass). The result does not depend on
// the order of the mailboxes; `reason` names each author domain's outcome.
// sampling_roll (taken modulo 100, so any random number will do) implements pct: a
// failing message with roll >= pct gets the next weaker policy (reject -> quarantine,
// quarantine -> none; RFC 7489 6.6.4).
DmarcResult evaluate_dmarc(const DmarcInput& in, const TxtLookup& lookup, uint32_t sampling_roll);

}  // namespace mp::auth
