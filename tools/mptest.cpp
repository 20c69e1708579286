// The .mptest parser (see mptest.h and docs/testing.md).
#include "tools/mptest.h"
#include <fmt/format.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include "lang/diagnostics.h"
#include "report/report.h"
#include "runtime/identity.h"
#include "runtime/message.h"
#include "state/lists.h"
#include "tools/inputs.h"

namespace mp::tools {

using namespace mp::report;  // verdict text, JSON and header fields

namespace fs = std::filesystem;

// ---- Small text helpers -----------------------------------------------------------

std::string rule_ref(const vm::Verdict& v) {
  return v.names_rule() ? v.stage_name + "." + v.rule_name : "none";
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::string word;
  bool quoted = false, any = false;  // `any`: a word was begun (a "" is one, empty)
  auto flush = [&] {
    if (any)
      out.push_back(word.size() >= 2 && word.front() == '"' && word.back() == '"'
                        ? word.substr(1, word.size() - 2)
                        : std::move(word));
    word.clear();
    any = false;
  };
  for (char c : s) {
    if (!quoted && (c == ' ' || c == '\t' || c == ',')) {
      flush();
      continue;
    }
    if (c == '"') quoted = !quoted;
    word += c;
    any = true;
  }
  flush();
  return out;
}

// "x" -> x (so that a value can keep leading or trailing spaces, or be empty).
static std::string unquote(const std::string& s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best = lang::closest_name(word, candidates);
  return best.empty() ? std::string() : fmt::format("; did you mean `{}`?", best);
}

static std::optional<double> parse_number(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string number_text(double v) { return fmt::format("{:g}", v); }

static bool is_rule_name(std::string_view s) {
  if (s.empty()) return false;
  auto ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; };
  if (s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), ok);
}

// ---- The test file model -------------------------------------------------------------



static std::optional<RuleRef> parse_rule_ref(const std::string& text) {
  RuleRef ref;
  size_t dot = text.find('.');
  if (dot == std::string::npos) {
    ref.name = text;
  } else {
    ref.stage = text.substr(0, dot);
    ref.name = text.substr(dot + 1);
    if (!is_rule_name(ref.stage)) return std::nullopt;
  }
  if (!is_rule_name(ref.name)) return std::nullopt;
  return ref;
}


static std::optional<ScoreExpectation> parse_score(const std::string& text) {
  ScoreExpectation s;
  s.text = text;
  if (size_t dots = text.find(".."); dots != std::string::npos) {
    std::string lo = trim(text.substr(0, dots)), hi = trim(text.substr(dots + 2));
    if (lo.empty() && hi.empty()) return std::nullopt;
    if (!lo.empty() && !(s.low = parse_number(lo))) return std::nullopt;
    if (!hi.empty() && !(s.high = parse_number(hi))) return std::nullopt;
    if (s.low && s.high && *s.low > *s.high) return std::nullopt;
    return s;
  }
  std::string_view rest = text;
  std::string op;
  for (std::string_view candidate : {"<=", ">=", "==", "<", ">", "="}) {
    if (rest.substr(0, candidate.size()) == candidate) {
      op = candidate;
      rest.remove_prefix(candidate.size());
      break;
    }
  }
  auto value = parse_number(trim(rest));
  if (!value) return std::nullopt;
  if (op == "<" || op == "<=") s.high = value, s.high_strict = op == "<";
  else if (op == ">" || op == ">=") s.low = value, s.low_strict = op == ">";
  else s.low = s.high = value;
  return s;
}

static const std::vector<std::string> kCaseKeys = {
    "message", "sender", "rcpt",   "client-ip", "helo",      "auth-user", "tls",  "action",       "rule",
    "score",   "tag",    "banner", "fired",     "not-fired", "direction", "text", "rewrite-urls", "for"};
static const std::set<std::string> kActions = {"deliver", "allow", "reject", "quarantine", "discard", "tempfail"};
static const std::set<std::string> kDirections = {"inbound", "outbound", "internal"};

static std::string resolve(const std::string& test_file, const std::string& relative) {
  fs::path p(relative);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::path(test_file).parent_path() / p).lexically_normal().string();
}

