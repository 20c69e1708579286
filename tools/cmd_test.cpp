// policyc test: run policy tests (.mptest files, docs/testing.md).
//
// A test file names the policy it tests and a list of cases; each case is a message
// (a file, a part of an mbox file, or an inline block), an envelope and the verdict
// the policy must give it. Test files are found recursively under the directories
// given; each policy is compiled once (cached by canonical path) and shared by every
// test file naming it. A case is evaluated without tracing first; only a failing case
// is evaluated again with the trace, for the explanation.
//
// Exit status: 0 every case passed; 1 some case failed; 2 some test file, case or
// policy is malformed (the other cases still run and are counted).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/message.h"
#include "tools/commands.h"
#include "tools/inputs.h"
#include "tools/verdict_format.h"

namespace mp::tools {

namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

constexpr std::string_view kSuffix = ".mptest";

struct TestOptions {
  std::vector<std::string> paths;
  std::string format = "text";
  bool verbose = false;
};

// ---- Small text helpers -----------------------------------------------------------

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// Splits on spaces, tabs and commas.
std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::string word;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == ',') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

// "x" -> x (so that a value can keep leading or trailing spaces, or be empty).
std::string unquote(const std::string& s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;  // suggest only close names
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  return best.empty() ? std::string() : fmt::format("; did you mean `{}`?", best);
}

std::optional<double> parse_number(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string number_text(double v) { return fmt::format("{:g}", v); }

bool is_rule_name(std::string_view s) {
  if (s.empty()) return false;
  auto ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; };
  if (s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), ok);
}

// ---- The test file model -------------------------------------------------------------

struct Problem {
  int line = 0;  // 0: the file as a whole
  std::string text;
};

// A rule as a test names it: `name` or `stage.name`.
struct RuleRef {
  std::string stage;  // "" matches any stage
  std::string name;
  int line = 0;       // where the test names it
  std::string text() const { return stage.empty() ? name : stage + "." + name; }
  bool matches(const std::string& stage_name, const std::string& rule_name) const {
    return name == rule_name && (stage.empty() || stage == stage_name);
  }
};

