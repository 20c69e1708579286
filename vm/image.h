// The compiled image: everything a gateway needs to evaluate a policy, without the
// source or the compiler. ImageData is the in-memory form the compiler fills and the
// loader reads back; write_image/read_image convert it to and from bytes.
//
// File layout (little-endian):
//   magic "MPOLICY\0" | u32 format version | u32 section count | 32-byte SHA-256 of
//   everything after the checksum | section table (u32 kind, u32 reserved, u64 offset,
//   u64 size)* | section payloads
// Sections: Code, Constants, Patterns, Databases (serialised Hyperscan), Sets, Nets,
// Rules (debug info: names, stages, spans), Settings, LineTable.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "attach/inspect.h"
#include "runtime/api_export.h"
#include "runtime/ip.h"
#include "runtime/message.h"
#include "vm/fields.h"
#include "vm/opcodes.h"

namespace mp::vm {

inline constexpr uint32_t kImageVersion = 12;

// The stages an `allow` cannot skip: when a rule allows before the last rule of these
// stages has run, the evaluation goes on through their rules (only theirs), and one
// of them may still reject, quarantine, tempfail or discard the message
// (docs/language.md, section 13).
// URL defense is one of them: a sender trusted enough to skip the spam checks can
// still have its account taken over, and the rewrite is what protects the click.
inline constexpr std::string_view kMandatoryStages[] = {"antivirus", "attachment_defense", "url_defense"};
inline bool is_mandatory_stage(std::string_view stage) {
  for (std::string_view s : kMandatoryStages) {
    if (s == stage) return true;
  }
  return false;
}
inline constexpr uint32_t kNoGuard = 0xFFFFFFFF;

// One content test compiled to a Hyperscan expression. Patterns with the same
// (field, expression, flags, header filter) are shared between rules.
// Which engine decides a pattern. Hyperscan runs every pattern it can; a regex it
// refuses (look-around, back-references, possessive or atomic groups, an embedded
// anchor, a pattern too large) is found by Hyperscan in prefilter mode, which may
// report a value that does not match but never misses one, and each candidate value is
// confirmed by PCRE2; one it cannot even prefilter is run by PCRE2 alone on every value
// of its field (the Suricata/YARA design). A literal anchored at the start or end of
// the value (`starts with`, `ends with`) is in no database: the VM looks the value's
// prefix or suffix up by hash (Affix, vm/affix.h).
enum class Engine : uint8_t { Hyperscan, Prefilter, Pcre2, Affix };
inline constexpr uint8_t kEngineCount = 4;

struct PatternInfo {
  FieldId field = FieldId::Subject;
  std::string expression;  // PCRE syntax, as Hyperscan and PCRE2 both read it
  uint32_t hs_flags = 0;   // HS_FLAG_*: PCRE2's options are derived from them
  Engine engine = Engine::Hyperscan;
  std::string header_filter;    // lowercase header name for `header "X"`, else ""
  uint32_t literal_length = 0;  // >0 when the expression is an escaped literal
  std::string source;           // the test as written, for traces: `contains "foo"`
  // For a Prefilter pattern Hyperscan cannot prefilter itself: the Hyperscan expression
  // of its required literals (compiler/regex_atoms.h), compiled with no flags; "" when
  // Hyperscan prefilters `expression`.
  std::string prefilter;
};

// A Hyperscan database over the patterns of one field, serialised.
struct FieldDatabase {
  FieldId field = FieldId::Subject;
  std::vector<uint32_t> pattern_ids;  // ids this database reports
  std::string serialized;
};

// Resemble: the entries are resemblance keys (runtime/resemble.h), tested only by the
// Resembles instruction.
enum class Fold : uint8_t { Exact, Lower, Address, Domain, Resemble };
inline constexpr uint8_t kFoldCount = 5;

// Values one field is compared with by `is`/`in`. Sets belong to one field so that
// the VM can look each of the field's values up once for all sets of the field.
struct SetInfo {
  FieldId field = FieldId::Subject;
  Fold fold = Fold::Exact;
  std::string header_filter;         // lowercase, for `header "X" in …`
  std::vector<std::string> entries;  // already folded
  std::string source;                // the first test that uses the set, as written: `in our_domains`
};

struct NetInfo {
  std::vector<runtime::Cidr> prefixes;
  std::string source;
  std::string argument;  // for a fact with an argument: which call (`dnsbl("ZONE")`)
};

enum class TempErrorPolicy : uint8_t {
  Tempfail,  // the verdict is tempfail (451), naming the fact
  Ignore,    // the fact reads as "temperror" (status facts) or no value, and rules go on
};

enum class GuardKind : uint8_t { None, Pattern, Set };

enum DirectionBit : uint8_t { kInbound = 1, kOutbound = 2, kInternal = 4, kAllDirections = 7 };

struct RuleInfo {
  std::string name;
  uint32_t stage = 0;  // index into ImageData::stages
  std::string file;
  uint32_t line = 0, column = 0;
  uint8_t directions = kAllDirections;
  uint32_t code_begin = 0, code_end = 0;  // [begin, end) in ImageData::code
  // Prefilter: a pattern or set the rule cannot fire without (kNoGuard when none).
  // The VM skips the rule after one bit test when it did not match.
  GuardKind guard_kind = GuardKind::None;
  uint32_t guard = kNoGuard;
  // A rule for some recipients only (`rule vip (user ceo@widget.com, group finance)`):
  // it runs once per recipient who is one of the users (folded addresses) or a member
  // of one of the groups (Settings::groups); both empty: the whole organisation.
  std::vector<std::string> scope_users;
  std::vector<std::string> scope_groups;
  bool scoped() const { return !scope_users.empty() || !scope_groups.empty(); }
  // `until 2026-12-31`: from this time on (seconds since the epoch: the end of that day,
  // UTC) the rule no longer runs; 0: never expires.
  double expires = 0;
};

// org.groups: a group of recipients and its members, each a folded address or a
// domain (everyone at it).
struct RecipientGroup {
  std::string name;
  std::vector<std::string> members;
};

// The largest mime.max_depth a policy may set: the walk recurses once per level.
inline constexpr uint32_t kMaxMimeDepthSetting = 1000;
// The largest mime.max_parts, header.max_fields, header.max_field_bytes (a size) and
// urls.max_count (each at least 1): runtime::ParseOptions.
inline constexpr uint32_t kMaxMimePartsSetting = 1'000'000;
inline constexpr uint32_t kMaxHeaderFieldsSetting = 1'000'000;
inline constexpr uint64_t kMaxHeaderFieldBytesSetting = uint64_t{1} << 30;  // 1 GiB
inline constexpr uint32_t kMaxUrlsSetting = 1'000'000;
inline bool parse_limits_valid(const runtime::ParseOptions& p) {
  return p.max_mime_depth >= 1 && static_cast<uint32_t>(p.max_mime_depth) <= kMaxMimeDepthSetting &&
         p.max_mime_parts >= 1 && p.max_mime_parts <= kMaxMimePartsSetting && p.max_header_fields >= 1 &&
         p.max_header_fields <= kMaxHeaderFieldsSetting && p.max_header_field_bytes >= 1 &&
         p.max_header_field_bytes <= kMaxHeaderFieldBytesSetting && p.max_urls >= 1 &&
         p.max_urls <= kMaxUrlsSetting;
}
// regex.match_limit and regex.budget_ms: how much PCRE2 work one message may buy. Past
// either, PCRE2 gives up (no match) and message.defects gets regex_limit_exceeded.
struct RegexLimits {
  uint32_t match_limit = 1'000'000;  // PCRE2 match limit for one value (pcre2_set_match_limit)
  uint32_t budget_ms = 250;          // PCRE2 wall time for one message, all patterns, milliseconds
  bool operator==(const RegexLimits&) const = default;
};
inline constexpr uint32_t kMaxRegexMatchLimitSetting = 1'000'000'000;
inline constexpr uint32_t kMaxRegexBudgetMsSetting = 60'000;
inline bool regex_limits_valid(const RegexLimits& l) {
  return l.match_limit >= 1 && l.match_limit <= kMaxRegexMatchLimitSetting && l.budget_ms >= 1 &&
         l.budget_ms <= kMaxRegexBudgetMsSetting;
}
// The largest values of the archive.* settings (each at least 1).
inline constexpr uint32_t kMaxArchiveDepthSetting = 64;
inline constexpr uint32_t kMaxArchiveMembersSetting = 1'000'000;
inline constexpr uint64_t kMaxArchiveBytesSetting = uint64_t{64} << 30;  // 64 GiB
inline constexpr uint32_t kMaxArchiveRatioSetting = 1'000'000;
inline bool archive_limits_valid(const attach::Limits& l) {
  return l.max_depth >= 1 && l.max_depth <= kMaxArchiveDepthSetting && l.max_members >= 1 &&
         l.max_members <= kMaxArchiveMembersSetting && l.max_bytes >= 1 &&
         l.max_bytes <= kMaxArchiveBytesSetting && l.max_ratio >= 1 && l.max_ratio <= kMaxArchiveRatioSetting;
}

struct Settings {
  std::vector<std::string> org_domains;  // folded
  std::vector<runtime::Cidr> sending_servers;
  // Our own relays: the effective client IP is found by walking Received hops back
  // past them (client.effective_ip).
  std::vector<runtime::Cidr> trusted_relays;
  double quarantine_threshold = 5.0;
  double reject_threshold = 15.0;
  // What a fact that could not be computed (DNS timeout, SERVFAIL) does to the verdict.
  TempErrorPolicy on_temperror = TempErrorPolicy::Tempfail;
  // How much of a message is examined (mime.max_depth, mime.max_parts,
  // header.max_fields, header.max_field_bytes, urls.max_count); past each limit the
  // message gets its defect (runtime::ParseOptions).
  runtime::ParseOptions parse_limits;
  // org.spamtraps: addresses no one uses (folded); mail to one raises its client's
  // reputation (auth::MessageFacts::learn).
  std::vector<std::string> spamtraps;
  // state.on_error: what a state fact (reputation, rate) does when the store cannot
  // answer: read as temperror (Tempfail, then facts.on_temperror decides) or as no value.
  TempErrorPolicy state_on_error = TempErrorPolicy::Ignore;
  double reputation_half_life = 12 * 3600;  // state.reputation.half_life, seconds
  // org.groups, in the order written: rule scopes and the group level of the
  // recipients' sender lists (state/lists.h) name them.
  std::vector<RecipientGroup> groups;
  // bayes.auto_learn (on/off), bayes.auto_learn.spam, bayes.auto_learn.ham: after the
  // verdict, a message whose score without Bayes is at or above `spam` is learnt as
  // spam, one at or below `ham` that was passed on as ham (bayes/bayes.h AutoLearn).
  bool bayes_auto_learn = false;
  double auto_learn_spam = 12.0;
  double auto_learn_ham = 0.1;
  // archive.max_depth, archive.max_members, archive.max_bytes, archive.max_ratio: the
  // bounds of each attachment's inspection; reaching one sets its archive_limit flag.
  attach::Limits archive_limits;
  RegexLimits regex_limits;  // regex.match_limit, regex.budget_ms
};

// `until DATE` (YYYY-MM-DD, a day of the proleptic Gregorian calendar from 1970 on):
// the time the rule stops, the end of that day in UTC (seconds since the epoch);
// nullopt for anything else ("2026-02-30", "tomorrow").
MP_API std::optional<double> expiry_of_date(std::string_view date);
// The other way: the YYYY-MM-DD of the last day an expiry time leaves the rule running.
MP_API std::string date_of_expiry(double expires);

// The groups `recipient` (a folded address) belongs to, in org.groups order: those
// listing the address or its domain.
MP_API std::vector<std::string> recipient_groups(std::span<const RecipientGroup> groups,
                                                 std::string_view recipient);

struct ImageData {
  std::vector<Instruction> code;
  std::vector<uint32_t> code_lines;  // source line of each instruction (0 = none)
  std::vector<std::string> strings;
  std::vector<double> numbers;
  std::vector<PatternInfo> patterns;
  std::vector<FieldDatabase> databases;
  std::vector<SetInfo> sets;
  std::vector<NetInfo> nets;
  std::vector<std::string> stages;
  std::vector<RuleInfo> rules;
  Settings settings;
};

std::string write_image(const ImageData& image);

// Parses and checks the container (magic, version, checksum, section bounds) and
// decodes every section. Does not verify the bytecode: see verify.h. Throws ImageError.
ImageData read_image(std::span<const uint8_t> bytes);

struct MP_API ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace mp::vm
