// Reading SpamAssassin .cf files (sa_config.h).
#include "importer/sa_config.h"

#include <cctype>
#include <cstdlib>
#include <optional>
#include <sstream>

namespace mp::importer {
namespace {

const std::set<std::string> kRuleTypes = {"header", "body", "rawbody", "uri", "full", "mimeheader", "meta"};

// Plugins SpamAssassin 4.0 loads with its default v3xx.pre/v400.pre files; an
// `ifplugin` of any other (TextCat, AccessDB, DCC, ASN, PDFInfo, …) is false.
const std::set<std::string> kDefaultPlugins = {"Check",
                                               "HTTPSMismatch",
                                               "URIDetail",
                                               "Bayes",
                                               "BodyEval",
                                               "DNSEval",
                                               "HTMLEval",
                                               "HeaderEval",
                                               "MIMEEval",
                                               "RelayEval",
                                               "URIEval",
                                               "WLBLEval",
                                               "VBounce",
                                               "ImageInfo",
                                               "FreeMail",
                                               "AskDNS",
                                               "ReplaceTags",
                                               "MIMEHeader",
                                               "WelcomeListSubject",
                                               "WhiteListSubject",
                                               "SPF",
                                               "DKIM",
                                               "DMARC",
                                               "URIDNSBL",
                                               "Pyzor",
                                               "Razor2",
                                               "SpamCop",
                                               "AutoLearnThreshold",
                                               "FromNameSpoof",
                                               "Phishing",
                                               "HashBL",
                                               "DecodeShortURLs",
                                               "Hashcash",
                                               "FreeMail"};
constexpr double kVersion = 4.000001;  // SpamAssassin 4.0.1, as `if (version >= …)` compares

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// A line without its comment: `#` starts one unless a backslash escapes it.
std::string strip_comment(const std::string& line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || line[i - 1] != '\\')) return line.substr(0, i);
  }
  return line;
}

bool plugin_loaded(std::string_view name) {
  const size_t last = name.rfind("::");
  return kDefaultPlugins.count(std::string(last == std::string_view::npos ? name : name.substr(last + 2))) >
         0;
}

// `if` expressions as SpamAssassin's files write them: version comparisons,
// plugin(NAME), can(NAME) (every feature of 4.0 is there), !, &&, || and parentheses.
class IfExpression {
 public:
  explicit IfExpression(std::string text) : text_(std::move(text)) {}

  std::optional<bool> value() {
    auto v = disjunction();
    skip_space();
    return v && pos_ == text_.size() ? v : std::nullopt;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool take(std::string_view token) {
    skip_space();
    if (text_.compare(pos_, token.size(), token) != 0) return false;
    pos_ += token.size();
    return true;
  }
  std::optional<bool> disjunction() {
    auto v = conjunction();
    while (v && take("||")) {
      auto r = conjunction();
      if (!r) return std::nullopt;
      v = *v || *r;
    }
    return v;
  }
  std::optional<bool> conjunction() {
    auto v = unary();
    while (v && take("&&")) {
      auto r = unary();
      if (!r) return std::nullopt;
      v = *v && *r;
    }
    return v;
  }
  std::optional<bool> unary() {
    if (take("!")) {
      auto v = unary();
      return v ? std::optional<bool>(!*v) : std::nullopt;
    }
    if (take("(")) {
      auto v = disjunction();
      return v && take(")") ? v : std::nullopt;
    }
    for (const char* call : {"plugin(", "can(", "has("}) {
      if (!take(call)) continue;
      const size_t close = text_.find(')', pos_);
      if (close == std::string::npos) return std::nullopt;
      const std::string argument = trim(std::string_view(text_).substr(pos_, close - pos_));
      pos_ = close + 1;
      return std::string_view(call) == "plugin(" ? plugin_loaded(argument) : true;
    }
    if (take("version")) return version_comparison();
    return std::nullopt;
  }
  std::optional<bool> version_comparison() {
    for (const char* op : {">=", "<=", "==", "!=", ">", "<"}) {
      if (!take(op)) continue;
      skip_space();
      char* end = nullptr;
      const double n = std::strtod(text_.c_str() + pos_, &end);
      if (end == text_.c_str() + pos_) return std::nullopt;
      pos_ = static_cast<size_t>(end - text_.c_str());
      const std::string_view o = op;
      return o == ">="   ? kVersion >= n
             : o == "<=" ? kVersion <= n
             : o == "==" ? kVersion == n
             : o == "!=" ? kVersion != n
             : o == ">"  ? kVersion > n
                         : kVersion < n;
    }
    return std::nullopt;
  }

  std::string text_;
  size_t pos_ = 0;
};

class Reader {
 public:
  explicit Reader(SaConfig& config) : config_(config) {}