std::optional<RuleRef> parse_rule_ref(const std::string& text) {
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

// An expected score: a closed, half-open or open interval (an exact score is [v, v]).
struct ScoreExpectation {
  std::optional<double> low, high;
  bool low_strict = false, high_strict = false;
  std::string text;  // as written

  bool holds(double score) const {
    auto eps = [](double v) { return 1e-9 * std::max(1.0, std::fabs(v)); };
    if (low) {
      if (low_strict ? !(score > *low + eps(*low)) : !(score >= *low - eps(*low))) return false;
    }
    if (high) {
      if (high_strict ? !(score < *high - eps(*high)) : !(score <= *high + eps(*high))) return false;
    }
    return true;
  }
};

std::optional<ScoreExpectation> parse_score(const std::string& text) {
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

struct TestCase {
  std::string name;
  int line = 0;  // the `case:` line
  std::vector<Problem> problems;

  // The message.
  int message_line = 0;
  bool inline_message = false;
  std::string message_path;  // resolved against the test file's directory
  int message_part = 0;      // N of PATH#N (1-based), 0 for the whole file
  std::string message_bytes;
  std::string message_name;  // as shown in verdicts

  // The envelope.
  runtime::Envelope envelope;
  bool sender_given = false;

  // The expectations.
  std::optional<std::string> action;
  bool rule_given = false;
  std::optional<RuleRef> rule;  // given and empty: `none`
  std::optional<ScoreExpectation> score;
  std::vector<std::string> tags;
  std::vector<RuleRef> fired, not_fired;
  std::optional<std::string> direction;
  std::optional<std::string> text;

  std::map<std::string, int> seen;  // single-valued keys given so far, with their line
};

struct TestFile {
  std::string path;  // as found (relative to the working directory when given so)
  std::string policy;  // resolved
  std::string policy_written;
  int policy_line = 0;
  std::vector<Problem> problems;  // outside any case
  std::vector<TestCase> cases;
};

const std::vector<std::string> kCaseKeys = {"message", "sender",    "rcpt",      "client-ip", "helo",
                                            "action",  "rule",      "score",     "tag",       "fired",
                                            "not-fired", "direction", "text"};
const std::set<std::string> kActions = {"deliver", "allow", "reject", "quarantine", "discard", "tempfail"};
const std::set<std::string> kDirections = {"inbound", "outbound", "internal"};

std::string resolve(const std::string& test_file, const std::string& relative) {
  fs::path p(relative);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::path(test_file).parent_path() / p).lexically_normal().string();
}

// Reads the message of a case from its file (PATH or PATH#N).
void load_message_file(TestCase& c, const std::string& written) {
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
void apply_case_key(TestFile& file, TestCase& c, const std::string& key, const std::string& value, int line,
                    const std::vector<std::string>& lines, size_t& index) {
  auto problem = [&](std::string text) { c.problems.push_back({line, std::move(text)}); };
  static const std::set<std::string> repeatable = {"rcpt", "tag", "fired", "not-fired"};
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
    std::string s = value;
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    c.envelope.sender = trim(s);
  } else if (key == "rcpt") {
    for (auto& word : split_words(value)) {
      if (word.size() >= 2 && word.front() == '<' && word.back() == '>') word = word.substr(1, word.size() - 2);
      c.envelope.recipients.push_back(word);
    }
  } else if (key == "client-ip") {
    c.envelope.client_ip = runtime::IpAddress::parse(value);
    if (!c.envelope.client_ip) problem(fmt::format("`{}` is not an IP address", value));
  } else if (key == "helo") {
    c.envelope.helo = value;
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
  }
}

void finish_case(TestCase& c) {
  if (c.name.empty()) c.name = fmt::format("case on line {}", c.line);
  if (!c.seen.count("message")) c.problems.push_back({c.line, "the case has no `message:`"});
  if (!c.seen.count("action")) c.problems.push_back({c.line, "the case has no `action:` (the expected action)"});
  if (!c.seen.count("rule")) {
    c.problems.push_back({c.line, "the case has no `rule:` (the deciding rule, or `none` for a score or deliver verdict)"});
  }
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
    bool key_ok = !key.empty() && std::all_of(key.begin(), key.end(), [](char ch) {
      return (ch >= 'a' && ch <= 'z') || ch == '-';
    });
    if (!key_ok) {
      problem(fmt::format("expected `key: value`, got `{}`", line.size() > 60 ? line.substr(0, 60) + "…" : line));
      continue;
    }
    std::string value = trim(line.substr(colon + 1));
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
    } else {
      std::vector<std::string> all = kCaseKeys;
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

struct LoadedPolicy {
  vm::ProgramPtr program;  // null when the policy could not be read or compiled
  std::unique_ptr<vm::Evaluator> evaluator;
  std::set<std::pair<std::string, std::string>> rules;  // (stage, name)
};

class PolicyCache {
 public:
  explicit PolicyCache(std::string format) : format_(std::move(format)) {}

  LoadedPolicy& get(const std::string& path) {
    std::error_code ec;
    std::string key = fs::weakly_canonical(path, ec).string();
    if (ec || key.empty()) key = path;
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    LoadedPolicy& p = cache_[key];
    if (!fs::is_regular_file(path, ec)) return p;  // reported by the caller
    p.program = load_program(path, format_);  // prints the diagnostics to stderr
    if (p.program) {
      p.evaluator = std::make_unique<vm::Evaluator>(p.program);
      const auto& image = p.program->image();
      for (const auto& r : image.rules) {
        p.rules.emplace(r.stage < image.stages.size() ? image.stages[r.stage] : std::string(), r.name);
      }
    }
    return p;
  }

 private:
  std::string format_;
  std::map<std::string, LoadedPolicy> cache_;
};

// Expectations naming rules the policy does not have are mistakes in the test (a
// misspelt `not-fired:` would pass forever).
void check_rule_names(TestCase& c, const LoadedPolicy& policy) {
  auto exists = [&](const RuleRef& ref) {
    return std::any_of(policy.rules.begin(), policy.rules.end(),
                       [&](const auto& r) { return ref.matches(r.first, r.second); });
  };
  auto suggestion = [&](const RuleRef& ref) {
    std::vector<std::string> names;
    for (const auto& r : policy.rules) names.push_back(ref.stage.empty() ? r.second : r.first + "." + r.second);
    return did_you_mean(ref.text(), names);
  };
  if (c.rule && !exists(*c.rule)) {
    c.problems.push_back({c.rule->line, fmt::format("the policy has no rule `{}`{}", c.rule->text(), suggestion(*c.rule))});
  }
  for (const auto* list : {&c.fired, &c.not_fired}) {
    for (const auto& ref : *list) {
      if (!exists(ref)) {
        c.problems.push_back({ref.line, fmt::format("`{}:` names a rule the policy does not have: `{}`{}",
                                                  list == &c.fired ? "fired" : "not-fired", ref.text(), suggestion(ref))});
      }
    }
  }
  std::stable_sort(c.problems.begin(), c.problems.end(),
                   [](const Problem& a, const Problem& b) { return a.line < b.line; });
}

// ---- Running a case ---------------------------------------------------------------------

// Without `sender:`, the message's own Return-Path stands in for MAIL FROM (as in
// `policyc run`).
std::string default_sender(const runtime::Message& message) {
  auto path = message.header("Return-Path");
  if (!path) return {};
  std::string s(*path);
  size_t open = s.find('<'), close = s.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    s = s.substr(open + 1, close - open - 1);
  }
  return trim(s);
}

std::string rule_text(const vm::Verdict& v) { return v.rule ? v.stage_name + "." + v.rule_name : "none"; }

std::vector<std::string> check_verdict(const TestCase& c, const vm::Verdict& v) {
  std::vector<std::string> failures;
  std::string action(vm::action_name(v.action));
  if (c.action && *c.action != action) failures.push_back(fmt::format("action: expected {}, got {}", *c.action, action));
  if (c.rule_given) {
    bool ok = c.rule ? (v.rule && c.rule->matches(v.stage_name, v.rule_name)) : !v.rule;
    if (!ok) {
      failures.push_back(fmt::format("rule: expected {}, got {}", c.rule ? c.rule->text() : "none", rule_text(v)));
    }
  }
  if (c.score && !c.score->holds(v.score)) {
    failures.push_back(fmt::format("score: expected {}, got {}", c.score->text, number_text(v.score)));
  }
  for (const auto& tag : c.tags) {
    if (std::find(v.tags.begin(), v.tags.end(), tag) != v.tags.end()) continue;
    std::string present;
    for (const auto& t : v.tags) present += (present.empty() ? "" : " ") + quoted(t);
    failures.push_back(fmt::format("tag: expected {}, missing (tags: {})", quoted(tag), present.empty() ? "none" : present));
  }
  auto did_fire = [&](const RuleRef& ref) {
    return std::any_of(v.fired.begin(), v.fired.end(), [&](const vm::FiredRule& f) { return ref.matches(f.stage, f.name); });
  };
  for (const auto& ref : c.fired) {
    if (!did_fire(ref)) failures.push_back(fmt::format("fired: expected {} to fire; it did not", ref.text()));
  }
  for (const auto& ref : c.not_fired) {
    if (did_fire(ref)) failures.push_back(fmt::format("not-fired: expected {} not to fire; it fired", ref.text()));
  }
  std::string direction(vm::direction_name(v.direction));
  if (c.direction && *c.direction != direction) {
    failures.push_back(fmt::format("direction: expected {}, got {}", *c.direction, direction));
  }
  if (c.text && *c.text != v.text) {
    failures.push_back(fmt::format("text: expected {}, got {}", quoted(*c.text), quoted(v.text)));
  }
  return failures;
}

std::string expected_summary(const TestCase& c) {
  std::string out = c.action.value_or("?");
  if (c.rule_given) out += " by " + (c.rule ? c.rule->text() : std::string("none"));
  if (c.score) out += ", score " + c.score->text;
  if (c.direction) out += ", direction " + *c.direction;
  for (const auto& t : c.tags) out += ", tag " + quoted(t);
  for (const auto& r : c.fired) out += ", fired " + r.text();
  for (const auto& r : c.not_fired) out += ", not fired " + r.text();
  if (c.text) out += ", text " + quoted(*c.text);
  return out;
}

std::string got_summary(const vm::Verdict& v) {
  std::string decided = v.rule ? " by " + rule_text(v)
                        : v.action == vm::Action::Deliver ? std::string(" (no rule)")
                                                          : std::string(" by score (no rule)");
  std::string out = fmt::format("{}{}, score {}, direction {}", vm::action_name(v.action), decided,
                                number_text(v.score), vm::direction_name(v.direction));
  for (const auto& t : v.tags) out += ", tag " + quoted(t);
  std::string fired;
  for (const auto& f : v.fired) fired += (fired.empty() ? "" : " ") + f.name;
  out += ", fired " + (fired.empty() ? std::string("nothing") : fired);
  if (!v.text.empty()) out += ", text " + quoted(v.text);
  return out;
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out += prefix + line + "\n";
  return out;
}

ordered_json expected_json(const TestCase& c) {
  ordered_json j;
  j["action"] = c.action ? ordered_json(*c.action) : ordered_json(nullptr);
  j["rule"] = c.rule ? ordered_json(c.rule->text()) : c.rule_given ? ordered_json("none") : ordered_json(nullptr);
  if (c.score) j["score"] = c.score->text;
  if (!c.tags.empty()) j["tags"] = c.tags;
  if (c.direction) j["direction"] = *c.direction;
  if (c.text) j["text"] = *c.text;
  auto names = [](const std::vector<RuleRef>& refs) {
    std::vector<std::string> out;
    for (const auto& r : refs) out.push_back(r.text());
    return out;
  };
  if (!c.fired.empty()) j["fired"] = names(c.fired);
  if (!c.not_fired.empty()) j["not_fired"] = names(c.not_fired);
  return j;
}

std::string dump(const ordered_json& j) { return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace); }

