#include "auth/spf.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <optional>
#include <vector>

namespace mp::auth {

std::string_view spf_result_name(SpfResult result) {
  switch (result) {
    case SpfResult::None:
      return "none";
    case SpfResult::Neutral:
      return "neutral";
    case SpfResult::Pass:
      return "pass";
    case SpfResult::Fail:
      return "fail";
    case SpfResult::SoftFail:
      return "softfail";
    case SpfResult::TempError:
      return "temperror";
    case SpfResult::PermError:
      return "permerror";
  }
  return "?";
}

namespace {

using dns::RrType;
using runtime::IpAddress;

constexpr uint32_t kMaxDnsTerms = 10;    // RFC 7208 4.6.4
constexpr uint32_t kMaxVoidLookups = 2;  // RFC 7208 4.6.4
constexpr size_t kMaxAddressLookups = 10;

// A permerror or temperror ends check_host() at once, through any include depth.
struct Abort {
  SpfResult result;
  std::string problem;
};
[[noreturn]] void perm_error(std::string problem) {
  throw Abort{SpfResult::PermError, std::move(problem)};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}

// ---------------------------------------------------------------------------------
// Record syntax (RFC 7208 4.6.1, 5, 6, 7.1)

enum class Mechanism { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists };

struct Directive {
  char qualifier = '+';
  Mechanism mechanism = Mechanism::All;
  std::string text;         // as written, for the trace
  std::string domain_spec;  // macro-string; "" means the current domain
  int cidr4 = 32, cidr6 = 128;
  runtime::Cidr network;  // ip4 / ip6
};

struct Record {
  std::vector<Directive> directives;
  std::optional<std::string> redirect, exp;
};

// macro-string = *( macro-expand / macro-literal ). Checks the syntax only. An
// explain-string (the TXT text exp= points at) may also hold spaces and the macros
// c, r and t, which are errors anywhere else (RFC 7208 7.3).
void check_macro_string(std::string_view s, bool explain_string = false) {
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '%') {
      if ((c < 0x21 && !(explain_string && c == ' ')) || c > 0x7e)
        perm_error("invalid character in macro string");
      continue;
    }
    if (++i >= s.size()) perm_error("'%' at the end of a macro string");
    if (s[i] == '%' || s[i] == '_' || s[i] == '-') continue;
    if (s[i] != '{') perm_error("'%' must be followed by '{', '%', '_' or '-'");
    size_t close = s.find('}', i);
    if (close == std::string_view::npos) perm_error("unterminated macro");
    std::string_view body = s.substr(i + 1, close - i - 1);
    std::string_view letters = explain_string ? "slodiphcrtvSLODIPHCRTV" : "slodiphvSLODIPHV";
    if (body.empty() || letters.find(body[0]) == std::string_view::npos)
      perm_error("macro letter not allowed here");
    size_t j = 1;
    while (j < body.size() && is_digit(body[j])) ++j;
    // Only whether the number is 0 matters here: std::stoul would throw out_of_range on
    // a long one (%{l99999999999999999999}), which no caller expects of a record.
    if (j > 1 && body.substr(1, j - 1).find_first_not_of('0') == std::string_view::npos)
      perm_error("macro transformer 0");
    if (j < body.size() && (body[j] == 'r' || body[j] == 'R')) ++j;
    for (; j < body.size(); ++j) {
      if (std::string_view(".-+,/_=").find(body[j]) == std::string_view::npos)
        perm_error("bad macro delimiter");
    }
    i = close;
  }
}

bool valid_toplabel(std::string_view label) {
  if (label.empty() ||
      !std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; })) {
    return false;
  }
  if (label.find('-') == std::string_view::npos) return std::any_of(label.begin(), label.end(), is_alpha);
  return is_alnum(label.front()) && is_alnum(label.back());
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
void check_domain_spec(std::string_view spec) {
  if (spec.empty()) perm_error("empty domain-spec");
  check_macro_string(spec);
  if (spec.back() == '}') return;
  std::string_view name = spec;
  if (name.back() == '.') name.remove_suffix(1);
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || !valid_toplabel(name.substr(dot + 1))) {
    perm_error("domain-spec must end in a valid top label: " + std::string(spec));
  }
}

int parse_cidr_length(std::string_view digits, int max) {
  if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), is_digit) ||
      (digits.size() > 1 && digits[0] == '0')) {
    perm_error("bad CIDR length");
  }
  int value = std::stoi(std::string(digits));
  if (value > max) perm_error("CIDR length too long");
  return value;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// Splits "domain/24//64" into the domain-spec and the two lengths. A '/' followed by