  void read(const CfFile& file) {
    std::istringstream in(file.text);
    std::string raw;
    int number = 0;
    active_.assign(1, true);
    while (std::getline(in, raw)) {
      ++number;
      const std::string line = trim(strip_comment(raw));
      if (!line.empty()) read_line(file.path, number, line);
    }
  }

 private:
  void read_line(const std::string& path, int number, const std::string& line) {
    const size_t space = line.find_first_of(" \t");
    const std::string key = line.substr(0, space);
    const std::string rest = space == std::string::npos ? "" : trim(std::string_view(line).substr(space));
    if (conditional(key, rest, path, number)) return;
    if (!active_.back()) return;
    if (kRuleTypes.count(key)) return rule(key, rest, path, number);
    const size_t name_end = rest.find_first_of(" \t");
    const std::string name = rest.substr(0, name_end);
    const std::string value =
        name_end == std::string::npos ? "" : trim(std::string_view(rest).substr(name_end));
    if (key == "score") return score(name, value, path, number);
    if (key == "required_score")
      config_.required_score = std::strtod(rest.c_str(), nullptr);
    else if (key == "describe")
      config_.descriptions[name] = value;
    else if (key == "tflags")
      tflags(name, value);
    else if (key == "replace_tag" || key == "replace_pre" || key == "replace_inter" || key == "replace_post")
      config_.replace_tags[name] = value;
    else if (key == "replace_rules")
      add_words(rest, config_.replace_rules);
    else if (key == "freemail_domains")
      freemail_domains(rest, path, number);
    else if (key == "freemail_welcomelist" || key == "freemail_whitelist")
      freemail_welcomelist(rest);
    else if (key == "url_shortener")
      domains(rest, config_.shorteners, config_.shortener_suffixes, path, number);
    // Settings that change no rule's match (lang, priority, reuse, report texts, lists
    // for plugins) are left out without a note; anything else is noted.
    else if (!kQuiet.count(key) && !key.starts_with("uridnsbl") && !key.starts_with("urirhs") &&
             !key.starts_with("report") && !key.starts_with("add_header"))
      config_.notes.push_back(path + ":" + std::to_string(number) + ": `" + key + "` not imported");
  }

  bool conditional(const std::string& key, const std::string& rest, const std::string& path, int number) {
    if (key == "ifplugin" || key == "if") {
      std::optional<bool> holds = key == "ifplugin" ? plugin_loaded(rest) : IfExpression(rest).value();
      if (!holds) {
        config_.notes.push_back(path + ":" + std::to_string(number) + ": `if " + rest +
                                "` not understood: its block is read");
        holds = true;
      }
      active_.push_back(active_.back() && *holds);
      else_of_.push_back(active_.size() > 1 && active_[active_.size() - 2]);
      return true;
    }
    if (key == "else" && active_.size() > 1) {
      active_.back() = else_of_.back() && !active_.back();
      return true;
    }
    if (key == "endif" && active_.size() > 1) {
      active_.pop_back();
      else_of_.pop_back();
      return true;
    }
    return false;
  }

  void rule(const std::string& type, const std::string& rest, const std::string& path, int number) {
    const size_t name_end = rest.find_first_of(" \t");
    SaRule r{rest.substr(0, name_end), type,
             name_end == std::string::npos ? "" : trim(std::string_view(rest).substr(name_end)), path,
             number};
    auto [it, fresh] = index_.emplace(r.name, config_.rules.size());
    if (fresh)
      config_.rules.push_back(std::move(r));
    else
      config_.rules[it->second] = std::move(r);
  }

  // `score R 1.5`, `score R 0 1 0 1` (per score set), `score R (0.5)`: a value in
  // parentheses is added to the score R had (Conf.pm, "score").
  void score(const std::string& name, const std::string& value, const std::string& path, int number) {
    std::istringstream in(value);
    std::vector<std::pair<double, bool>> values;  // value, relative
    for (std::string word; in >> word;) {
      const bool relative = word.size() > 2 && word.front() == '(' && word.back() == ')';
      const std::string digits = relative ? word.substr(1, word.size() - 2) : word;
      char* end = nullptr;
      const double v = std::strtod(digits.c_str(), &end);
      if (digits.empty() || end != digits.c_str() + digits.size()) {
        values.clear();
        break;
      }
      values.emplace_back(v, relative);
    }
    if (values.size() != 1 && values.size() != 4) {
      config_.notes.push_back(path + ":" + std::to_string(number) + ": score of " + name + " not understood");
      return;
    }
    const bool known = config_.scores.count(name) > 0;
    auto& s = config_.scores[name];
    for (size_t i = 0; i < 4; ++i) {
      const auto [v, relative] = values[values.size() == 1 ? 0 : i];
      s[i] = relative ? (known ? s[i] : score_default(name)) + v : v;
    }
  }

