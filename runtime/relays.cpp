// Received fields read into relays. The shapes of the "from" clause differ by MTA
// (Postfix writes `helo (rdns [ip])`, Exim `rdns ([ip] helo=name)`, qmail
// `rdns (HELO name) (ip)`, Microsoft `helo ([ip])`), so each known shape is a pattern
// whose groups say which part is which; the first that matches wins, in the order
// SpamAssassin tries them, so that a rule written against its relays reads the same.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "runtime/relays.h"

#include <pcre2.h>
#include <strings.h>

#include <memory>
#include <stdexcept>

#include "runtime/identity.h"

namespace mp::runtime {

namespace {

// A compiled pattern; compiled once, on first use (the tables below are static and
// shared by the threads that judge messages).
class Pattern {
 public:
  explicit Pattern(std::string_view source, uint32_t options = 0) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(), options, &error,
                              &offset, nullptr));
    if (!code_) throw std::logic_error("relays: bad pattern " + std::string(source));
    // Every Received field meets dozens of these: JIT them (where the JIT is not
    // available the interpreter runs them, only slower).
    pcre2_jit_compile(code_.get(), PCRE2_JIT_COMPLETE);
    pcre2_pattern_info(code_.get(), PCRE2_INFO_CAPTURECOUNT, &groups_);
    if (groups_ > kMaxGroups) throw std::logic_error("relays: too many groups in " + std::string(source));
  }
  // The groups of the first match in `text` (group 0 the whole match), or an empty
  // vector when there is none; an unset group is empty.
  std::vector<std::string> match(std::string_view text) const {
    const int count = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0,
                                  match_data(), nullptr);
    if (count <= 0) return {};
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data());
    std::vector<std::string> groups(groups_ + 1);
    for (size_t i = 0; i < groups.size() && i < static_cast<size_t>(count); ++i) {
      if (ovector[2 * i] != PCRE2_UNSET)
        groups[i] = text.substr(ovector[2 * i], ovector[2 * i + 1] - ovector[2 * i]);
    }
    return groups;
  }
  bool found(std::string_view text) const { return !match(text).empty(); }

 private:
  // One match block per thread, large enough for every pattern here (none has more
  // than kMaxGroups groups).
  static constexpr uint32_t kMaxGroups = 16;
  static pcre2_match_data* match_data() {
    thread_local std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create(kMaxGroups + 1, nullptr), pcre2_match_data_free);
    return data.get();
  }
  std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)> code_{nullptr, pcre2_code_free};
  uint32_t groups_ = 0;
};

// An IPv4 or IPv6 address as MTAs write them; checked with IpAddress::parse after.
#define IP \
  R"((?:IPv6:)?(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?::\d{1,3}(?:\.\d{1,3}){3})?))"

// Exchange's "with Microsoft SMTP Server (…) 15.1.1261.35" / "with mapi id 15.20…".
#define MS_SMTP R"( with (?:Microsoft SMTP Server|mapi id) (?:\([^)]+\) )?\d+\.\d+\.\d+\.\d+(?:$| ))"

// What a shape's groups are, in order.
enum class Part { Helo, Rdns, Ip, By, Ident, Comment, Skip };

struct Shape {
  const char* guard;  // the shape is tried only when the text contains this ("" always)
  Pattern pattern;
  std::vector<Part> parts;
  bool helo_is_rdns = false;  // the MTA writes the name once when HELO and rDNS agree
  bool no_id = false;         // what follows " id " is not a queue id
};

using enum Part;