// something other than digits belongs to the domain ("a:foo:bar/baz.example.com").
void split_dual_cidr(std::string_view arg, Directive& d) {
  size_t v6 = arg.rfind("//");
  if (v6 != std::string_view::npos && all_digits(arg.substr(v6 + 2))) {
    d.cidr6 = parse_cidr_length(arg.substr(v6 + 2), 128);
    arg = arg.substr(0, v6);
  }
  size_t v4 = arg.rfind('/');
  if (v4 != std::string_view::npos && all_digits(arg.substr(v4 + 1))) {
    d.cidr4 = parse_cidr_length(arg.substr(v4 + 1), 32);
    arg = arg.substr(0, v4);
  }
  d.domain_spec = std::string(arg);
}

bool strict_ipv4(std::string_view s) {
  int parts = 0;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view part =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), is_digit) ||
        (part.size() > 1 && part[0] == '0') || std::stoi(std::string(part)) > 255) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

void parse_ip_network(std::string_view arg, Directive& d) {
  bool v6 = d.mechanism == Mechanism::Ip6;
  size_t slash = arg.find('/');
  std::string_view address = arg.substr(0, slash);
  int length = v6 ? 128 : 32;
  if (slash != std::string_view::npos) length = parse_cidr_length(arg.substr(slash + 1), length);
  auto ip = IpAddress::parse(address);
  const bool written_v6 = address.find(':') != std::string_view::npos;
  if (!ip || written_v6 != v6 || (!v6 && !strict_ipv4(address)))
    perm_error("bad network: " + std::string(arg));
  // ip6:::ffff:a.b.c.d is IPv4 space (IPv4-mapped clients are IPv4, RFC 7208 5);
  // its prefix length counts the 96 bits of the mapped prefix.
  if (v6 && !ip->v6) length = std::max(0, length - 96);
  d.network = {*ip, length};
}

std::optional<Mechanism> mechanism_named(std::string_view name) {
  static const std::pair<std::string_view, Mechanism> kNames[] = {
      {"all", Mechanism::All}, {"include", Mechanism::Include}, {"a", Mechanism::A},
      {"mx", Mechanism::Mx},   {"ptr", Mechanism::Ptr},         {"ip4", Mechanism::Ip4},
      {"ip6", Mechanism::Ip6}, {"exists", Mechanism::Exists}};
  for (auto [n, m] : kNames) {
    if (n == name) return m;
  }
  return std::nullopt;
}

Directive parse_directive(std::string_view term) {
  Directive d;
  d.text = std::string(term);
  if (std::string_view("+-~?").find(term[0]) != std::string_view::npos) {
    d.qualifier = term[0];
    term.remove_prefix(1);
  }
  size_t end = term.find_first_of(":/");
  auto mechanism = mechanism_named(lower(term.substr(0, end)));
  if (!mechanism) perm_error("unknown mechanism: " + d.text);
  d.mechanism = *mechanism;
  std::string_view rest = end == std::string_view::npos ? "" : term.substr(end);
  bool has_arg = !rest.empty() && rest[0] == ':';
  std::string_view arg = has_arg ? rest.substr(1) : rest;
  switch (d.mechanism) {
    case Mechanism::All:
      if (!rest.empty()) perm_error("'all' takes no argument");
      break;
    case Mechanism::Include:
    case Mechanism::Exists:
      if (!has_arg || arg.empty()) perm_error(d.text + ": domain required");
      d.domain_spec = std::string(arg);
      break;
    case Mechanism::A:
    case Mechanism::Mx:
      split_dual_cidr(arg, d);
      if (has_arg && d.domain_spec.empty()) perm_error(d.text + ": empty domain");
      break;
    case Mechanism::Ptr:
      if (!has_arg && !rest.empty()) perm_error("'ptr' takes no CIDR length");
      d.domain_spec = std::string(arg);
      if (has_arg && d.domain_spec.empty()) perm_error(d.text + ": empty domain");
      break;
    case Mechanism::Ip4:
    case Mechanism::Ip6:
      if (!has_arg) perm_error(d.text + ": network required");
      parse_ip_network(arg, d);
      break;
  }
  if (!d.domain_spec.empty()) check_domain_spec(d.domain_spec);
  return d;
}

