// DMARC evaluation in three steps: find the one policy record (RFC 7489 6.6.3), parse
// it as a DKIM-style tag-list (6.3, 6.4), and decide alignment of the SPF and DKIM
// identifiers with the From domain (3.1), applying pct sampling (6.6.4) to a failure.
#include "auth/dmarc.h"

#include <algorithm>
#include <charconv>

#include "runtime/identity.h"
#include "runtime/url_form.h"

namespace mp::auth {
namespace {

struct Tag {
  std::string_view name;
  std::string_view value;
};

// A tag-list's folding whitespace (RFC 6376 3.2), CR and LF included.
std::string_view trim(std::string_view text) {
  constexpr std::string_view kWhitespace = " \t\r\n";
  const size_t first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kWhitespace) - first + 1);
}

bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](char x, char y) { return lower(x) == lower(y); });
}

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// Splits "name=value" at the first '='; nullopt for a segment without one or without a name.
std::optional<Tag> split_tag(std::string_view segment) {
  const size_t equals = segment.find('=');
  if (equals == std::string_view::npos) return std::nullopt;
  const Tag tag{trim(segment.substr(0, equals)), trim(segment.substr(equals + 1))};
  if (tag.name.empty()) return std::nullopt;
  return tag;
}

// Empty segments (";;", a trailing ";") are skipped rather than rejected: they carry
// nothing and are common in published records.
std::optional<std::vector<Tag>> split_tag_list(std::string_view txt, std::string& error) {
  std::vector<Tag> tags;
  while (!txt.empty()) {
    const size_t semicolon = txt.find(';');
    const std::string_view segment = trim(txt.substr(0, semicolon));
    txt = semicolon == std::string_view::npos ? std::string_view() : txt.substr(semicolon + 1);
    if (segment.empty()) continue;
    const std::optional<Tag> tag = split_tag(segment);
    if (!tag) {
      error = "malformed tag " + quoted(segment);
      return std::nullopt;
    }
    const bool repeated =
        std::any_of(tags.begin(), tags.end(), [&](const Tag& seen) { return iequals(seen.name, tag->name); });
    if (repeated) {
      error = "tag " + std::string(tag->name) + " appears twice";
      return std::nullopt;
    }
    tags.push_back(*tag);
  }
  return tags;
}

bool is_version_tag(const Tag& tag) {
  return iequals(tag.name, "v") && iequals(tag.value, "DMARC1");
}

// Policy discovery keeps only TXT records that start with v=DMARC1 (RFC 7489 6.6.3
// step 2), whatever the rest of the record looks like.
bool starts_with_dmarc_version(std::string_view txt) {
  const std::optional<Tag> first = split_tag(trim(txt.substr(0, txt.find(';'))));
  return first && is_version_tag(*first);
}

std::optional<DmarcPolicy> parse_policy(std::string_view value) {
  for (DmarcPolicy policy : {DmarcPolicy::None, DmarcPolicy::Quarantine, DmarcPolicy::Reject}) {
    if (iequals(value, dmarc_policy_name(policy))) return policy;
  }
  return std::nullopt;
}

// adkim / aspf: "s" strict, "r" relaxed.
std::optional<bool> parse_strictness(std::string_view value) {
  if (iequals(value, "s")) return true;
  if (iequals(value, "r")) return false;
  return std::nullopt;
}

std::optional<int> parse_pct(std::string_view value) {
  unsigned pct = 0;  // unsigned: from_chars then refuses a sign
  const auto [end, status] = std::from_chars(value.data(), value.data() + value.size(), pct);
  if (status != std::errc() || end != value.data() + value.size() || pct > 100) return std::nullopt;
  return static_cast<int>(pct);
}

// An absolute URI (RFC 3986 scheme ":" rest) with no whitespace or controls; the
// optional "!size" suffix is within what that allows.
bool is_valid_uri(std::string_view uri) {
  const size_t colon = uri.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 == uri.size()) return false;
  auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto is_scheme_char = [&](char c) {
    return is_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
  };
  const std::string_view scheme = uri.substr(0, colon);
  if (!is_alpha(scheme.front()) || !std::all_of(scheme.begin(), scheme.end(), is_scheme_char)) return false;
  return std::none_of(uri.begin(), uri.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

// rua / ruf: a comma-separated list. Invalid URIs are dropped rather than failing the
// record, since 6.6.3 asks only for "at least one syntactically valid reporting URI".
std::vector<std::string> parse_uris(std::string_view value) {
  std::vector<std::string> uris;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view uri = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    if (is_valid_uri(uri)) uris.emplace_back(uri);
  }
  return uris;
}