// The "from" clause shapes, the text being what follows "from " with the date cut.
const std::vector<Shape>& shapes() {
  static const std::vector<Shape> table = [] {
    std::vector<Shape> t;
    auto add = [&t](const char* guard, const char* pattern, std::vector<Part> parts,
                    bool helo_is_rdns = false) {
      t.push_back({guard, Pattern(pattern), std::move(parts), helo_is_rdns});
    };
    // Webmail: the client's address and the web server, nothing else.
    add("authenticated user ",
        R"(^(?=.* \((?:SquirrelMail|NaSMail) authenticated user ).*?()" IP
        R"()\b(?![.-]).{10,80}by (\S+) with HTTP)",
        {Ip, By});
    add("with HTTP (WebMailUI)", R"(()" IP R"() by (\S+) \()" IP R"(\) with HTTP \(WebMailUI\))", {Ip, By});
    // Microsoft SMTPSVC and Exchange: `helo ([ip])`, no reverse lookup.
    add(" SMTPSVC", R"(^(\S*) \(\[()" IP R"()\][^)]{0,40}\) by (\S+) with Microsoft SMTPSVC)",
        {Helo, Ip, By});
    // Exchange writes its version right after the protocol ("with Microsoft SMTP Server
    // (TLS) 15.1.1261.35"); with "id 15.20…" between, the generic shapes below read it.
    add(" with ", R"(^(?=.*)" MS_SMTP R"()(\S+) \(\[?()" IP R"()(?:%[A-Za-z0-9._~-]*)?\]?\) by (\S+) )",
        {Helo, Ip, By});
    t.back().no_id = true;
    // Exim: `[ip] (helo=… ident=…)`, `rdns ([ip] helo=…)`, `rdns [ip]`.
    add("Exim", R"(^\[()" IP R"()\] \((.*?)\) by (\S+) )", {Ip, Comment, By});
    add("Exim", R"(^(\S+) \(\[()" IP R"()\](.*?)\) by (\S+) )", {Rdns, Ip, Comment, By}, true);
    add("Exim", R"(^(\S+) \[()" IP R"()\](?::\d+)? by (\S+) )", {Rdns, Ip, By}, true);
    // Postfix: `helo (rdns [ip])`, rdns "unknown" when the lookup failed.
    add(" (Postfix) with", R"(^(\S+) \((\S+) ?\[()" IP R"()\]\) by (\S+) )", {Helo, Rdns, Ip, By});
    // Sendmail and its kind: `helo (rdns [ip])`, perhaps with more in the comment.
    add("", R"(^(?!.* by \S+ \(qmail-\S+\) with )(\S+) \((\S+) \[()" IP R"()\].*\) by (\S+) \()",
        {Helo, Rdns, Ip, By});
    add("", R"(^(\S+) \(\[()" IP R"()\] helo=(\S+)\) by (\S+) with )", {Rdns, Ip, Helo, By});
    add("", R"(^(\S+) \(<unknown\S*>\[()" IP R"()\]\) by (\S+) )", {Helo, Ip, By});
    add("", R"(^(\S+) \((\S+\.\S+)\[()" IP R"()\]\) by (\S+) )", {Helo, Rdns, Ip, By});
    add("", R"(^(\S+) \((\S*)@\[()" IP R"()\].*\) by (\S+) \()", {Helo, Ident, Ip, By});
    // qmail: `rdns (HELO name) (ident@ip)`, the HELO left out when it equals the rDNS.
    add(" by ",
        R"(^(\S+) \((?:HELO|EHLO) ([^ ()]*)\) \((?:(\S*)@)?\[?()" IP
        R"()\]?\)(?: \(envelope-sender <\S+>\))? by (\S+)(?: \(.+\))* with (?:.* )?(?:SMTP|QMQP)(?! id ))",
        {Rdns, Helo, Ident, Ip, By});
    add(" by ",
        R"(^(\S+) \((?:(\S*)@)?\[?()" IP
        R"()\]?\)(?: \(envelope-sender <\S+>\))? by (\S+)(?: \(.+\))* with (?:.* )?(?:SMTP|QMQP)(?! id ))",
        {Rdns, Ident, Ip, By}, true);
    add(" via HTTP", R"(^\[()" IP R"()\] by (\S+) via HTTP$)", {Ip, By});
    add("", R"(^(\S+) \( \[()" IP R"()\]\).*? by (\S+) )", {Skip, Ip, By});
    add("", R"(^\((\S+) \[()" IP R"()\]\) by (\S+) )", {Helo, Ip, By});
    add("", R"(^\[()" IP R"()\] by (\S+) )", {Ip, By});
    add("", R"(^\(\[?()" IP R"()\]?\) by (\S+) )", {Ip, By});
    add("", R"(^(\S+) \[()" IP R"()\] by (\S+) \[)" IP R"(\] with )", {Helo, Ip, By});
    add("", R"(^(\S+) \(\[()" IP R"()\]\) by (\S+) \()", {Helo, Ip, By});
    add("", R"(^(\S+) \((\S+) \[()" IP R"()\]\).*? by (\S+)\b)", {Helo, Rdns, Ip, By});
    add("", R"(^(\S+) \(\[()" IP R"()(?:[.:]\d+)?\]\).*? by (\S+) )", {Helo, Ip, By});
    return t;
  }();
  return table;
}

