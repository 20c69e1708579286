// One SpamAssassin rule as a condition (sa_translate.h). The fields each rule type
// reads are in docs/import.md, "What maps to what".
#include "importer/sa_translate.h"

#include <hs/hs.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

#include "vm/pcre.h"
#include "vm/regex_syntax.h"

namespace mp::importer {
namespace {

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

char closing_of(char open) {
  switch (open) {
    case '{': return '}';
    case '(': return ')';
    case '[': return ']';
    case '<': return '>';
    default: return open;
  }
}

// The pattern between the delimiters, rewritten for `/…/`: a `/` not escaped gets a
// backslash, a byte outside printable ASCII becomes \xHH.
std::string rewritten(std::string_view pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const auto c = static_cast<unsigned char>(pattern[i]);
    if (c == '\\' && i + 1 < pattern.size()) {
      const auto next = static_cast<unsigned char>(pattern[i + 1]);
      if (next >= 0x80 || next < 0x20) {
        out += fmt::format("\\x{:02x}", next);  // an escaped raw byte is that byte
      } else {
        out += pattern.substr(i, 2);
      }
      ++i;
    } else if (c == '/') {
      out += "\\/";
    } else if (c >= 0x80 || (c < 0x20 && c != '\t')) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Why PCRE2 cannot compile the pattern with the flags ("" when it can): what neither
// engine compiles would make the whole imported policy fail (E030), so it is reported.
vm::Pcre2Code compiled(const std::string& pattern, const std::string& flags, std::string* error) {
  unsigned int hs_flags = 0;
  if (flags.find('i') != std::string::npos) hs_flags |= HS_FLAG_CASELESS;
  if (flags.find('s') != std::string::npos) hs_flags |= HS_FLAG_DOTALL;
  if (flags.find('m') != std::string::npos) hs_flags |= HS_FLAG_MULTILINE;
  const std::string expression = (flags.find('x') != std::string::npos ? "(?x)" : "") + pattern;
  return vm::compile_pcre2(expression, hs_flags, error);
}

std::string pcre2_problem(const std::string& pattern, const std::string& flags) {
  std::string error;
  return compiled(pattern, flags, &error) ? std::string() : error;
}

// RFC 5322 3.6.8: printable ASCII but the colon; a quote would end the string it is written in.
bool header_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(),
                                      [](char c) { return c > ' ' && c <= '~' && c != '"' && c != ':'; });
}

// A header rule's `NAME:addr`, `ALL`, `ToCc`: the fields this language reads for it,
// tested one after the other (any of them), or why none.
std::variant<std::vector<std::string>, Untranslatable> header_fields(const std::string& spec) {
  static const std::map<std::string, std::string> kMailboxes = {
      {"from", "from"}, {"to", "to"}, {"cc", "cc"}, {"reply-to", "reply_to"}};
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const std::string view = colon == std::string::npos ? "" : spec.substr(colon + 1);
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (view == "raw") {
    // raw_header("NAME") is one occurrence's field body as received, as SpamAssassin's
    // :raw less the final line break; ALL:raw would need the raw lines, name included.
    if (name == "ALL" || name == "ToCc" || name == "MESSAGEID" || name == "EnvelopeFrom" ||
        !header_name(name))
      return Untranslatable{"view", "`" + spec + "`: undecoded header lines (:raw of " + name + ")"};
    return std::vector<std::string>{"raw_header(\"" + name + "\")"};
  }
  if (view == "addr" || view == "name") {
    auto mailbox = kMailboxes.find(lower);
    // Another header's addresses: header_address("NAME"), read as SpamAssassin's :addr.
    if (mailbox == kMailboxes.end() && view == "addr" && name == "ToCc")
      return std::vector<std::string>{"header_address(\"To\")", "header_address(\"Cc\")"};
    if (mailbox == kMailboxes.end() && view == "addr" && header_name(name) && name != "ALL" &&
        name != "MESSAGEID" && name != "EnvelopeFrom")
      return std::vector<std::string>{"header_address(\"" + name + "\")"};
    if (mailbox == kMailboxes.end())
      return Untranslatable{"view", "`" + spec + "`: the " + view + " view of " + name};
    return std::vector<std::string>{mailbox->second + (view == "addr" ? ".address" : ".display_name")};
  }
  // NAME:first and NAME:last: one occurrence of the field.
  if ((view == "first" || view == "last") && header_name(name) && name != "ALL" && name != "ToCc" &&
      name != "MESSAGEID" && name != "EnvelopeFrom")
    return std::vector<std::string>{view + "_header(\"" + name + "\")"};
  if (!view.empty()) return Untranslatable{"view", "`" + spec + "`: the view :" + view};
  if (name == "ALL") return std::vector<std::string>{"header"};
  if (name == "ToCc") return std::vector<std::string>{"header \"To\"", "header \"Cc\""};
  if (name == "MESSAGEID")
    return std::vector<std::string>{"header \"Message-Id\"", "header \"Resent-Message-Id\"",
                                    "header \"X-Message-Id\"", "header \"X-Original-Message-ID\""};
  if (name == "EnvelopeFrom") return std::vector<std::string>{"sender"};
  // X-Spam-Relays-KIND: SpamAssassin's text of the relays, which relays("kind") writes alike.
  for (const char* kind : {"trusted", "untrusted", "internal", "external"}) {
    if (lower == std::string("x-spam-relays-") + kind)
      return std::vector<std::string>{"relays(\"" + std::string(kind) + "\")"};
  }
  if (name.starts_with("X-Spam-Relays-") || name.starts_with("ALL-") || name == "X-Spam-DCC")
    return Untranslatable{"view",
                          "`" + name + "`: a SpamAssassin pseudo-header (its Received-derived relays)"};
  if (!header_name(name)) return Untranslatable{"view", "`" + name + "` is not a header name"};
  return std::vector<std::string>{"header \"" + name + "\""};
}

// `F1 matches R or F2 matches R`, negated as a whole for `!~`.
std::string any_matches(const std::vector<std::string>& fields, const std::string& regex, bool negated) {
  std::string out;
  for (const auto& f : fields) out += (out.empty() ? "" : " or ") + f + " matches " + regex;
  if (!negated) return fields.size() > 1 ? "(" + out + ")" : out;
  return "not " + (fields.size() > 1 ? "(" + out + ")" : out);
}

// ReplaceTags: `<NAME>` in a rule listed by replace_rules is the tag's value (tags may
// name other tags).
std::string replaced(std::string text, const SaConfig& config) {
  for (int pass = 0; pass < 5; ++pass) {
    bool any = false;
    for (const auto& [tag, value] : config.replace_tags) {
      const std::string marker = "<" + tag + ">";
      for (size_t at = text.find(marker); at != std::string::npos;
           at = text.find(marker, at + value.size())) {
        text.replace(at, marker.size(), "(?:" + value + ")");
        any = true;
      }
    }
    if (!any) break;
  }
  return text;
}

// SpamAssassin reads an absent header as its `[if-unset: TEXT]`, "" without one
// (Plugin/Check.pm): where the regex matches that text, absence matches too.
std::optional<std::string> unset_value(const std::string& rest) {
  if (rest.empty()) return std::string();
  if (!rest.starts_with("[if-unset:") || !rest.ends_with("]")) return std::nullopt;
  // SpamAssassin's `\s+\[if-unset:\s+(.+)\]$`: white space, then some text.
  const std::string_view text = std::string_view(rest).substr(10, rest.size() - 11);
  if (text.empty() || !std::isspace(static_cast<unsigned char>(text.front())) || trim(text).empty())
    return std::nullopt;
  return trim(text);
}

// Some of the headers is there.
std::string present(const std::vector<std::string>& fields) {
  std::string out;
  for (const auto& f : fields) out += (out.empty() ? "" : " or ") + f + " contains \"\"";
  return fields.size() > 1 ? "(" + out + ")" : out;
}

// Whether a pattern can match across lines: with /m a `^` after the pattern's start,
// with /s a `.` (unescaped, outside classes). For ALL, one text in SpamAssassin and a
// value per line here, such a pattern never matches (`^Message-Id:.*?^Received:`).
bool spans_lines(const std::string& pattern, const std::string& flags) {
  const bool multiline = flags.find('m') != std::string::npos, dotall = flags.find('s') != std::string::npos;
  for (size_t i = 0; i < pattern.size();) {
    const char c = pattern[i];
    if (c == '\\') {
      i += 2;
    } else if (c == '[') {
      i = vm::class_end(pattern, i);
      if (i == std::string::npos) return false;  // PCRE2 refuses it, and says so
    } else if ((multiline && c == '^' && i > 0) || (dotall && c == '.')) {
      return true;
    } else {
      ++i;
    }
  }
  return false;
}

// `NAME =~ /re/ [if-unset: TEXT]` (or `!~`), read apart.
struct HeaderTest {
  std::string name;
  bool negated = false;
  RegexLiteral regex;
  std::string unset;  // what an absent field reads as
};

std::variant<HeaderTest, Untranslatable> header_test(const std::string& definition) {
  const size_t op = definition.find_first_of("=!");
  if (op == std::string::npos || op + 1 >= definition.size() || definition[op + 1] != '~')
    return Untranslatable{"syntax", "expected `HEADER =~ /pattern/`"};
  auto regex = regex_literal(trim(definition.substr(op + 2)));
  if (auto* why = std::get_if<Untranslatable>(&regex)) return *why;
  RegexLiteral& r = std::get<RegexLiteral>(regex);
  const auto unset = unset_value(r.rest);
  if (!unset) return Untranslatable{"syntax", "`" + r.rest + "` after the regex"};
  return HeaderTest{trim(definition.substr(0, op)), definition[op] == '!', std::move(r), *unset};
}

bool needs_line_break(const RegexLiteral& r) {
  return r.pattern.find("\\n") != std::string::npos || r.pattern.find("\\r") != std::string::npos;
}

std::variant<std::string, Untranslatable> header_condition(const std::string& definition) {
  if (definition.starts_with("exists:")) {
    if (definition.find(':', 7) != std::string::npos)
      return Untranslatable{"syntax", "`exists:` of a view: SpamAssassin rejects it (invalid head test)"};
    auto fields = header_fields(trim(definition.substr(7)));
    if (auto* why = std::get_if<Untranslatable>(&fields)) return *why;
    return present(std::get<std::vector<std::string>>(fields));
  }
  auto test = header_test(definition);
  if (auto* why = std::get_if<Untranslatable>(&test)) return *why;
  const HeaderTest& t = std::get<HeaderTest>(test);
  auto fields = header_fields(t.name);
  if (auto* why = std::get_if<Untranslatable>(&fields)) return *why;
  // SpamAssassin's header values keep their line break, and ALL is one text with
  // them: a pattern that needs one has no equal among this language's values.
  if (needs_line_break(t.regex))
    return Untranslatable{"view", "the pattern needs the line breaks of the header block"};
  const auto& names = std::get<std::vector<std::string>>(fields);
  // SpamAssassin joins a repeated header's occurrences into one text, line after line.
  if (spans_lines(t.regex.pattern, t.regex.flags))
    return Untranslatable{
        "view", names.front() == "header"
                    ? "the pattern spans lines of the header block (ALL as one text)"
                    : "the pattern spans lines (SpamAssassin joins a repeated header's occurrences)"};
  std::string condition = any_matches(names, t.regex.literal, t.negated);
  const bool one_header = names.front().starts_with("header \"") || names.front().starts_with("raw_header(");
  if (one_header && regex_matches(t.regex, t.unset)) {
    // Absent, the header reads as the unset text, which the regex matches.
    condition = t.negated ? "(" + condition + " and " + present(names) + ")"
                          : "(" + condition + " or not " + present(names) + ")";
  }
  return condition;
}

// MIMEHeader plugin: `NAME =~ /re/` holds when the NAME field of some MIME entity
// matches, the message's own header block included; an entity without the field reads
// as its [if-unset: TEXT], which this language cannot say of one part.
std::variant<std::string, Untranslatable> mimeheader_condition(const std::string& definition) {
  auto test = header_test(definition);
  if (auto* why = std::get_if<Untranslatable>(&test)) return *why;
  const HeaderTest& t = std::get<HeaderTest>(test);
  if (t.name.find('[') != std::string::npos || !header_name(t.name))
    return Untranslatable{"view", "mimeheader `" + t.name + "`: only a plain header name is translated"};
  if (needs_line_break(t.regex))
    return Untranslatable{"view", "the pattern needs the line break that ends a MIME header value"};
  if (regex_matches(t.regex, t.unset))
    return Untranslatable{"view", "mimeheader: a part without `" + t.name + "` matches (its unset value)"};
  if (t.negated)
    return Untranslatable{"view",
                          "a negated mimeheader rule: SpamAssassin 4.0.1's MIMEHeader plugin fires it "
                          "on every message"};
  return any_matches({"mime_header(\"" + t.name + "\")"}, t.regex.literal, t.negated);
}

}  // namespace

