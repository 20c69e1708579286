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

#include "auth/facts.h"
#include "report/report.h"
#include "runtime/identity.h"
#include "runtime/message.h"
#include "tools/commands.h"
#include "tools/fact_options.h"
#include "tools/inputs.h"
#include "tools/mptest.h"
#include "tools/stated_facts.h"

namespace mp::tools {

using namespace mp::report;  // verdict text, JSON and header fields

namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;


struct TestOptions {
  std::vector<std::string> paths;
  std::string format = "text";
  bool verbose = false;
  FactFlags facts;
};

struct LoadedPolicy {
  vm::ProgramPtr program;  // null when the policy could not be read or compiled
  std::unique_ptr<vm::Evaluator> evaluator;
  std::set<std::pair<std::string, std::string>> rules;  // (stage, name)
  auth::FactOptions fact_options;                       // its trusted relays, --geoip
  bool fact_options_ok = true;                          // false: --geoip cannot be opened
};

class PolicyCache {
 public:
  PolicyCache(std::string format, const FactFlags& facts) : format_(std::move(format)), facts_(facts) {}

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
      p.fact_options_ok = facts_.fact_options(p.program->image(), p.fact_options);
      const auto& image = p.program->image();
      for (const auto& r : image.rules) {
        p.rules.emplace(r.stage < image.stages.size() ? image.stages[r.stage] : std::string(), r.name);
      }
    }
    return p;
  }

  std::vector<vm::ProgramPtr> programs() const {
    std::vector<vm::ProgramPtr> out;
    for (const auto& [path, p] : cache_) {
      if (p.program) out.push_back(p.program);
    }
    return out;
  }

 private:
  std::string format_;
  const FactFlags& facts_;
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

// Each expected text (a `tag:` or `banner:` line) must be among the verdict's.
void expect_texts(std::string_view key, const std::vector<std::string>& expected,
                  const std::vector<std::string>& got, std::vector<std::string>& failures) {
  for (const auto& text : expected) {
    if (std::find(got.begin(), got.end(), text) != got.end()) continue;
    std::string present;
    for (const auto& t : got) present += (present.empty() ? "" : " ") + quoted(t);
    failures.push_back(fmt::format("{}: expected {}, missing ({}s: {})", key, quoted(text), key,
                                   present.empty() ? "none" : present));
  }
}

std::string url_rewrite_text(const std::string& target) {
  return target.empty() ? "none" : quoted(target);
}