// Shapes tried after a POP3/IMAP pickup is ruled out.
const std::vector<Shape>& late_shapes() {
  static const std::vector<Shape> table = [] {
    std::vector<Shape> t;
    auto add = [&t](const char* pattern, std::vector<Part> parts, bool helo_is_rdns = false) {
      t.push_back({"", Pattern(pattern), std::move(parts), helo_is_rdns});
    };
    add(R"(^(\S+) \((?:HELO|EHLO) ([^)]*)\) \((?:(\S*)@)?\[?()" IP R"()\]?\).* by (\S+) )",
        {Rdns, Helo, Ident, Ip, By});
    add(R"(^(\S+) \((?:(\S*)@)?\[?()" IP R"()\]?\).* by (\S+) )", {Rdns, Ident, Ip, By}, true);
    add(R"(^()" IP R"() by (\S+) \((?:SMTPL|InterScan)\b)", {Ip, By});
    add(R"(^(\S+) \((\S+) \[()" IP R"()\]\) by (\S+) with )", {Helo, Rdns, Ip, By});
    add(R"(^(\S+) \((?:HELO|EHLO) (\S*)\) \((?:(\S+)@)?()" IP R"().*?\) by (\S+) with )",
        {Rdns, Helo, Ident, Ip, By});
    add(R"(^\[()" IP R"()\] \((?:account \S+ )?(?:HELO|EHLO) (\S*)\) by (\S+) \()", {Ip, Helo, By});
    add(R"(^(?=.* \(CommuniGate Pro)(\S+) \(\[()" IP R"()\] verified\) by (\S+) \()", {Rdns, Ip, By}, true);
    add(R"(^([^\d]\S+) \(()" IP R"()\) by (\S+) )", {Helo, Ip, By});
    add(R"(^()" IP R"() by (\S+) with )", {Ip, By});
    add(R"(^(\S+) \((\S+)\[()" IP R"()\]\) by (\S+) )", {Helo, Rdns, Ip, By});
    add(R"(^()" IP R"() \((?:HELO|EHLO) (\S*)\) by (\S+) )", {Ip, Helo, By});
    add(R"(^(\S+) \[()" IP R"()\] by (\S+) )", {Helo, Ip, By});
    add(R"(^(\S+)\(()" IP R"()\) by (\S+) )", {Rdns, Ip, By});
    add(R"(^\[()" IP R"()\] \(([^)]+)\) by (\S+) )", {Ip, Comment, By});
    add(R"(^(\S+) \((?:\S+@)?()" IP R"()\) by (\S+) with )", {Rdns, Ip, By});
    return t;
  }();
  return table;
}