bool valid_modifier_name(std::string_view name) {
  return !name.empty() && is_alpha(name[0]) && std::all_of(name.begin(), name.end(), [](char c) {
    return is_alnum(c) || c == '-' || c == '_' || c == '.';
  });
}

void parse_modifier(std::string_view term, size_t eq, Record& record) {
  std::string name = lower(term.substr(0, eq));
  std::string value(term.substr(eq + 1));
  if (!valid_modifier_name(name)) perm_error("bad modifier name: " + std::string(term));
  if (name == "redirect" || name == "exp") {
    auto& slot = name == "redirect" ? record.redirect : record.exp;
    if (slot) perm_error("duplicate " + name + "= modifier");
    check_domain_spec(value);
    slot = value;
    return;
  }
  check_macro_string(value);  // unknown modifiers are ignored, but must be well-formed
}

Record parse_record(std::string_view text) {
  Record record;
  size_t pos = 6;  // after "v=spf1"
  while (pos < text.size()) {
    if (text[pos] == ' ') {
      ++pos;
      continue;
    }
    size_t end = std::min(text.find(' ', pos), text.size());
    std::string_view term = text.substr(pos, end - pos);
    pos = end;
    size_t eq = term.find('=');
    size_t name_end = term.find_first_of(":/");
    if (eq != std::string_view::npos && (name_end == std::string_view::npos || eq < name_end)) {
      parse_modifier(term, eq, record);
    } else {
      record.directives.push_back(parse_directive(term));
    }
  }
  return record;
}

SpfResult qualifier_result(char q) {
  switch (q) {
    case '-':
      return SpfResult::Fail;
    case '~':
      return SpfResult::SoftFail;
    case '?':
      return SpfResult::Neutral;
    default:
      return SpfResult::Pass;
  }
}

bool is_spf_record(std::string_view txt) {
  return txt.size() >= 6 && lower(txt.substr(0, 6)) == "v=spf1" && (txt.size() == 6 || txt[6] == ' ');
}

// RFC 7208 4.3: a domain that is malformed or not multi-label yields "none".
bool usable_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  return dns::valid_dns_name(domain) && domain.find('.') != std::string_view::npos;
}

IpAddress unmap_v4(IpAddress ip) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!ip.v6 || !std::equal(kMapped, kMapped + 12, ip.bytes.begin())) return ip;
  IpAddress v4;
  std::copy_n(ip.bytes.begin() + 12, 4, v4.bytes.begin());
  return v4;
}