// The tags of a record that has passed the v=DMARC1 check, before p and sp are settled.
struct ParsedTags {
  DmarcRecord record;
  std::optional<DmarcPolicy> p, sp;
  std::string policy_problem;  // why p or sp cannot be used, "" when they can
};

std::string bad_value(const Tag& tag, std::string_view expected) {
  return "bad " + std::string(tag.name) + " value " + quoted(tag.value) + " (" + std::string(expected) + ")";
}

// Reads one tag into `parsed`; false (with error set) for a value the record cannot have.
// A bad p or sp is only noted: settle_policy() decides whether rua rescues the record.
bool read_tag(const Tag& tag, ParsedTags& parsed, std::string& error) {
  DmarcRecord& record = parsed.record;
  if (iequals(tag.name, "p") || iequals(tag.name, "sp")) {
    std::optional<DmarcPolicy>& policy = iequals(tag.name, "p") ? parsed.p : parsed.sp;
    policy = parse_policy(tag.value);
    if (!policy) parsed.policy_problem = bad_value(tag, "none, quarantine or reject");
  } else if (iequals(tag.name, "adkim") || iequals(tag.name, "aspf")) {
    const std::optional<bool> strict = parse_strictness(tag.value);
    if (!strict) {
      error = bad_value(tag, "r or s");
      return false;
    }
    (iequals(tag.name, "adkim") ? record.strict_dkim : record.strict_spf) = *strict;
  } else if (iequals(tag.name, "pct")) {
    const std::optional<int> pct = parse_pct(tag.value);
    if (!pct) {
      error = bad_value(tag, "an integer 0..100");
      return false;
    }
    record.pct = *pct;
  } else if (iequals(tag.name, "rua")) {
    record.rua = parse_uris(tag.value);
  } else if (iequals(tag.name, "ruf")) {
    record.ruf = parse_uris(tag.value);
  }
  return true;
}

// Settles p and sp, or falls back to p=none when rua is usable (RFC 7489 6.6.3 step 6):
// the record then counts as just "v=DMARC1; p=none", keeping its report addresses.
std::optional<DmarcRecord> settle_policy(ParsedTags parsed, std::string& error) {
  if (!parsed.p && parsed.policy_problem.empty()) parsed.policy_problem = "no p tag";
  if (parsed.policy_problem.empty()) {
    parsed.record.p = *parsed.p;
    parsed.record.sp = parsed.sp.value_or(*parsed.p);
    return parsed.record;
  }
  if (parsed.record.rua.empty()) {
    error = parsed.policy_problem + " and no valid rua";
    return std::nullopt;
  }
  DmarcRecord reporting_only;
  reporting_only.rua = std::move(parsed.record.rua);
  reporting_only.ruf = std::move(parsed.record.ruf);
  return reporting_only;
}

std::optional<DmarcRecord> parse_record(std::string_view txt, std::string& error) {
  if (!starts_with_dmarc_version(txt)) {
    error = "does not start with v=DMARC1";
    return std::nullopt;
  }
  const std::optional<std::vector<Tag>> tags = split_tag_list(txt, error);
  if (!tags) return std::nullopt;
  ParsedTags parsed;
  for (auto tag = tags->begin() + 1; tag != tags->end(); ++tag) {  // past v=DMARC1
    if (!read_tag(*tag, parsed, error)) return std::nullopt;
  }
  return settle_policy(std::move(parsed), error);
}

// --- policy discovery -------------------------------------------------------------

std::string record_name(std::string_view domain) {
  return "_dmarc." + std::string(domain);
}

struct RecordsAt {
  std::string name;                  // the name asked
  std::vector<std::string> records;  // its TXT records that start with v=DMARC1
  std::string temp_error;            // the DNS failure, "" when the answer was usable
};