bool regex_matches(const RegexLiteral& regex, std::string_view text) {
  const vm::Pcre2Code code = compiled(regex.pattern, regex.flags, nullptr);
  if (!code) return false;
  const vm::Pcre2MatchData data = vm::make_match_data();
  return vm::match_pcre2(code.get(), data.get(), text).match.has_value();
}

std::variant<RegexLiteral, Untranslatable> regex_literal(std::string_view perl) {
  size_t start = 0;
  if (perl.starts_with("m") && perl.size() > 1 && !std::isalnum(static_cast<unsigned char>(perl[1])) &&
      perl[1] != ' ')
    start = 1;
  else if (!perl.starts_with("/"))
    return Untranslatable{"syntax", "expected a regex, /pattern/ or m{pattern}"};
  const char open = perl[start], close = closing_of(open);
  int depth = 0;
  size_t end = std::string_view::npos;
  for (size_t i = start + 1; i < perl.size(); ++i) {
    if (perl[i] == '\\') {
      ++i;
    } else if (open != close && perl[i] == open) {
      ++depth;
    } else if (perl[i] == close) {
      if (depth-- == 0) {
        end = i;
        break;
      }
    }
  }
  if (end == std::string_view::npos) return Untranslatable{"syntax", "the regex is not closed"};
  size_t flags_end = end + 1;
  while (flags_end < perl.size() && std::isalpha(static_cast<unsigned char>(perl[flags_end]))) ++flags_end;
  std::string flags;
  for (char f : perl.substr(end + 1, flags_end - end - 1)) {
    if (std::string_view("isxm").find(f) != std::string_view::npos) {
      if (flags.find(f) == std::string::npos) flags += f;
    } else if (f != 'g' && f != 'o') {
      return Untranslatable{"regex", fmt::format("the regex flag `{}`", f)};
    }
  }
  const std::string pattern = rewritten(perl.substr(start + 1, end - start - 1));
  if (std::string problem = pcre2_problem(pattern, flags); !problem.empty())
    return Untranslatable{"regex", "PCRE2 cannot compile it: " + problem};
  return RegexLiteral{"/" + pattern + "/" + flags, trim(perl.substr(flags_end)), pattern, flags};
}