// Reads the message of a case from its file (PATH or PATH#N).
static void load_message_file(TestCase& c, const std::string& written) {
  std::string path = c.message_path;
  std::string bytes;
  if (!read_file(path, bytes)) {
    // PATH#N: the N-th message of an mbox file (unless a file is really named so).
    size_t hash = path.rfind('#');
    std::string digits = hash == std::string::npos ? std::string() : path.substr(hash + 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 6) {
      c.problems.push_back({c.message_line, fmt::format("cannot read message file {} ({})", written, path)});
      return;
    }
    c.message_part = std::stoi(digits);
    c.message_path = path.substr(0, hash);
    if (!read_file(c.message_path, bytes)) {
      c.problems.push_back({c.message_line, fmt::format("cannot read message file {} ({})", written, c.message_path)});
      return;
    }
    std::vector<std::string> parts = runtime::split_mbox(bytes);
    if (c.message_part < 1 || static_cast<size_t>(c.message_part) > parts.size()) {
      c.problems.push_back({c.message_line, fmt::format("{} holds {} message{}, there is no message #{}", c.message_path,
                                                        parts.size(), parts.size() == 1 ? "" : "s", c.message_part)});
      return;
    }
    c.message_bytes = std::move(parts[static_cast<size_t>(c.message_part) - 1]);
    c.message_name = c.message_path + "#" + digits;
    return;
  }
  c.message_bytes = std::move(bytes);
  c.message_name = path;
}

// Applies one `key: value` line to a case. `lines`/`index` let `message: <<END` consume
// the inline block; index is left on the terminator line.
static void apply_case_key(TestFile& file, TestCase& c, const std::string& key, const std::string& value, int line,
                    const std::vector<std::string>& lines, size_t& index) {
  auto problem = [&](std::string text) { c.problems.push_back({line, std::move(text)}); };
  static const std::set<std::string> repeatable = {"rcpt", "tag", "banner", "fired", "not-fired"};
  if (!repeatable.count(key)) {
    auto [it, fresh] = c.seen.emplace(key, line);
    if (!fresh) {
      problem(fmt::format("`{}:` given twice in this case (first on line {})", key, it->second));
      if (key != "message") return;  // still consume an inline block below
    }
  }
  if (value.empty()) {
    problem(fmt::format("`{}:` needs a value", key));
    return;
  }

  if (key == "message") {
    if (value.rfind("<<", 0) == 0) {
      std::string terminator = trim(value.substr(2));
      std::string bytes;
      size_t start = index + 1;
      size_t end = start;
      while (end < lines.size() && trim(lines[end]) != terminator) ++end;
      if (terminator.empty()) {
        problem("`message: <<` needs a terminator word, e.g. `message: <<END`");
        return;
      }
      if (end == lines.size()) {
        problem(fmt::format("inline message not terminated: no line `{}` after line {}", terminator, line));
        index = lines.size();
        return;
      }
      for (size_t i = start; i < end; ++i) bytes += lines[i] + "\n";
      index = end;
      if (c.seen.at("message") != line) return;  // the duplicate was reported above
      if (trim(bytes).empty()) {
        problem("the inline message is empty");
        return;
      }
      c.message_line = line;
      c.inline_message = true;
      c.message_bytes = std::move(bytes);
      c.message_name = fmt::format("{}:{} (inline message)", file.path, line);
      return;
    }
    if (c.seen.at("message") != line) return;
    c.message_line = line;
    c.message_path = resolve(file.path, value);
    load_message_file(c, value);
  } else if (key == "sender") {
    c.sender_given = true;
    c.envelope.sender = runtime::bare_path(value);
  } else if (key == "rcpt") {
    for (auto& word : split_words(value)) {
      word = runtime::bare_path(word);
      const bool twice =
          std::any_of(c.envelope.recipients.begin(), c.envelope.recipients.end(),
                      [&](const auto& r) { return runtime::fold_address(r) == runtime::fold_address(word); });
      if (!state::is_email_address(word))
        problem(fmt::format("rcpt `{}` is not an email address (LOCAL@DOMAIN)", word));
      else if (twice)
        problem(fmt::format("rcpt {} is given twice: a message has each recipient once", word));
      c.envelope.recipients.push_back(word);
    }
  } else if (key == "client-ip") {
    c.envelope.client_ip = runtime::IpAddress::parse(value);
    if (!c.envelope.client_ip) problem(fmt::format("`{}` is not an IP address", value));
  } else if (key == "helo") {
    c.envelope.helo = value;
  } else if (key == "auth-user") {
    c.envelope.auth_user = value;
  } else if (key == "tls") {
    c.envelope.tls_version = value;
  } else if (key == "action") {
    if (!kActions.count(value)) {
      problem(fmt::format("unknown action `{}` (one of deliver, allow, reject, quarantine, discard, tempfail)", value));
    } else {
      c.action = value;
    }
  } else if (key == "rule") {
    c.rule_given = true;
    if (value == "none") return;
    c.rule = parse_rule_ref(value);
    if (c.rule) c.rule->line = line;
    if (!c.rule) problem(fmt::format("`{}` is not a rule name (NAME, STAGE.NAME or none)", value));
  } else if (key == "score") {
    c.score = parse_score(value);
    if (!c.score) problem(fmt::format("`{}` is not a score (6.5, 4..8, 5.., ..4.5, < 5, >= 15)", value));
  } else if (key == "tag") {
    c.tags.push_back(unquote(value));
  } else if (key == "banner") {
    c.banners.push_back(unquote(value));
  } else if (key == "rewrite-urls") {
    c.url_rewrite = value == "none" ? std::string() : unquote(value);
  } else if (key == "fired" || key == "not-fired") {
    for (const auto& word : split_words(value)) {
      auto ref = parse_rule_ref(word);
      if (!ref) {
        problem(fmt::format("`{}` is not a rule name (NAME or STAGE.NAME)", word));
        continue;
      }
      ref->line = line;
      (key == "fired" ? c.fired : c.not_fired).push_back(*ref);
    }
  } else if (key == "direction") {
    if (!kDirections.count(value)) problem(fmt::format("unknown direction `{}` (inbound, outbound or internal)", value));
    else c.direction = value;
  } else if (key == "text") {
    c.text = unquote(value);
  } else if (key == "for") {
    std::string address = value;
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>')
      address = address.substr(1, address.size() - 2);
    if (!state::is_email_address(address))
      problem(fmt::format("`for:` takes one recipient's address, not `{}`", value));
    else
      c.for_recipient = runtime::fold_address(address);
  }
}