std::string collapse_space(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

// The fields every shape shares: the queue id, a helo= or HELO name, the receiving
// host and how the sender authenticated (RFC 3848 "with ESMTPA" and the comments
// MTAs write instead).
void read_common(const std::string& text, Relay& relay) {
  static const Pattern id(R"( id <?([^\s<>;]{3,}))");
  static const Pattern helo_equals(
      R"(\bhelo=([-A-Za-z0-9.^+_&:=?!@%*$\\/]+)(?:[^-A-Za-z0-9.^+_&:=?!@%*$\\/]|$))");
  static const Pattern helo_word(
      R"(\b(?:HELO|EHLO) ([-A-Za-z0-9.^+_&:=?!@%*$\\/]+)(?:[^-A-Za-z0-9.^+_&:=?!@%*$\\/]|$))");
  static const Pattern by(R"( by (\S+)(?:[^-A-Za-z0-9;.]|$))");
  static const Pattern with_auth(R"( by .* with ((?:ES|L|UTF8S|UTF8L)MTPS?A|ASMTP|HTTP[SU]?)(?: |;|$))",
                                 PCRE2_CASELESS);
  static const Pattern sendmail_auth(
      R"(^from .*?(?:\](?: \([^)]*\))?\)|\)\]) .*?\(.*?authenticated.*?\).*? by)");
  static const Pattern courier_auth(
      R"(^from .*?(?:\]\)|\)\]) \(AUTH: (LOGIN|PLAIN|DIGEST-MD5|CRAM-MD5) \S+(?:, .*?)?\) by )");
  static const Pattern communigate_auth(R"(CommuniGate Pro (?:HTTP|SMTP|XIMSS|IMAP))");
  static const Pattern via_http(R"( by .* \(via (HTTP.?)\)(?: |;|$))", PCRE2_CASELESS);
  static const Pattern postfix_auth(R"(\) \(Authenticated sender: \S+\) by \S+ \(([^)]+)\) with )");
  if (auto m = id.match(text); !m.empty()) relay.id = m[1];
  if (auto m = helo_equals.match(text); !m.empty())
    relay.helo = m[1];
  else if (auto w = helo_word.match(text); !w.empty())
    relay.helo = w[1];
  if (auto m = by.match(text); !m.empty()) relay.by = m[1];
  if (auto m = with_auth.match(text); !m.empty())
    relay.auth = m[1];
  else if (auto c = courier_auth.match(text); !c.empty())
    relay.auth = c[1];
  else if (text.find("authenticated") != std::string::npos && sendmail_auth.found(text))
    relay.auth = "Sendmail";
  else if (auto p = postfix_auth.match(text); !p.empty())
    relay.auth = p[1] == "Postfix" ? p[1] : "Postfix (" + p[1] + ")";
  else if (communigate_auth.found(text) && text.find(" (account ") != std::string::npos)
    relay.auth = "Communigate";
  else if (text.find(" with Microsoft Exchange Server HTTP-DAV") != std::string::npos)
    relay.auth = "HTTP-DAV";
  else if (auto v = via_http.match(text); !v.empty())
    relay.auth = v[1];
}

// Applies a matched shape's groups; false when its address is not one.
bool apply(const Shape& shape, const std::vector<std::string>& groups, Relay& relay) {
  std::string comment;
  Relay read = relay;
  for (size_t i = 0; i < shape.parts.size() && i + 1 < groups.size(); ++i) {
    const std::string& g = groups[i + 1];
    switch (shape.parts[i]) {
      case Helo: read.helo = g; break;
      case Rdns: read.rdns = g; break;
      case Ip: read.ip = g; break;
      case By: read.by = g; break;
      case Ident: read.ident = g; break;
      case Comment: comment = g; break;
      case Skip: break;
    }
  }
  if (shape.helo_is_rdns) read.helo = read.rdns;
  // Sendmail writes its RFC 1413 lookup into the name: "IDENT:user@host", "user@host".
  if (const size_t at = read.rdns.find('@'); at != std::string::npos) {
    read.ident = read.rdns.substr(read.rdns.starts_with("IDENT:") ? 6 : 0,
                                  at - (read.rdns.starts_with("IDENT:") ? 6 : 0));
    read.rdns.erase(0, at + 1);
  }
  if (!comment.empty()) {
    static const Pattern helo(R"(helo=(\S+))"), ident(R"(ident=(\S*))");
    if (auto m = helo.match(comment); !m.empty()) read.helo = m[1];
    if (auto m = ident.match(comment); !m.empty()) read.ident = m[1];
  }
  std::string_view ip = read.ip;
  if (starts_with_nocase(ip, "ipv6:")) ip.remove_prefix(5);
  if (!IpAddress::parse(ip)) return false;
  relay = std::move(read);
  return true;
}

const Shape* first_shape(const std::vector<Shape>& table, const std::string& clause, Relay& relay) {
  for (const Shape& shape : table) {
    if (*shape.guard && clause.find(shape.guard) == std::string::npos) continue;
    if (auto groups = shape.pattern.match(clause); !groups.empty() && apply(shape, groups, relay))
      return &shape;
  }
  return nullptr;
}

// Handovers that name no connecting host: local submission and delivery, pickup
// services, gateways' internal hops. Each alternative is one MTA's way of saying so.
bool is_local_handover(const std::string& clause) {
  static const Pattern local(R"(^(?:)"
                             R"(\S+ by \S+ (?:with|via|for|\()|)"
                             R"(\S+ (?:(?:with|via|for) \S+|\(unverified\)) by\b|)"
                             R"(\S+@\S+ by \S+ |)"
                             R"(\S+ \((?:\S+@)?(?:localhost|127\.0\.0\.1)\) |)"
                             R"(\S+ \(\S+@\S+ \[(?:localhost|127\.0\.0\.1)\]\) |)"
                             R"((?:localhost|127\.0\.0\.1) \((?:\S+@)?(?:localhost|127\.0\.0\.1)[)\[]|)"
                             R"(localhost \(localhost \[\[UNIX: localhost\]\]\) by |)"
                             R"(mail pickup service by \S+ with Microsoft SMTPSVC$|)"
                             R"(\S+ \S+ by \S+ with local-e?smtp |)"
                             R"(Unknown/Local \(|)"
                             R"(\(AUTH: \S+\) by \S+ with |)"
                             R"(\S+ \(\[unix socket\]\) by \S+ \(Cyrus v\d*\.\d*\.\d*\) with LMTPA|)"
                             R"(\S+ \(unknown\) by \S+ \(SG\) with |)"
                             R"(\S+ \(\S+ \[local\]\) by \S+ \(OpenSMTPD\) with |)"
                             R"(\S+ \(\S+\) by \S+ \(Content Technologies |)"
                             R"([^.]+ by \S+ with Novell_GroupWise|)"
                             R"(no\.name\.available by \S+ via smtpd \(for |)"
                             R"(\S+ named \S+ by gmailapi\.google\.com with HTTPREST$|)"
                             R"(facebook\.com \([^)]+\) by facebook\.com with Thrift id \S+$|)"
                             R"(\S+ id \S+$|)"
                             R"(\S+ by \S+ with BSMTP)"
                             R"()|\(LSMTP for)");
  return local.found(clause);
}

void clean(Relay& relay) {
  while (!relay.rdns.empty() && relay.rdns.back() == '.') relay.rdns.pop_back();
  if (relay.rdns == "unknown" || relay.rdns == "UNKNOWN" || relay.rdns.starts_with('[')) relay.rdns.clear();
  if (starts_with_nocase(relay.ip, "ipv6:")) relay.ip.erase(0, 5);
  if (auto percent = relay.ip.find('%'); percent != std::string::npos) relay.ip.erase(percent);
  // An IPv4-mapped address is written as the IPv4 one: "::ffff:192.0.2.1".
  if (const size_t colon = relay.ip.rfind(':'); colon != std::string::npos && relay.ip.find('.') > colon) {
    const std::string prefix = ascii_lowercase(std::string_view(relay.ip).substr(0, colon));
    if (prefix.ends_with("ffff") && prefix.find_first_not_of("0:") == prefix.size() - 4)
      relay.ip.erase(0, colon + 1);
  }
  if (!relay.by.empty() && relay.by.back() == ';') relay.by.pop_back();
  for (std::string* s : {&relay.ip, &relay.rdns, &relay.helo, &relay.by, &relay.ident, &relay.envfrom}) {
    for (char& c : *s)
      if (std::string_view(" \t\r\n#[]()<>|", 13).find(c) != std::string_view::npos || c == '\0') c = '!';
  }
}

std::string without_date(std::string text) {
  static const Pattern date(
      R"([\s;]+(?:(?:Mon|T(?:ue|hu)|Wed|Fri|S(?:at|un)), )?\d+ (?:J(?:an|u[nl])|Feb|Ma[ry]|A(?:pr|ug)|Sep|Oct|Nov|Dec) \d+ \d+:\d+(?::\d+)? \S+$)");
  if (auto m = date.match(text); !m.empty()) text.erase(text.size() - m[0].size());
  const size_t by = text.find(")by ");
  if (by != std::string::npos) text.insert(by + 1, " ");
  return text;
}

std::string envelope_from(const std::string& clause) {
  static const Pattern envfrom(R"((?:return-path:? |envelope-(?:sender|from)[ =])(\S+)\b)", PCRE2_CASELESS);
  auto m = envfrom.match(clause);
  if (m.empty()) return "";
  std::string value = m[1];
  while (!value.empty() && value.front() == '<') value.erase(0, 1);
  while (!value.empty() && value.back() == '>') value.pop_back();
  return value;
}

}  // namespace