// `FIELD in LIST or FIELD ends with SUFFIXES`, for the lists the config has ("" when it
// has neither).
std::string in_domains(const std::string& field, const std::vector<std::string>& exact,
                       const std::vector<std::string>& suffixes, const std::string& list) {
  std::string out;
  if (!exact.empty()) out = field + " in " + list;
  if (!suffixes.empty()) out += (out.empty() ? "" : " or ") + field + " ends with " + list + "_suffixes";
  return out.find(" or ") != std::string::npos ? "(" + out + ")" : out;
}

// SpamAssassin's FreeMail plugin: an address is freemail when its domain is listed or
// matches a wildcard entry, unless its local part is one of the role or bounce names of
// the plugin's $email_welcomelist. `address` and `domain` name the fields (`address`
// inside `any from (...)`, `sender` for the envelope); `regex` is the eval's own, or "".
std::string freemail_address(const std::string& address, const std::string& domain, const std::string& regex,
                             const SaConfig& config) {
  static const std::string kWelcomelist =
      "/^(?:abuse|support|sales|info|helpdesk|contact|kontakt|(?:post|host|domain)master|undisclosed.*"
      "|request-[a-f0-9]{16}|bounced?-|[a-f0-9]{8}(?:\\.[a-f0-9]{8}|-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}"
      "-[a-f0-9]{12})|.+=.+=.+)\\@/i";
  std::vector<std::string> listed;
  if (!config.freemail.empty()) listed.push_back(domain + " in sa_freemail");
  if (!config.freemail_wildcards.empty())
    listed.push_back(domain +
                     " matches /^(?:" + fmt::format("{}", fmt::join(config.freemail_wildcards, "|")) + ")$/");
  if (listed.empty()) return {};
  std::string out = listed.size() == 1 ? listed[0] : "(" + listed[0] + " or " + listed[1] + ")";
  out += " and not " + address + " matches " + kWelcomelist;
  if (!config.freemail_welcome_addresses.empty())
    out += " and not " + address + " in sa_freemail_welcome_addresses";
  if (!config.freemail_welcome_domains.empty())
    out += " and not " + domain + " in sa_freemail_welcome_domains";
  return regex.empty() ? out : out + " and " + address + " matches " + regex;
}