// A stated fact (`spf: fail`): its value must be one the fact can have.
static void apply_fact_key(TestCase& c, const std::string& key, StatedFact fact, const std::string& value,
                           int line) {
  auto [it, fresh] = c.seen.emplace(key, line);
  if (!fresh) {
    c.problems.push_back(
        {line, fmt::format("`{}:` given twice in this case (first on line {})", key, it->second)});
    return;
  }
  if (value.empty()) {
    c.problems.push_back({line, fmt::format("`{}:` needs a value", key)});
    return;
  }
  fact.line = line;
  if (auto problem = parse_fact_value(fact, value))
    c.problems.push_back({line, *problem});
  else
    c.facts.push_back(std::move(fact));
}

// sender_list has one value per recipient, in rcpt order (or temperror for them all).
static void check_sender_list(TestCase& c) {
  for (const StatedFact& f : c.facts) {
    if (f.field != vm::FieldId::SenderList || f.temp_error || f.text.size() == c.envelope.recipients.size())
      continue;
    c.problems.push_back(
        {f.line, c.envelope.recipients.empty()
                     ? std::string("sender_list has one value per recipient: give the case's `rcpt:`")
                     : fmt::format("sender_list has one value per recipient: {} given for {} in `rcpt:`",
                                   f.text.size(), c.envelope.recipients.size())});
  }
}

static void finish_case(TestCase& c) {
  if (c.name.empty()) c.name = fmt::format("case on line {}", c.line);
  check_sender_list(c);
  if (!c.seen.count("message")) c.problems.push_back({c.line, "the case has no `message:`"});
  if (!c.seen.count("action")) c.problems.push_back({c.line, "the case has no `action:` (the expected action)"});
  if (!c.seen.count("rule")) {
    c.problems.push_back({c.line, "the case has no `rule:` (the deciding rule, or `none` for a score or deliver verdict)"});
  }
  const bool for_known =
      std::any_of(c.envelope.recipients.begin(), c.envelope.recipients.end(),
                  [&](const auto& r) { return runtime::fold_address(r) == c.for_recipient; });
  if (c.for_recipient && !c.envelope.recipients.empty() && !for_known)
    c.problems.push_back({c.seen.at("for"), "for: " + *c.for_recipient + " is not among the case's rcpt"});
  std::stable_sort(c.problems.begin(), c.problems.end(),
                   [](const Problem& a, const Problem& b) { return a.line < b.line; });
}