RecordsAt fetch_records(std::string_view domain, const TxtLookup& lookup) {
  RecordsAt at{record_name(domain), {}, {}};
  const dns::Answer answer = lookup(at.name);
  if (answer.temp_error()) {
    at.temp_error = answer.reason.empty() ? "temporary DNS error" : answer.reason;
    return at;
  }
  for (const dns::Record& record : answer.records) {
    std::string text = record.text();
    if (starts_with_dmarc_version(text)) at.records.push_back(std::move(text));
  }
  return at;
}

// --- alignment and policy -----------------------------------------------------------

// The RFC5322.From domain and its organizational domain, both folded.
struct AuthorDomain {
  std::string domain;
  std::string org;
};

// RFC 7489 3.1: strict needs the exact From domain, relaxed the same organizational domain.
bool is_aligned(std::string_view authenticated, const AuthorDomain& author, bool strict) {
  const std::string domain = runtime::fold_domain(authenticated);
  if (domain.empty()) return false;
  return strict ? domain == author.domain : organizational_domain(domain) == author.org;
}

// RFC 7489 6.6.4: mail the pct sample leaves out gets the next weaker policy.
DmarcPolicy sampled_policy(DmarcPolicy published, int pct, uint32_t sampling_roll) {
  if (static_cast<int>(sampling_roll % 100) < pct) return published;
  return published == DmarcPolicy::Reject ? DmarcPolicy::Quarantine : DmarcPolicy::None;
}

std::string_view alignment_mode(bool strict) {
  return strict ? "s" : "r";
}

// Fills in the verdict; `from_subdomain_via_org` says the record came from the
// organizational domain for a From subdomain, so sp rather than p governs it.
void decide(const DmarcInput& in, const DmarcRecord& record, const AuthorDomain& author,
            bool from_subdomain_via_org, uint32_t sampling_roll, DmarcResult& result) {
  result.published_policy = from_subdomain_via_org ? record.sp : record.p;
  result.spf_aligned =
      iequals(trim(in.spf_result), "pass") && is_aligned(in.spf_domain, author, record.strict_spf);
  result.dkim_aligned =
      std::any_of(in.dkim_pass_domains.begin(), in.dkim_pass_domains.end(),
                  [&](const std::string& domain) { return is_aligned(domain, author, record.strict_dkim); });
  result.pct = record.pct;
  const std::string modes = " (aspf=" + std::string(alignment_mode(record.strict_spf)) +
                            " adkim=" + std::string(alignment_mode(record.strict_dkim)) + ")";

  if (result.spf_aligned || result.dkim_aligned) {
    result.status = DmarcStatus::Pass;
    const std::string_view what = result.spf_aligned && result.dkim_aligned ? "SPF and DKIM"
                                  : result.spf_aligned                      ? "SPF"
                                                                            : "DKIM";
    result.reason = std::string(what) + " aligned with " + author.domain + modes;
    return;
  }
  result.status = DmarcStatus::Fail;
  result.policy = sampled_policy(result.published_policy, record.pct, sampling_roll);
  result.reason = "neither SPF nor DKIM aligned with " + author.domain + modes;
  if (result.policy != result.published_policy) {
    result.reason += "; outside pct=" + std::to_string(record.pct) + ", " +
                     std::string(dmarc_policy_name(result.published_policy)) + " applied as " +
                     std::string(dmarc_policy_name(result.policy));
  }
}

DmarcResult with_status(DmarcStatus status, std::string reason) {
  DmarcResult result;
  result.status = status;
  result.reason = std::move(reason);
  return result;
}

}  // namespace

std::string_view dmarc_status_name(DmarcStatus status) {
  switch (status) {
    case DmarcStatus::None:
      return "none";
    case DmarcStatus::Pass:
      return "pass";
    case DmarcStatus::Fail:
      return "fail";
    case DmarcStatus::TempError:
      return "temperror";
    case DmarcStatus::PermError:
      return "permerror";
  }
  return "?";
}

std::string_view dmarc_policy_name(DmarcPolicy policy) {
  switch (policy) {
    case DmarcPolicy::None:
      return "none";
    case DmarcPolicy::Quarantine:
      return "quarantine";
    case DmarcPolicy::Reject:
      return "reject";
  }
  return "?";
}

std::optional<DmarcRecord> parse_dmarc_record(std::string_view txt, std::string* error) {
  std::string message;
  std::optional<DmarcRecord> record = parse_record(txt, message);
  if (!record && error) *error = std::move(message);
  return record;
}