ReceivedReading read_received(std::string_view received) {
  std::string text = collapse_space(received);
  ReceivedReading reading;
  static const Pattern no_address(R"(^from (\S+) by [^\s;]+ ?;)", PCRE2_CASELESS);
  if (!starts_with_nocase(text, "from ") || text.find(" with local for ") != std::string::npos)
    return reading;
  if (auto m = no_address.match(text); !m.empty() && !m[1].starts_with('[')) return reading;
  text = without_date(std::move(text));
  Relay relay;
  read_common(text, relay);
  if (!text.starts_with("from ")) return reading;  // SpamAssassin reads "FROM" only in one form
  const std::string clause = text.substr(5);
  relay.envfrom = envelope_from(clause);
  static const Pattern fetcher(R"(with (?:POP3|IMAP))");
  static const Pattern exim_local(R"(\bwith local(?:-\S+)? )");
  if (clause.find("Exim") != std::string::npos && exim_local.found(clause)) return reading;
  if (const Shape* shape = first_shape(shapes(), clause, relay); shape && shape->no_id) {
    relay.id.clear();  // Exchange's "id" is its version
  } else if (!shape) {
    if (fetcher.found(clause)) {
      reading.fetched = true;
      return reading;
    }
    if (!first_shape(late_shapes(), clause, relay)) {
      if (is_local_handover(clause)) return reading;
      static const Pattern any_bracketed(R"(\[()" IP R"()\])"), first_word(R"(^(\S+)[^-A-Za-z0-9.])");
      auto ip = any_bracketed.match(clause);
      if (ip.empty() || !IpAddress::parse(ip[1]) || relay.by.empty()) {
        reading.unparseable = true;
        return reading;
      }
      relay.ip = ip[1];
      if (auto w = first_word.match(clause); relay.helo.empty() && !w.empty()) relay.helo = w[1];
    }
  }
  clean(relay);
  reading.relay = std::move(relay);
  return reading;
}