// The quoted arguments of an eval: `check_freemail_header('Reply-To', '\d@')`.
std::vector<std::string> eval_arguments(const std::string& definition) {
  std::vector<std::string> out;
  const size_t open = definition.find('(');
  for (size_t i = open == std::string::npos ? definition.size() : open; i < definition.size(); ++i) {
    const char quote = definition[i];
    if (quote != '\'' && quote != '"') continue;
    const size_t end = definition.find(quote, i + 1);
    if (end == std::string::npos) break;
    out.push_back(definition.substr(i + 1, end - i - 1));
    i = end;
  }
  return out;
}

// The evals this language has the fields for (docs/import.md, "What maps to what"); "" for the rest.
std::string eval_condition(const std::string& function, const std::string& definition,
                           const SaConfig& config) {
  static const std::map<std::string, std::string> kMailboxes = {
      {"From", "from"}, {"Reply-To", "reply_to"}, {"Reply-To:addr", "reply_to"}, {"To", "to"}, {"Cc", "cc"}};
  const auto args = eval_arguments(definition);
  // The eval's regex argument (index `at`) as a literal; nullopt when it has none.
  auto eval_regex = [&args](size_t at) -> std::optional<std::string> {
    if (args.size() <= at) return "";
    auto regex = regex_literal("/" + args[at] + "/");
    if (std::holds_alternative<Untranslatable>(regex)) return std::nullopt;
    return std::get<RegexLiteral>(regex).literal;
  };
  auto in_mailbox = [&config](const std::string& collection, const std::string& regex) {
    std::string test = freemail_address("address", "domain", regex, config);
    return test.empty() ? test : "any " + collection + " (" + test + ")";
  };
  // check_freemail_from: the From addresses and the envelope sender (all_from_addrs).
  if (function == "check_freemail_from" && args.size() <= 1) {
    auto regex = eval_regex(0);
    if (!regex || (config.freemail.empty() && config.freemail_wildcards.empty())) return {};
    return "(" + in_mailbox("from", *regex) + " or (" +
           freemail_address("sender", "sender.domain", *regex, config) + "))";
  }
  if (function == "check_freemail_header" && !args.empty() && args.size() <= 2) {
    auto regex = eval_regex(1);
    auto mailbox = kMailboxes.find(args[0]);
    if (!regex) return {};
    if (args[0] == "EnvelopeFrom") return freemail_address("sender", "sender.domain", *regex, config);
    return mailbox == kMailboxes.end() ? "" : in_mailbox(mailbox->second, *regex);
  }
  if (function == "short_url" && args.empty())
    return in_domains("urls.domain", config.shorteners, config.shortener_suffixes, "sa_url_shorteners");
  if (function == "check_for_matching_env_and_hdr_from" && args.empty()) return "from.address is sender";
  if (function == "html_test" && args.size() == 1 && args[0] == "html") return "html matches /\\S/";
  // RelayEval: the relay path as SpamAssassin reads it (relays("KIND")).
  if (function == "check_all_trusted" && args.empty())
    return "(not relays(\"trusted\") is \"\" and relays(\"untrusted\") is \"\" and relays.unparseable == 0)";
  if (function == "check_no_relays" && args.empty())
    return "(relays(\"trusted\") is \"\" and relays(\"untrusted\") is \"\" and relays.unparseable == 0)";
  if (function == "check_relays_unparseable" && args.empty()) return "relays.unparseable > 0";
  return {};
}