// ---- The run -----------------------------------------------------------------------

class Runner {
 public:
  explicit Runner(const TestOptions& o) : o_(o), policies_(o.format) {}

  int run() {
    std::vector<std::string> files = discover();
    for (const auto& path : files) run_file(parse_test_file(path));
    if (files.empty() && !malformed_) {
      std::string where;
      for (const auto& p : o_.paths) where += (where.empty() ? "" : " ") + p;
      file_problem(where, {0, fmt::format("no {} files found", kSuffix)});
    }
    if (json_) std::cout << dump(ordered_json{{"passed", passed_}, {"failed", failed_}}) << "\n";
    else std::cout << fmt::format("{} passed, {} failed\n", passed_, failed_);
    std::cout.flush();
    return malformed_ ? 2 : failed_ > 0 ? 1 : 0;
  }

 private:
  std::vector<std::string> discover() {
    std::vector<std::string> out;
    std::set<std::string> seen;
    auto add = [&](const std::string& path) {
      std::error_code ec;
      std::string key = fs::weakly_canonical(path, ec).string();
      if (seen.insert(ec ? path : key).second) out.push_back(path);
    };
    for (const auto& path : o_.paths) {
      std::error_code ec;
      if (fs::is_directory(path, ec)) {
        std::vector<std::string> found;
        fs::recursive_directory_iterator it(path, ec), end;
        for (; !ec && it != end; it.increment(ec)) {
          std::error_code type_ec;
          if (it->is_regular_file(type_ec) && it->path().extension() == kSuffix) found.push_back(it->path().string());
        }
        if (ec) file_problem(path, {0, "cannot list the directory: " + ec.message()});
        std::sort(found.begin(), found.end());
        for (const auto& f : found) add(f);
      } else if (fs::exists(path, ec)) {
        add(path);  // a file named explicitly runs whatever its suffix
      } else {
        file_problem(path, {0, "no such file or directory"});
      }
    }
    return out;
  }

