// The field catalogue table, generated from fields.def.
#include "vm/fields.h"
#include "vm/facts.h"
#include "vm/opcodes.h"

#include <array>
#include <charconv>
#include <limits>
#include <map>
#include <set>

#include "attach/inspect.h"
#include "runtime/message.h"
#include "runtime/obfuscation.h"
#include "runtime/resemble.h"
#include "runtime/url_form.h"

namespace mp::vm {

namespace {

constexpr std::array<std::string_view, kCollectionCount> kCollectionNames = {{
#define MP_COLLECTION(id, names) names,
#include "vm/fields.def"
#undef MP_COLLECTION
}};

}  // namespace

std::string_view collection_names(Collection c) {
  return kCollectionNames[static_cast<size_t>(c)];
}

std::optional<Collection> collection_by_name(std::string_view name) {
  for (size_t i = 1; i < kCollectionCount; ++i) {  // Single has no name
    std::string_view names = kCollectionNames[i];
    while (!names.empty()) {
      size_t space = names.find(' ');
      if (names.substr(0, space) == name) return static_cast<Collection>(i);
      names = space == std::string_view::npos ? std::string_view{} : names.substr(space + 1);
    }
  }
  return std::nullopt;
}

namespace {

// The names of the values 0 .. count-1 of an enumeration, by its name function.
template <typename Enum>
std::vector<std::string_view> names_of(size_t count, std::string_view (*name)(Enum)) {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < count; ++i) names.push_back(name(static_cast<Enum>(i)));
  return names;
}

// The names the facts of auth/ produce (auth tests check each name against this), the
// message's defect names and the flags of attachments and URLs.
std::vector<std::string_view> vocabulary_of(FieldId field) {
  switch (field) {
    case FieldId::Spf: return {"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"};
    case FieldId::Dkim: return {"none", "pass", "fail", "neutral", "temperror", "permerror"};
    case FieldId::Dmarc: return {"none", "pass", "fail", "temperror", "permerror"};
    case FieldId::DmarcPolicy: return {"none", "quarantine", "reject"};
    case FieldId::Fcrdns: return {"none", "pass", "fail", "temperror"};
    case FieldId::PtrChecks: return {"none", "unconfirmed", "generic", "ok", "temperror"};
    case FieldId::HeloChecks:
      return {"missing",    "ip_literal",   "localhost", "not_fqdn", "no_dns",
              "not_client", "ptr_mismatch", "ok",        "temperror"};
    case FieldId::Mx: return {"mx", "a_only", "none", "null_mx", "bad_host", "private", "temperror"};
    case FieldId::Av: return {"clean", "infected", "error"};
    case FieldId::SenderList: return {"blocked", "safe", "none"};
    case FieldId::AttachmentFlags: return names_of<attach::Flag>(attach::kFlagCount, attach::flag_name);
    case FieldId::MessageDefects:
      return names_of<runtime::DefectKind>(runtime::kDefectKindCount, runtime::defect_name);
    case FieldId::UrlFlags: return names_of<runtime::UrlFlag>(runtime::kUrlFlagCount, runtime::url_flag_name);
    case FieldId::MessageObfuscation:
      return names_of<runtime::Obfuscation>(runtime::kObfuscationCount, runtime::obfuscation_name);
    default: return {};
  }
}

}  // namespace

const std::vector<std::string_view>& field_vocabulary(FieldId field) {
  static const auto vocabularies = [] {
    std::array<std::vector<std::string_view>, kFieldCount> all;
    for (size_t i = 0; i < kFieldCount; ++i) all[i] = vocabulary_of(static_cast<FieldId>(i));
    return all;
  }();
  return vocabularies[static_cast<size_t>(field)];
}

std::string field_label(FieldId field, std::string_view argument) {
  const std::string arg(argument);
  switch (field) {
    case FieldId::HeaderValue: return "header \"" + arg + "\"";
    case FieldId::Dnsbl: return "dnsbl(\"" + arg + "\")";
    case FieldId::Dnswl: return "dnswl(\"" + arg + "\")";
    case FieldId::Mx: return "mx(" + arg + ")";
    case FieldId::Country: return "country(" + arg + ")";
    case FieldId::HeaderNumber: return "header_number(\"" + arg + "\")";
    case FieldId::HeaderRaw: return "raw_header(\"" + arg + "\")";
    case FieldId::MimeHeader: return "mime_header(\"" + arg + "\")";
    case FieldId::Relays: return "relays(\"" + arg + "\")";
    case FieldId::HeaderAddress: return "header_address(\"" + arg + "\")";
    case FieldId::FirstHeader: return "first_header(\"" + arg + "\")";
    case FieldId::LastHeader: return "last_header(\"" + arg + "\")";
    case FieldId::Reputation: return "reputation(" + arg + ")";
    case FieldId::NetReputation: return "net_reputation(" + arg + ")";
    case FieldId::Rate:
    case FieldId::RateSurge: {
      const std::string name = field == FieldId::Rate ? "rate(" : "rate_surge(";
      const size_t slash = arg.rfind('/');
      if (slash == std::string::npos) return name + arg + ")";
      return name + arg.substr(0, slash) + ", " + window_text(std::stod(arg.substr(slash + 1))) + ")";
    }
    default: return std::string(field_info(field).name);
  }
}

std::string_view kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::Text: return "text";
    case ValueKind::Address: return "an email address";
    case ValueKind::Domain: return "a domain";
    case ValueKind::Ip: return "an IP address";
    case ValueKind::Number: return "a number";
  }
  return "?";
}