std::string url_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (is_alnum(static_cast<char>(c)) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------
// Evaluation

struct Decision {
  SpfResult result = SpfResult::Neutral;
  std::string mechanism = "default";
  std::string domain;
  std::optional<std::string> exp;  // of the record that decided (not of an include)
};

class Evaluation {
 public:
  Evaluation(const SpfRequest& request, dns::Resolver& resolver, dns::Resolver::Clock::time_point deadline)
      : request_(request), resolver_(resolver), deadline_(deadline), ip_(unmap_v4(request.ip)) {}

  SpfOutcome run();

 private:
  Decision check_host(const std::string& domain);
  std::optional<Record> fetch_record(const std::string& domain);
  bool matches(const Directive& d, const std::string& domain);
  bool matches_a(const std::string& target, const Directive& d);
  bool matches_mx(const std::string& target, const Directive& d);
  bool matches_ptr(const std::string& target);
  bool matches_include(const std::string& target);
  std::vector<IpAddress> addresses(const std::string& host, bool count_void);
  std::vector<std::string> validated_names(const std::string& target);
  void prefetch(const Record& record, const std::string& domain);

  std::string expand(std::string_view macro_string, const std::string& domain, bool explanation);
  std::string macro_value(char letter, const std::string& domain);
  std::string target_of(const Directive& d, const std::string& domain);
  std::string explain(const Decision& decision);

  dns::Answer lookup(const std::string& name, RrType type);
  void count_dns_term();
  void count_void();

  const SpfRequest& request_;
  dns::Resolver& resolver_;
  dns::Resolver::Clock::time_point deadline_;
  IpAddress ip_;
  std::string sender_, local_, sender_domain_;
  uint32_t dns_terms_ = 0, void_lookups_ = 0;
};

dns::Answer Evaluation::lookup(const std::string& name, RrType type) {
  auto answer = resolver_.resolve(name, type, deadline_);
  if (answer.temp_error()) {
    throw Abort{SpfResult::TempError,
                "DNS " + std::string(dns::rr_type_name(type)) + " " + name + ": " + answer.reason};
  }
  return answer;
}

void Evaluation::count_dns_term() {
  if (++dns_terms_ > kMaxDnsTerms) perm_error("more than 10 DNS-querying terms");
}

void Evaluation::count_void() {
  if (++void_lookups_ > kMaxVoidLookups) perm_error("more than 2 void DNS lookups");
}

std::optional<Record> Evaluation::fetch_record(const std::string& domain) {
  auto answer = lookup(domain, RrType::Txt);
  std::optional<std::string> found;
  for (const auto& rec : answer.records) {
    std::string txt = rec.text();
    if (!is_spf_record(txt)) continue;
    if (found) perm_error("more than one SPF record at " + domain);
    found = std::move(txt);
  }
  if (!found) return std::nullopt;
  if (std::any_of(found->begin(), found->end(),
                  [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    perm_error("SPF record of " + domain + " is not 7-bit ASCII");
  }
  return parse_record(*found);
}

// Starts the record's lookups that need no earlier answer, so that evaluating the
// directives one by one then mostly reads the cache (RFC 7208 keeps the order of
// evaluation; nothing says the questions cannot be asked together).
void Evaluation::prefetch(const Record& record, const std::string& domain) {
  size_t started = 0;
  for (const auto& d : record.directives) {
    if (started == kMaxDnsTerms) break;
    if (d.domain_spec.find('%') != std::string::npos) continue;
    std::string target = d.domain_spec.empty() ? domain : d.domain_spec;
    if (!target.empty() && target.back() == '.') target.pop_back();
    RrType type;
    switch (d.mechanism) {
      case Mechanism::Include:
        type = RrType::Txt;
        break;
      case Mechanism::A:
        type = ip_.v6 ? RrType::Aaaa : RrType::A;
        break;
      case Mechanism::Mx:
        type = RrType::Mx;
        break;
      case Mechanism::Exists:
        type = RrType::A;
        break;
      default:
        continue;
    }
    resolver_.query(target, type, [](const dns::Answer&) {});
    ++started;
  }
}

Decision Evaluation::check_host(const std::string& domain) {
  Decision decision;
  decision.domain = domain;
  if (!usable_domain(domain)) {
    decision.result = SpfResult::None;
    return decision;
  }
  auto record = fetch_record(domain);
  if (!record) {
    decision.result = SpfResult::None;
    return decision;
  }
  prefetch(*record, domain);
  decision.exp = record->exp;
  for (const auto& d : record->directives) {
    if (matches(d, domain)) {
      decision.result = qualifier_result(d.qualifier);
      decision.mechanism = d.text;
      return decision;
    }
  }
  if (!record->redirect) return decision;
  count_dns_term();
  std::string target = expand(*record->redirect, domain, false);
  Decision redirected = check_host(target);
  if (redirected.result == SpfResult::None) perm_error("redirect=" + target + " has no SPF record");
  return redirected;
}

std::string Evaluation::target_of(const Directive& d, const std::string& domain) {
  return d.domain_spec.empty() ? domain : expand(d.domain_spec, domain, false);
}

bool Evaluation::matches(const Directive& d, const std::string& domain) {
  switch (d.mechanism) {
    case Mechanism::All:
      return true;
    case Mechanism::Ip4:
    case Mechanism::Ip6:
      return ip_.v6 == d.network.base.v6 && d.network.contains(ip_);
    case Mechanism::Include:
      count_dns_term();
      return matches_include(target_of(d, domain));
    case Mechanism::A:
      count_dns_term();
      return matches_a(target_of(d, domain), d);
    case Mechanism::Mx:
      count_dns_term();
      return matches_mx(target_of(d, domain), d);
    case Mechanism::Ptr:
      count_dns_term();
      return matches_ptr(target_of(d, domain));
    case Mechanism::Exists: {
      count_dns_term();
      auto answer = lookup(target_of(d, domain), RrType::A);
      if (answer.empty()) count_void();
      return !answer.empty();
    }
  }
  return false;
}

bool Evaluation::matches_include(const std::string& target) {
  Decision inner = check_host(target);
  switch (inner.result) {
    case SpfResult::Pass:
      return true;
    case SpfResult::None:
      perm_error("include:" + target + " has no SPF record");
    case SpfResult::TempError:
    case SpfResult::PermError:
      throw Abort{inner.result, "include:" + target};
    default:
      return false;
  }
}

std::vector<IpAddress> Evaluation::addresses(const std::string& host, bool count_void_answer) {
  auto answer = lookup(host, ip_.v6 ? RrType::Aaaa : RrType::A);
  if (answer.empty() && count_void_answer) count_void();
  std::vector<IpAddress> out;
  for (const auto& rec : answer.records) out.push_back(rec.ip);
  return out;
}

bool Evaluation::matches_a(const std::string& target, const Directive& d) {
  runtime::Cidr net{{}, ip_.v6 ? d.cidr6 : d.cidr4};
  for (const auto& address : addresses(target, true)) {
    net.base = address;
    if (net.contains(ip_)) return true;
  }
  return false;
}

bool Evaluation::matches_mx(const std::string& target, const Directive& d) {
  auto answer = lookup(target, RrType::Mx);
  if (answer.empty()) count_void();
  if (answer.records.size() > kMaxAddressLookups) perm_error("mx:" + target + " has more than 10 MX records");
  // Ask for every exchange's addresses at once, then read them in order.
  for (const auto& mx : answer.records) {
    if (!mx.name.empty())
      resolver_.query(mx.name, ip_.v6 ? RrType::Aaaa : RrType::A, [](const dns::Answer&) {});
  }
  runtime::Cidr net{{}, ip_.v6 ? d.cidr6 : d.cidr4};
  for (const auto& mx : answer.records) {
    if (mx.name.empty()) continue;  // null MX (RFC 7505)
    for (const auto& address : addresses(mx.name, false)) {
      net.base = address;
      if (net.contains(ip_)) return true;
    }
  }
  return false;
}

// RFC 7208 5.5: names from the PTR lookup whose own addresses include the client.
std::vector<std::string> Evaluation::validated_names(const std::string& target) {
  auto answer = resolver_.resolve(dns::reverse_name(ip_), RrType::Ptr, deadline_);
  std::vector<std::string> names;
  if (!answer.ok()) return names;  // a DNS error here is "no match", not temperror
  if (answer.empty()) count_void();
  size_t checked = 0;
  auto ends_with_target = [&](const std::string& name) {
    std::string n = lower(name), t = lower(target);
    return n == t || (n.size() > t.size() && n.ends_with("." + t));
  };
  // Names under the target first, so the limit of 10 does not hide them.
  std::vector<dns::Record> ptrs = answer.records;
  std::stable_partition(ptrs.begin(), ptrs.end(),
                        [&](const dns::Record& r) { return ends_with_target(r.name); });
  for (const auto& ptr : ptrs) {
    if (checked++ == kMaxAddressLookups) break;
    auto forward = resolver_.resolve(ptr.name, ip_.v6 ? RrType::Aaaa : RrType::A, deadline_);
    if (!forward.ok()) continue;
    bool confirmed = std::any_of(forward.records.begin(), forward.records.end(),
                                 [&](const dns::Record& r) { return r.ip == ip_; });
    if (confirmed) names.push_back(ptr.name);
  }
  return names;
}

bool Evaluation::matches_ptr(const std::string& target) {
  std::string t = lower(target);
  if (!t.empty() && t.back() == '.') t.pop_back();
  for (const auto& name : validated_names(t)) {
    std::string n = lower(name);
    if (n == t || n.ends_with("." + t)) return true;
  }
  return false;
}

std::string Evaluation::macro_value(char letter, const std::string& domain) {
  switch (letter) {
    case 's':
      return sender_;
    case 'l':
      return local_;
    case 'o':
      return sender_domain_;
    case 'd':
      return domain;
    case 'h':
      return request_.helo;
    case 'v':
      return ip_.v6 ? "ip6" : "in-addr";
    case 'c':
      return ip_.str();
    case 'r':
      return request_.receiver;
    case 't':
      return std::to_string(std::time(nullptr));
    case 'i': {
      // Nibbles of an IPv6 address in upper case, as the RFC 7208 suite expects
      // (DNS does not care).
      std::string labels = dns::reverse_labels(ip_);  // reversed; put back in order
      for (char& c : labels) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::vector<std::string> parts;
      for (size_t start = 0;;) {
        size_t dot = labels.find('.', start);
        parts.push_back(labels.substr(start, dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      std::string out;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += (out.empty() ? "" : ".") + *it;
      return out;
    }
    case 'p': {
      auto names = validated_names(domain);
      if (names.empty()) return "unknown";
      std::string d = lower(domain);
      for (const auto& n : names) {
        if (lower(n) == d || lower(n).ends_with("." + d)) return n;
      }
      return names.front();
    }
  }
  return "";
}

std::string Evaluation::expand(std::string_view s, const std::string& domain, bool explanation) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    char next = s[++i];
    if (next == '%' || next == '_' || next == '-') {
      out += next == '%' ? "%" : next == '_' ? " " : "%20";
      continue;
    }
    size_t close = s.find('}', i);
    std::string_view body = s.substr(i + 1, close - i - 1);
    i = close;
    char letter = static_cast<char>(std::tolower(static_cast<unsigned char>(body[0])));
    size_t j = 1;
    size_t keep = 0;
    // Saturated, not wrapped: any number past the count of parts keeps them all, however
    // many digits it has (a wrapped 18446744073709551617 would keep one).
    while (j < body.size() && is_digit(body[j])) {
      const size_t digit = static_cast<size_t>(body[j++] - '0');
      keep = keep > (SIZE_MAX - digit) / 10 ? SIZE_MAX : keep * 10 + digit;
    }
    bool reverse = j < body.size() && (body[j] == 'r' || body[j] == 'R');
    if (reverse) ++j;
    std::string_view delimiters = j < body.size() ? body.substr(j) : ".";
    std::string value = macro_value(letter, domain);
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      size_t cut = value.find_first_of(delimiters, start);
      parts.push_back(value.substr(start, cut == std::string::npos ? std::string::npos : cut - start));
      if (cut == std::string::npos) break;
      start = cut + 1;
    }
    if (reverse) std::reverse(parts.begin(), parts.end());
    if (keep && keep < parts.size()) parts.erase(parts.begin(), parts.end() - static_cast<ptrdiff_t>(keep));
    std::string joined;
    for (const auto& p : parts) joined += (joined.empty() ? "" : ".") + p;
    out += is_alpha(body[0]) && body[0] >= 'A' && body[0] <= 'Z' ? url_escape(joined) : joined;
  }
  if (!explanation) {
    // RFC 7208 7.3: drop labels from the left until the name fits in 253 octets.
    if (!out.empty() && out.back() == '.') out.pop_back();
    while (out.size() > 253) {
      size_t dot = out.find('.');
      out = dot == std::string::npos ? "" : out.substr(dot + 1);
    }
  }
  return out;
}

std::string Evaluation::explain(const Decision& decision) {
  if (!decision.exp) return std::string(kSpfDefaultExplanation);
  try {
    std::string target = expand(*decision.exp, decision.domain, false);
    auto answer = resolver_.resolve(target, RrType::Txt, deadline_);
    if (!answer.ok() || answer.records.size() != 1) return std::string(kSpfDefaultExplanation);
    std::string text = answer.records[0].text();
    if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
      return std::string(kSpfDefaultExplanation);
    }
    check_macro_string(text, true);
    return expand(text, decision.domain, true);
  } catch (const Abort&) {
    return std::string(kSpfDefaultExplanation);
  }
}

SpfOutcome Evaluation::run() {
  SpfOutcome outcome;
  bool helo_identity = request_.sender.empty();
  outcome.identity = helo_identity ? "helo" : "mailfrom";
  sender_ = helo_identity ? "postmaster@" + request_.helo : request_.sender;
  size_t at = sender_.rfind('@');
  local_ = at == std::string::npos || at == 0 ? "postmaster" : sender_.substr(0, at);
  sender_domain_ = at == std::string::npos ? sender_ : sender_.substr(at + 1);
  // RFC 7208 4.3: the <domain> is checked, compared and expanded in macros as A-labels.
  if (auto a_labels = dns::a_label_name(sender_domain_)) sender_domain_ = *a_labels;
  if (at == 0) sender_ = "postmaster" + sender_;
  if (at != std::string::npos && at != 0) sender_ = local_ + "@" + sender_domain_;
  outcome.domain = sender_domain_;
  try {
    Decision decision = check_host(sender_domain_);
    outcome.result = decision.result;
    outcome.mechanism = decision.mechanism;
    if (decision.result == SpfResult::Fail) outcome.explanation = explain(decision);
  } catch (const Abort& abort) {
    outcome.result = abort.result;
    outcome.problem = abort.problem;
    outcome.mechanism.clear();
  }
  outcome.dns_lookups = dns_terms_;
  return outcome;
}

}  // namespace

SpfOutcome check_spf(const SpfRequest& request, dns::Resolver& resolver,
                     dns::Resolver::Clock::time_point deadline) {
  return Evaluation(request, resolver, deadline).run();
}

}  // namespace mp::auth