  // A problem outside any case; counts as one failed test.
  void file_problem(const std::string& file, const Problem& p) {
    ++failed_;
    report_problem(file, p);
  }

  // Reports a problem outside any case without counting it (the cases it stops count).
  void report_problem(const std::string& file, const Problem& p) {
    malformed_ = true;
    std::string where = p.line > 0 ? fmt::format("{}:{}", file, p.line) : file;
    if (json_) {
      ordered_json j;
      j["file"] = file;
      j["line"] = p.line > 0 ? ordered_json(p.line) : ordered_json(nullptr);
      j["status"] = "error";
      j["error"] = p.text;
      std::cout << dump(j) << "\n";
    } else {
      std::cout << fmt::format("ERROR {}: {}\n\n", where, p.text);
    }
  }

  void report_malformed_case(const TestFile& file, const TestCase& c) {
    malformed_ = true;
    ++failed_;
    if (json_) {
      ordered_json j = case_json(file, c, "error");
      ordered_json errors = ordered_json::array();
      for (const auto& p : c.problems) errors.push_back({{"line", p.line}, {"error", p.text}});
      j["errors"] = errors;
      std::cout << dump(j) << "\n";
      return;
    }
    std::cout << fmt::format("ERROR {}:{}: {}\n", file.path, c.line, c.name);
    for (const auto& p : c.problems) std::cout << fmt::format("  {}:{}: error: {}\n", file.path, p.line, p.text);
    std::cout << "\n";
  }