std::string_view action_name(Action action) {
  switch (action) {
    case Action::Deliver: return "deliver";
    case Action::Allow: return "allow";
    case Action::Reject: return "reject";
    case Action::Quarantine: return "quarantine";
    case Action::Discard: return "discard";
    case Action::Tempfail: return "tempfail";
  }
  return "?";
}

}  // namespace mp::vm

namespace mp::vm {

// The facts are the contiguous run Spf..Country of fields.def; fields appended after
// it (message.defects) come from the message.
bool is_fact(FieldId field) {
  // Fields are appended to fields.def (images keep their numbers), so the later facts
  // are named one by one.
  return (field >= FieldId::Spf && field <= FieldId::Country) || field == FieldId::Av ||
         field == FieldId::AvSignature || is_state_fact(field);
}

bool several_values(FieldId field) {
  switch (field) {
    case FieldId::BodyParagraphs:
    case FieldId::MimeHeader:
    case FieldId::HeaderAddress:
    case FieldId::MessageDefects:
    case FieldId::MessageObfuscation:
    case FieldId::DkimDomain:
    case FieldId::PtrChecks:
    case FieldId::HeloChecks:
    case FieldId::Dnsbl:
    case FieldId::Dnswl:
    case FieldId::Mx:
    case FieldId::ListUnsubscribe:
    case FieldId::UrlFlags:
    case FieldId::AttachmentFlags: return true;
    default: return false;
  }
}

bool is_state_fact(FieldId field) {
  return field == FieldId::Reputation || field == FieldId::NetReputation || field == FieldId::Rate ||
         field == FieldId::Bayes || field == FieldId::SenderList || field == FieldId::BulkCount ||
         field == FieldId::BulkAddresses || field == FieldId::RateSurge;
}

bool is_counting_fact(FieldId field) {
  return field == FieldId::Rate || field == FieldId::RateSurge || field == FieldId::BulkCount ||
         field == FieldId::BulkAddresses;
}

bool takes_argument(FieldId field) {
  return field == FieldId::HeaderValue || field == FieldId::Dnsbl || field == FieldId::Dnswl ||
         field == FieldId::Mx || field == FieldId::Country || field == FieldId::HeaderNumber ||
         field == FieldId::HeaderRaw || field == FieldId::MimeHeader || field == FieldId::Relays ||
         field == FieldId::HeaderAddress || field == FieldId::FirstHeader || field == FieldId::LastHeader ||
         field == FieldId::Reputation || field == FieldId::NetReputation || field == FieldId::Rate ||
         field == FieldId::RateSurge;
}

std::optional<double> window_seconds(std::string_view text) {
  static const std::map<char, double> kUnits = {
      {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
  if (text.size() < 2 || !kUnits.count(text.back())) return std::nullopt;
  long long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || end != text.data() + text.size() - 1 || n < 1 || n > 100000000)
    return std::nullopt;
  return static_cast<double>(n) * kUnits.at(text.back());
}

std::optional<std::string> rate_argument(FieldId fact, std::string_view key_field, std::string_view window) {
  static const std::set<std::string_view> kKeyFields = {
      "sender",           "sender.domain", "sender.local",       "helo",
      "client.auth_user", "client.ip",     "client.effective_ip"};
  constexpr double kLongestSurgeWindow = 3.5 * 86400;  // half of state::kSurgeBaseline, a week
  const auto seconds = window_seconds(window);
  if (!kKeyFields.count(key_field) || !seconds) return std::nullopt;
  if (fact == FieldId::RateSurge && *seconds > kLongestSurgeWindow) return std::nullopt;
  return std::string(key_field) + "/" + std::to_string(static_cast<long long>(*seconds));
}

NumberRange number_range(FieldId field) {
  constexpr double kNone = std::numeric_limits<double>::infinity();
  switch (field) {
    case FieldId::Bayes: return {0, 1};
    case FieldId::Rate:
    case FieldId::BulkCount: return {1, kNone};
    case FieldId::HeaderNumber: return {-kNone, kNone};
    default: return {0, kNone};
  }
}

bool fact_argument_ok(FieldId fact, std::string_view field_name) {
  const ValueKind wanted = fact == FieldId::Mx ? ValueKind::Domain : ValueKind::Ip;
  for (size_t i = 0; i < kFieldCount; ++i) {
    const auto id = static_cast<FieldId>(i);
    const FieldInfo& info = field_info(id);
    if (info.name == field_name && id != FieldId::HeaderValue && id != FieldId::HeaderLine)
      return !is_fact(id) && info.kind == wanted && info.collection == Collection::Single;
  }
  return false;
}

std::string rate_argument_rules(FieldId fact) {
  const bool surge = fact == FieldId::RateSurge;
  const std::string name = surge ? "rate_surge" : "rate";
  return "`" + name +
         "` takes a key field (sender, sender.domain, sender.local, helo, client.auth_user, client.ip, "
         "client.effective_ip) and a window: 90s, 30m, 1h, " +
         (surge ? "1d (at most 3.5 days: the usual is a week's)" : "7d, 1w") + "; e.g. `" + name +
         "(client.auth_user, 1h)`";
}

std::string window_text(double seconds) {
  const auto s = static_cast<long long>(seconds);
  for (const auto& [unit, length] : {std::pair{"w", 604800LL}, {"d", 86400LL}, {"h", 3600LL}, {"m", 60LL}}) {
    if (s % length == 0) return std::to_string(s / length) + unit;
  }
  return std::to_string(s) + "s";
}

runtime::ResembleKind resemble_kind(FieldId field) {
  switch (field_info(field).kind) {
    case ValueKind::Domain: return runtime::ResembleKind::Domain;
    case ValueKind::Address: return runtime::ResembleKind::Address;
    default: return runtime::ResembleKind::Name;
  }
}

}  // namespace mp::vm