std::string organizational_domain(std::string_view domain) {
  return runtime::registrable_domain(domain);
}

namespace {

// Folded, sorted and without repeats: the verdict cannot depend on mailbox order.
std::vector<std::string> author_domains(const std::vector<std::string>& from_domains) {
  std::vector<std::string> domains;
  for (const std::string& domain : from_domains) domains.push_back(runtime::fold_domain(domain));
  std::sort(domains.begin(), domains.end());
  domains.erase(std::unique(domains.begin(), domains.end()), domains.end());
  return domains;
}

DmarcResult evaluate_author_record(const std::string& from, const DmarcInput& in, const TxtLookup& lookup,
                                   uint32_t sampling_roll) {
  if (from.empty()) return with_status(DmarcStatus::PermError, "no RFC5322.From domain");
  const AuthorDomain author{from, organizational_domain(from)};

  RecordsAt at = fetch_records(from, lookup);
  const bool fall_back_to_org = at.temp_error.empty() && at.records.empty() && author.org != from;
  if (fall_back_to_org) at = fetch_records(author.org, lookup);
  if (!at.temp_error.empty()) {
    return with_status(DmarcStatus::TempError, "DNS lookup of " + at.name + " failed: " + at.temp_error);
  }
  if (at.records.empty()) {
    return with_status(DmarcStatus::None, "no DMARC record at " + record_name(from) +
                                              (fall_back_to_org ? " or " + at.name : std::string()));
  }

  DmarcResult result;
  result.record_domain = at.name;
  if (at.records.size() > 1) {
    result.reason = std::to_string(at.records.size()) + " DMARC records at " + at.name + ", so none applies";
    return result;
  }
  std::string error;
  const std::optional<DmarcRecord> record = parse_record(at.records.front(), error);
  if (!record) {
    result.status = DmarcStatus::PermError;
    result.reason = "unusable DMARC record at " + at.name + ": " + error;
    return result;
  }
  decide(in, *record, author, fall_back_to_org, sampling_roll, result);
  return result;
}

DmarcResult evaluate_author(const std::string& from, const DmarcInput& in, const TxtLookup& lookup,
                            uint32_t sampling_roll) {
  DmarcResult result = evaluate_author_record(from, in, lookup, sampling_roll);
  result.author_domain = from;
  return result;
}

// Which author's result speaks for the message: a failure over anything else (the
// strictest policy first), then temperror, permerror, none, and pass last.
int severity(const DmarcResult& result) {
  switch (result.status) {
    case DmarcStatus::Fail: return 10 + static_cast<int>(result.policy);
    case DmarcStatus::TempError: return 4;
    case DmarcStatus::PermError: return 3;
    case DmarcStatus::None: return 2;
    case DmarcStatus::Pass: return 1;
  }
  return 0;
}

}  // namespace

std::vector<std::string> dmarc_queries(const std::vector<std::string>& from_domains) {
  std::vector<std::string> names;
  for (const std::string& from : author_domains(from_domains)) {
    if (from.empty()) continue;
    names.push_back(record_name(from));
    const std::string org = organizational_domain(from);
    if (org != from) names.push_back(record_name(org));
  }
  return names;
}

DmarcResult evaluate_dmarc(const DmarcInput& in, const TxtLookup& lookup, uint32_t sampling_roll) {
  const std::vector<std::string> authors = author_domains(in.from_domains);
  if (authors.empty()) return with_status(DmarcStatus::PermError, "no RFC5322.From domain");
  if (authors.size() == 1) return evaluate_author(authors.front(), in, lookup, sampling_roll);
  std::optional<DmarcResult> decisive;
  std::string reasons;
  for (const std::string& from : authors) {
    DmarcResult result = evaluate_author(from, in, lookup, sampling_roll);
    reasons += (reasons.empty() ? "" : "; ") + (from.empty() ? std::string("(no domain)") : from) + ": " +
               std::string(dmarc_status_name(result.status)) + " (" + result.reason + ")";
    // Ties keep the first in sorted order, so the choice is stable.
    if (!decisive || severity(result) > severity(*decisive)) decisive = std::move(result);
  }
  decisive->reason = std::to_string(authors.size()) + " author domains, each counts: " + reasons;
  return *decisive;
}

}  // namespace mp::auth