std::variant<std::string, Untranslatable> rule_condition(const SaRule& rule, const SaConfig& config) {
  const std::string definition =
      config.replace_rules.count(rule.name) ? replaced(rule.definition, config) : rule.definition;
  if (definition.starts_with("eval:")) {
    const std::string function = trim(definition.substr(5, definition.find('(') - 5));
    if (std::string mapped = eval_condition(function, definition, config); !mapped.empty()) return mapped;
    return Untranslatable{"eval", "eval:" + function + " (Perl code)"};
  }
  if (rule.type == "header") return header_condition(definition);
  if (rule.type == "mimeheader") return mimeheader_condition(definition);
  auto regex = regex_literal(definition);
  if (auto* why = std::get_if<Untranslatable>(&regex)) return *why;
  const std::string& r = std::get<RegexLiteral>(regex).literal;
  if (rule.type == "body") {
    // tflags nosubject: the body without the Subject SpamAssassin puts first.
    auto flags = config.tflags.find(rule.name);
    const bool nosubject = flags != config.tflags.end() && flags->second.count("nosubject");
    return (nosubject ? "body matches " : "body.paragraphs matches ") + r;
  }
  if (rule.type == "uri") return "urls matches " + r;
  if (rule.type == "rawbody") return "(body matches " + r + " or html matches " + r + ")";
  if (rule.type == "full") return "(header matches " + r + " or rawbody matches " + r + ")";
  return Untranslatable{"syntax", "unknown rule type " + rule.type};
}

std::string off_in_score_set_0(const SaRule& rule, const SaConfig& config) {
  auto flags = config.tflags.find(rule.name);
  if (flags != config.tflags.end()) {
    if (flags->second.count("net")) return "network";
    if (flags->second.count("learn")) return "bayes";
  }
  static const std::vector<std::string_view> kNetwork = {"eval:check_rbl",
                                                         "eval:check_uridnsbl",
                                                         "eval:check_uri_host_",
                                                         "eval:check_dcc",
                                                         "eval:check_razor",
                                                         "eval:check_pyzor",
                                                         "eval:check_spf",
                                                         "eval:check_dkim",
                                                         "eval:check_dmarc",
                                                         "eval:check_hashbl",
                                                         "eval:check_dns",
                                                         "eval:check_askdns",
                                                         "eval:check_senders_reputation"};
  for (std::string_view prefix : kNetwork) {
    if (rule.definition.starts_with(prefix)) return "network";
  }
  if (rule.definition.starts_with("eval:check_bayes")) return "bayes";
  return {};
}

}  // namespace mp::importer