namespace {

// The local host is always ours (SpamAssassin's trusted_networks always hold 127/8).
bool is_loopback(const IpAddress& ip) {
  static const Cidr v4 = *Cidr::parse("127.0.0.0/8"), v6 = *Cidr::parse("::1/128");
  return v4.contains(ip) || v6.contains(ip);
}

bool is_private(const IpAddress& ip) {
  static const std::vector<Cidr> kPrivate = [] {
    std::vector<Cidr> nets;
    // SpamAssassin's IP_PRIVATE, which has no IPv6 unique-local (fc00::/7).
    for (const char* net : {"10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
                            "100.64.0.0/10", "::1/128", "fe80::/10"})
      nets.push_back(*Cidr::parse(net));
    return nets;
  }();
  for (const Cidr& net : kPrivate)
    if (net.contains(ip)) return true;
  return false;
}

// The relays webmail services record in a field of their own (SpamAssassin's
// originating_ip_headers, each read at its last occurrence), oldest, after the
// Received ones.
std::vector<ReceivedReading> originating_relays(const Message& message) {
  std::vector<ReceivedReading> relays;
  static const Pattern address(R"(()" IP R"())");
  for (std::string_view name :
       {"x-yahoo-post-ip", "x-originating-ip", "x-apparently-from", "x-senderip", "x-aol-ip",
        "x-ms-exchange-crosstenant-originalattributedtenantconnectingip"}) {
    const HeaderField* last = nullptr;
    for (const auto& h : message.headers())
      if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0)
        last = &h;
    if (!last) continue;
    auto m = address.match(last->value);
    if (m.empty() || !IpAddress::parse(m[1])) continue;
    Relay relay;
    relay.ip = m[1];
    clean(relay);
    relays.push_back({std::move(relay), false});
  }
  return relays;
}

}  // namespace

RelayPath relay_path(const Message& message, const std::function<bool(const IpAddress&)>& is_trusted) {
  std::vector<ReceivedReading> readings;
  for (const auto& h : message.headers())
    if (strcasecmp(h.name.c_str(), "received") == 0) readings.push_back(read_received(h.raw));
  for (auto& reading : originating_relays(message)) readings.push_back(std::move(reading));
  RelayPath path;
  bool in_trusted = true, restart_allowed = true;
  for (auto& reading : readings) {
    if (reading.fetched && restart_allowed) {
      path.trusted.clear();
      path.internal.clear();
      path.external.clear();
    }
    path.unparseable += reading.unparseable;
    if (!reading.relay) continue;
    Relay& relay = *reading.relay;
    if (in_trusted) {
      const auto ip = IpAddress::parse(relay.ip);
      in_trusted =
          !relay.auth.empty() || (ip && (is_trusted ? is_loopback(*ip) || is_trusted(*ip) : is_private(*ip)));
    }
    relay.internal = in_trusted;
    restart_allowed = in_trusted;
    (in_trusted ? path.trusted : path.untrusted).push_back(relay);
    (in_trusted ? path.internal : path.external).push_back(std::move(relay));
  }
  return path;
}

std::string relays_text(const std::vector<Relay>& relays) {
  std::string text;
  for (const Relay& r : relays) {
    if (!text.empty()) text += ' ';
    text += "[ ip=" + r.ip + " rdns=" + r.rdns + " helo=" + r.helo + " by=" + r.by + " ident=" + r.ident +
            " envfrom=" + r.envfrom + " intl=" + (r.internal ? "1" : "0") + " id=" + r.id +
            " auth=" + r.auth + " msa=0 ]";
  }
  return text;
}

}  // namespace mp::runtime