  ordered_json case_json(const TestFile& file, const TestCase& c, const char* status) {
    ordered_json j;
    j["file"] = file.path;
    j["line"] = c.line;
    j["name"] = c.name;
    j["status"] = status;
    j["message"] = c.message_name.empty() ? ordered_json(nullptr) : ordered_json(c.message_name);
    j["expected"] = expected_json(c);
    return j;
  }

  void run_file(TestFile file) {
    for (const auto& p : file.problems) file_problem(file.path, p);
    if (file.cases.empty()) return;  // parse_test_file reported why
    // The policy: a problem with it stops every case, which count as failed.
    std::optional<Problem> policy_problem;
    LoadedPolicy* policy = nullptr;
    std::error_code ec;
    if (file.policy_line == 0) {
      policy_problem = Problem{0, "no `policy:` line naming the policy under test (a path relative to this file)"};
    } else if (!fs::is_regular_file(file.policy, ec)) {
      policy_problem = Problem{file.policy_line,
                               fmt::format("cannot read the policy {} ({})", file.policy_written, file.policy)};
    } else {
      policy = &policies_.get(file.policy);
      if (!policy->program) {
        policy_problem = Problem{file.policy_line, fmt::format("the policy {} ({}) does not compile or load; "
                                                               "its diagnostics are on stderr",
                                                               file.policy_written, file.policy)};
      }
    }
    if (policy_problem) report_problem(file.path, *policy_problem);
    for (auto& c : file.cases) {
      if (policy_problem) {
        c.problems.push_back({c.line, "not run: the test file's policy is missing or does not compile"});
        report_malformed_case(file, c);
        continue;
      }
      check_rule_names(c, *policy);
      if (!c.problems.empty()) {
        report_malformed_case(file, c);
        continue;
      }
      run_case(file, c, *policy);
    }
  }

  void run_case(const TestFile& file, const TestCase& c, LoadedPolicy& policy) {
    runtime::Message message = runtime::Message::parse(c.message_bytes);
    runtime::Envelope envelope = c.envelope;
    if (!c.sender_given) envelope.sender = default_sender(message);
    vm::Evaluator& evaluator = *policy.evaluator;
    evaluator.set_trace(false);
    vm::Verdict verdict = evaluator.evaluate(message, envelope);
    std::vector<std::string> failures = check_verdict(c, verdict);
    if (!failures.empty()) {
      // Again with the trace, for the explanation.
      evaluator.set_trace(true);
      verdict = evaluator.evaluate(message, envelope);
      evaluator.set_trace(false);
    }
    bool pass = failures.empty();
    (pass ? passed_ : failed_)++;
    if (json_) {
      ordered_json j = case_json(file, c, pass ? "pass" : "fail");
      j["failures"] = failures;
      j["verdict"] = ordered_json::parse(verdict_json(c.message_name, verdict));
      std::cout << dump(j) << "\n";
      return;
    }
    if (pass) {
      if (o_.verbose) {
        std::cout << fmt::format("PASS {}:{}: {}\n", file.path, c.line, c.name);
        std::cout << fmt::format("  got:      {}\n", got_summary(verdict));
      }
      return;
    }
    std::cout << fmt::format("FAIL {}:{}: {}\n", file.path, c.line, c.name);
    std::cout << fmt::format("  expected: {}\n", expected_summary(c));
    std::cout << fmt::format("  got:      {}\n", got_summary(verdict));
    for (const auto& f : failures) std::cout << "  - " << f << "\n";
    std::cout << "  explanation:\n" << indent(verdict_text(c.message_name, verdict, true), "    ") << "\n";
  }

  const TestOptions& o_;
  bool json_ = o_.format == "json";
  PolicyCache policies_;
  int passed_ = 0, failed_ = 0;
  bool malformed_ = false;
};

void add_test_command(CLI::App& app, int& status) {
  auto o = std::make_shared<TestOptions>();
  auto* cmd = app.add_subcommand("test", "Run policy tests (.mptest files; see docs/testing.md)");
  cmd->add_option("paths", o->paths, "Test files, or directories searched recursively for *.mptest")->required();
  cmd->add_option("--format", o->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("-v,--verbose", o->verbose, "Also list the passing cases");
  cmd->callback([o, &status] { status = Runner(*o).run(); });
}

}  // namespace

MP_REGISTER_COMMAND(30, add_test_command);

}  // namespace mp::tools