TestFile parse_test_file(const std::string& path) {
  TestFile file;
  file.path = path;
  std::string text;
  if (!read_file(path, text)) {
    file.problems.push_back({0, "cannot read the test file"});
    return file;
  }
  // A UTF-8 byte-order mark (editors on Windows write one) is not part of the first key.
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }

  TestCase* current = nullptr;
  for (size_t i = 0; i < lines.size(); ++i) {
    int number = static_cast<int>(i) + 1;
    std::string line = trim(lines[i]);
    if (line.empty() || line.front() == '#') continue;
    auto problem = [&](std::string message) {
      (current ? current->problems : file.problems).push_back({number, std::move(message)});
    };
    size_t colon = line.find(':');
    std::string key = colon == std::string::npos ? std::string() : trim(line.substr(0, colon));
    // Fact keys add dots, digits and calls: dkim.domains, dnsbl("zen.example"),
    // rate(client.auth_user, 1h) (a comma and a space inside the parentheses).
    const size_t open = key.find('(');
    bool key_ok = !key.empty() && std::all_of(key.begin(), key.end(), [&, i = size_t{0}](char ch) mutable {
      const bool in_call = open != std::string::npos && i++ > open;
      return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             std::string_view("-._()\"").find(ch) != std::string_view::npos ||
             (in_call && (ch == ',' || ch == ' '));
    });
    if (!key_ok) {
      problem(fmt::format("expected `key: value`, got `{}`", line.size() > 60 ? line.substr(0, 60) + "…" : line));
      continue;
    }
    std::string value = trim(line.substr(colon + 1));
    std::string fact_problem;
    if (key == "case") {
      if (current) finish_case(*current);
      file.cases.emplace_back();
      current = &file.cases.back();
      current->name = value;
      current->line = number;
      if (value.empty()) current->problems.push_back({number, "`case:` needs a name"});
    } else if (key == "policy") {
      if (current) {
        problem("`policy:` belongs at the top of the file, before the first `case:`");
      } else if (file.policy_line != 0) {
        problem(fmt::format("`policy:` given twice (first on line {})", file.policy_line));
      } else if (value.empty()) {
        problem("`policy:` needs a path (relative to this file)");
      } else {
        file.policy_line = number;
        file.policy_written = value;
        file.policy = resolve(path, value);
      }
    } else if (std::find(kCaseKeys.begin(), kCaseKeys.end(), key) != kCaseKeys.end()) {
      if (!current) {
        problem(fmt::format("`{}:` outside a case; start a case with `case: NAME`", key));
        // Still skip an inline block so that its lines are not read as keys.
        if (key == "message" && value.rfind("<<", 0) == 0) {
          std::string terminator = trim(value.substr(2));
          while (i + 1 < lines.size() && trim(lines[i + 1]) != terminator) ++i;
          ++i;
        }
        continue;
      }
      apply_case_key(file, *current, key, value, number, lines, i);
    } else if (auto fact = parse_fact_key(key, &fact_problem)) {
      if (!current)
        problem(fmt::format("`{}:` outside a case; start a case with `case: NAME`", key));
      else
        apply_fact_key(*current, key, std::move(*fact), value, number);
    } else if (!fact_problem.empty()) {
      problem(fmt::format("`{}`: {}", key, fact_problem));
    } else {
      std::vector<std::string> all = kCaseKeys;
      all.insert(all.end(), fact_keys().begin(), fact_keys().end());
      all.push_back("case");
      all.push_back("policy");
      problem(fmt::format("unknown key `{}`{}", key, did_you_mean(key, all)));
    }
  }
  if (current) finish_case(*current);
  if (file.cases.empty() && file.problems.empty()) {
    file.problems.push_back({0, "no test cases (start one with `case: NAME`)"});
  }
  return file;
}

// ---- Policies -----------------------------------------------------------------------

}  // namespace mp::tools