  static double score_default(const std::string& name) { return name.starts_with("T_") ? 0.01 : 1.0; }

  void tflags(const std::string& name, const std::string& value) {
    auto& flags = config_.tflags[name];
    flags.clear();  // a later tflags line replaces the earlier
    add_words(value, flags);
  }

  // As the FreeMail plugin reads them: lowercase, only letters, digits, `.`, `-`, `*`
  // and `?`; an entry with a wildcard becomes a regex (SaConfig::freemail_wildcards).
  void freemail_domains(const std::string& text, const std::string& path, int number) {
    std::istringstream in(text);
    for (std::string w; in >> w;) {
      for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (w.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-*?") != std::string::npos) {
        config_.notes.push_back(path + ":" + std::to_string(number) + ": `" + w +
                                "` left out: not a freemail_domains entry");
        continue;
      }
      if (w.find_first_of("*?") == std::string::npos) {
        config_.freemail.push_back(w);
        continue;
      }
      std::string regex;
      for (char c : w) regex += c == '.' ? "\\." : c == '?' ? "." : c == '*' ? "[^.]*" : std::string(1, c);
      config_.freemail_wildcards.push_back(regex);
    }
  }

  // Domains, lowercase; `*.x` and `.x` as the suffix `.x`.
  void domains(const std::string& text, std::vector<std::string>& exact, std::vector<std::string>& suffixes,
               const std::string& path, int number) {
    std::istringstream in(text);
    for (std::string w; in >> w;) {
      for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (w.starts_with("*.")) w.erase(0, 1);
      if (w.find_first_of("*?") != std::string::npos) {
        config_.notes.push_back(path + ":" + std::to_string(number) + ": `" + w +
                                "` left out: only `*.domain` wildcards translate");
        continue;
      }
      (w.starts_with('.') ? suffixes : exact).push_back(w);
    }
  }

  void freemail_welcomelist(const std::string& text) {
    std::istringstream in(text);
    for (std::string w; in >> w;) {
      for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      (w.find('@') != std::string::npos ? config_.freemail_welcome_addresses
                                        : config_.freemail_welcome_domains)
          .push_back(w);
    }
  }

  static void add_words(const std::string& text, std::set<std::string>& out) {
    std::istringstream in(text);
    for (std::string w; in >> w;) out.insert(w);
  }

  static inline const std::set<std::string> kQuiet = {"lang",
                                                      "priority",
                                                      "reuse",
                                                      "test",
                                                      "loadplugin",
                                                      "tryplugin",
                                                      "require_version",
                                                      "freemail_whitelist",
                                                      "freemail_welcomelist",
                                                      "util_rb_tld",
                                                      "util_rb_2tld",
                                                      "util_rb_3tld",
                                                      "askdns",
                                                      "urirhssub",
                                                      "uridnssub",
                                                      "header_check",
                                                      "redirector_pattern",
                                                      "clear_report_template",
                                                      "clear_unsafe_report_template",
                                                      "unsafe_report",
                                                      "enlist_uri_host",
                                                      "enlist_addrlist",
                                                      "whitelist_from_rcvd",
                                                      "def_whitelist_from_rcvd",
                                                      "welcomelist_from_rcvd",
                                                      "def_welcomelist_from_rcvd",
                                                      "whitelist_auth",
                                                      "def_whitelist_auth",
                                                      "welcomelist_auth",
                                                      "def_welcomelist_auth",
                                                      "uri_detail",
                                                      "bayes_ignore_header",
                                                      "mimeheader_check",
                                                      "hashbl_acl_freemail",
                                                      "url_shortener_get",
                                                      "dkim_minimum_key_bits",
                                                      "adsp_override",
                                                      "blacklist_from",
                                                      "blocklist_from",
                                                      "whitelist_from",
                                                      "welcomelist_from",
                                                      "shortcircuit",
                                                      "body_part_scan_size",
                                                      "rawbody_part_scan_size",
                                                      "ok_locales",
                                                      "ok_languages"};

  SaConfig& config_;
  std::map<std::string, size_t> index_;
  std::vector<bool> active_{true};
  std::vector<bool> else_of_;  // whether the block's parent is active (an else may run)
};

}  // namespace

SaConfig read_config(std::span<const CfFile> files) {
  SaConfig config;
  Reader reader(config);
  for (const CfFile& file : files) reader.read(file);
  return config;
}

double score_of(const SaConfig& config, const std::string& rule, int set) {
  if (rule.starts_with("__")) return 0;
  auto it = config.scores.find(rule);
  if (it != config.scores.end()) return it->second[static_cast<size_t>(set)];
  return rule.starts_with("T_") ? 0.01 : 1.0;
}

}  // namespace mp::importer