std::vector<std::string> check_verdict(const TestCase& c, const vm::Verdict& v) {
  std::vector<std::string> failures;
  std::string action(vm::action_name(v.action));
  if (c.action && *c.action != action) failures.push_back(fmt::format("action: expected {}, got {}", *c.action, action));
  if (c.rule_given) {
    bool ok = c.rule ? (v.names_rule() && c.rule->matches(v.stage_name, v.rule_name)) : !v.names_rule();
    if (!ok) {
      failures.push_back(
          fmt::format("rule: expected {}, got {}", c.rule ? c.rule->text() : "none", rule_ref(v)));
    }
  }
  if (c.score && !c.score->holds(v.score)) {
    failures.push_back(fmt::format("score: expected {}, got {}", c.score->text, number_text(v.score)));
  }
  expect_texts("tag", c.tags, v.tags, failures);
  expect_texts("banner", c.banners, v.banners, failures);
  const std::string rewrite = v.url_rewrite ? v.url_rewrite->target : "";
  if (c.url_rewrite && *c.url_rewrite != rewrite) {
    failures.push_back(fmt::format("rewrite-urls: expected {}, got {}", url_rewrite_text(*c.url_rewrite),
                                   url_rewrite_text(rewrite)));
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
  for (const auto& t : c.banners) out += ", banner " + quoted(t);
  if (c.url_rewrite) out += ", rewrite urls " + url_rewrite_text(*c.url_rewrite);
  for (const auto& r : c.fired) out += ", fired " + r.text();
  for (const auto& r : c.not_fired) out += ", not fired " + r.text();
  if (c.text) out += ", text " + quoted(*c.text);
  return out;
}

std::string got_summary(const vm::Verdict& v) {
  std::string decided = !v.fact.empty() ? fmt::format(" by fact {} in {}", v.fact, rule_ref(v))
                        : v.rule        ? " by " + rule_ref(v)
                        : v.action == vm::Action::Deliver ? std::string(" (no rule)")
                                                          : std::string(" by score (no rule)");
  std::string out = fmt::format("{}{}, score {}, direction {}", vm::action_name(v.action), decided,
                                number_text(v.score), vm::direction_name(v.direction));
  for (const auto& t : v.tags) out += ", tag " + quoted(t);
  for (const auto& t : v.banners) out += ", banner " + quoted(t);
  if (v.url_rewrite) out += ", rewrite urls " + quoted(v.url_rewrite->target);
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
  if (!c.banners.empty()) j["banners"] = c.banners;
  if (c.url_rewrite) j["rewrite_urls"] = url_rewrite_text(*c.url_rewrite);
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
  explicit Runner(const TestOptions& o) : o_(o), policies_(o.format, o.facts) {}

  int run() {
    // A resolver also for --geoip alone: MessageFacts needs one; SharedFacts keeps
    // the DNS facts from it.
    if (o_.facts.dns_server_given() || o_.facts.geoip_given() || o_.facts.clamd_given() ||
        o_.facts.store_given()) {
      resolver_ = o_.facts.resolver();
      if (!resolver_) return 2;
    }
    std::vector<std::string> files = discover();
    for (const auto& path : files) run_file(parse_test_file(path));
    warn_uncomputable(unstated_, "unless a case states them");
    if (files.empty() && !malformed_) {
      std::string where;
      for (const auto& p : o_.paths) where += (where.empty() ? "" : " ") + p;
      file_problem(where, {0, fmt::format("no {} files found", kTestSuffix)});
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
          if (it->is_regular_file(type_ec) && it->path().extension() == kTestSuffix) found.push_back(it->path().string());
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
      if (policy->program && !policy->fact_options_ok) {
        policy_problem = Problem{file.policy_line, "not run: the --geoip database cannot be opened"};
      } else if (!policy->program) {
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
    runtime::Message message = runtime::Message::parse(c.message_bytes, policy.program->parse_options());
    runtime::Envelope envelope = c.envelope;
    if (!c.sender_given) envelope.sender = default_sender(message);
    // The case's facts, then what this run computes; both evaluations see the same.
    std::optional<auth::MessageFacts> real;
    if (resolver_) real.emplace(*resolver_, message, envelope, policy.fact_options);
    SharedFacts computed(real ? &*real : nullptr, available());
    StatedFacts facts(c.facts, computed);
    vm::Evaluator& evaluator = *policy.evaluator;
    evaluator.set_trace(false);
    vm::Verdict verdict = evaluator.evaluate(message, envelope, &facts);
    std::vector<std::string> failures;
    const vm::Verdict& judged = recipient_verdict(c, verdict, failures);
    for (std::string& f : check_verdict(c, judged)) failures.push_back(std::move(f));
    if (!failures.empty()) {
      // Again with the trace, for the explanation.
      evaluator.set_trace(true);
      verdict = evaluator.evaluate(message, envelope, &facts);
      evaluator.set_trace(false);
    }
    std::vector<std::string> ignored;
    std::vector<std::string> notes;
    if (!facts.unstated().empty()) notes.push_back(unstated_note(facts.unstated(), facts.unstated_flags()));
    unstated_.insert(unstated_.end(), facts.unstated_sources().begin(), facts.unstated_sources().end());
    if (!c.for_recipient && !verdict.per_recipient.empty()) notes.push_back(split_note(verdict));
    report_case(file, c, recipient_verdict(c, verdict, ignored), failures, facts.unstated(), notes);
  }

  // A split verdict checked without `for:`: the case saw the first recipient's.
  static std::string split_note(const vm::Verdict& verdict) {
    std::vector<std::string> outcomes;
    for (const auto& outcome : verdict.per_recipient)
      outcomes.push_back(
          fmt::format("{} {}", fmt::join(outcome.recipients, ", "), vm::action_name(outcome.verdict.action)));
    return fmt::format(
        "the recipients got different verdicts ({}); the case checked the first's: say whose with `for: "
        "ADDRESS`",
        fmt::join(outcomes, "; "));
  }

  // The verdict of the case's `for:` recipient (the whole verdict when every recipient
  // got it); a `for:` that is no recipient of the case is a failure.
  static const vm::Verdict& recipient_verdict(const TestCase& c, const vm::Verdict& verdict,
                                              std::vector<std::string>& failures) {
    if (!c.for_recipient) return verdict;
    for (const auto& outcome : verdict.per_recipient) {
      if (std::find(outcome.recipients.begin(), outcome.recipients.end(), *c.for_recipient) !=
          outcome.recipients.end())
        return outcome.verdict;
    }
    const bool known =
        std::any_of(c.envelope.recipients.begin(), c.envelope.recipients.end(),
                    [&](const std::string& r) { return runtime::fold_address(r) == *c.for_recipient; });
    if (!known) failures.push_back("for: " + *c.for_recipient + " is not among the case's rcpt");
    return verdict;
  }

  FactAvailability available() const {
    return {o_.facts.dns_server_given(), o_.facts.geoip_given(), o_.facts.clamd_given(),
            o_.facts.store_given()};
  }

  // A fact a rule read that the case does not state and this run does not compute
  // read as no value: said for every case, passing or not, so none passes by accident.
  static std::string unstated_note(const std::vector<std::string>& unstated,
                                   const std::vector<std::string>& flags) {
    return fmt::format(
        "a rule read {}, which the case does not state and this run does not compute (no {}): no value",
        fmt::join(unstated, ", "), fmt::join(flags, ", "));
  }

  void report_case(const TestFile& file, const TestCase& c, const vm::Verdict& verdict,
                   const std::vector<std::string>& failures, const std::vector<std::string>& unstated,
                   const std::vector<std::string>& notes) {
    bool pass = failures.empty();
    (pass ? passed_ : failed_)++;
    if (json_) {
      ordered_json j = case_json(file, c, pass ? "pass" : "fail");
      j["failures"] = failures;
      j["verdict"] = ordered_json::parse(verdict_json(c.message_name, verdict));
      if (!unstated.empty()) j["unstated_facts"] = unstated;
      if (!notes.empty()) j["notes"] = notes;
      std::cout << dump(j) << "\n";
      return;
    }
    if (pass) {
      if (o_.verbose || !notes.empty())
        std::cout << fmt::format("PASS {}:{}: {}\n", file.path, c.line, c.name);
      if (o_.verbose) std::cout << fmt::format("  got:      {}\n", got_summary(verdict));
      for (const auto& note : notes) std::cout << "  note: " << note << "\n";
      return;
    }
    std::cout << fmt::format("FAIL {}:{}: {}\n", file.path, c.line, c.name);
    std::cout << fmt::format("  expected: {}\n", expected_summary(c));
    std::cout << fmt::format("  got:      {}\n", got_summary(verdict));
    for (const auto& f : failures) std::cout << "  - " << f << "\n";
    for (const auto& note : notes) std::cout << "  note: " << note << "\n";
    std::cout << "  explanation:\n" << indent(verdict_text(c.message_name, verdict, true), "    ") << "\n";
  }

  const TestOptions& o_;
  bool json_ = o_.format == "json";
  PolicyCache policies_;
  std::unique_ptr<dns::Resolver> resolver_;  // with --dns-server or --geoip
  int passed_ = 0, failed_ = 0;
  bool malformed_ = false;
  // The facts cases read without stating them, with their flags: the end-of-run warning.
  std::vector<std::pair<std::string, std::string>> unstated_;
};

void add_test_command(CLI::App& app, int& status) {
  auto o = std::make_shared<TestOptions>();
  auto* cmd = app.add_subcommand("test", "Run policy tests (.mptest files; see docs/testing.md)");
  cmd->add_option("paths", o->paths, "Test files, or directories searched recursively for *.mptest")->required();
  cmd->add_option("--format", o->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("-v,--verbose", o->verbose, "Also list the passing cases");
  o->facts.add_to(*cmd, false);
  cmd->callback([o, &status] { status = Runner(*o).run(); });
}

}  // namespace

MP_REGISTER_COMMAND(30, add_test_command);

}  // namespace mp::tools
