// policyc fuzz: searches a policy for the messages that make each rule fire and not
// fire (explore/explore.h), reports per-rule coverage with the reason for every goal
// no message can reach, and writes each witness as an .eml file plus a case of a
// .mptest file that `policyc test` replays (docs/fuzzing.md).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "compiler/compiler.h"
#include "compiler/ir.h"
#include "explore/explore.h"
#include "tools/commands.h"
#include "tools/inputs.h"
#include "tools/mptest.h"
#include "tools/shared_facts.h"
#include "tools/stated_facts.h"

namespace mp::tools {

namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

struct FuzzCommandOptions {
  std::string policy;
  std::string properties;
  std::string out;
  std::string format = "text";
  double budget = 60;
  unsigned solver_timeout_ms = 10000;
};

vm::ProgramPtr load_image(const vm::ImageData& image) {
  std::string bytes = vm::write_image(image);
  return vm::Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

// The VM side: a compiled image loaded as gateways load it, one evaluation per
// witness with the witness's facts stated.
class VmJudge {
 public:
  VmJudge(const vm::ImageData& image, bool trace) : program_(load_image(image)), evaluator_(program_) {
    evaluator_.set_trace(trace);
  }

  vm::Verdict operator()(const explore::Witness& w) {
    runtime::Message message = runtime::Message::parse(w.message, program_->parse_options());
    std::vector<StatedFact> stated;
    for (const auto& [key, value] : w.facts) {
      std::optional<StatedFact> fact = parse_fact_key(key);
      if (!fact) throw std::runtime_error("fuzz wrote a fact no test can state: " + key);
      if (auto problem = parse_fact_value(*fact, value))
        throw std::runtime_error("fuzz wrote a fact value no test can state: " + key + ": " + *problem);
      stated.push_back(std::move(*fact));
    }
    SharedFacts computed(nullptr, FactAvailability{});
    StatedFacts facts(stated, computed);
    return evaluator_.evaluate(message, w.envelope, &facts);
  }

 private:
  vm::ProgramPtr program_;
  vm::Evaluator evaluator_;
};

std::string file_safe(std::string s) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '-';
  }
  return s;
}

std::string witness_file(const explore::FuzzReport& r, int index) {
  return fmt::format("{:03}-{}.eml", index + 1, file_safe(r.witnesses[index].purpose));
}

std::string rule_ref(const vm::Verdict& v) {
  return v.rule ? v.stage_name + "." + v.rule_name : "none";
}

// One .mptest case: the envelope and facts the witness needs, and the verdict the VM
// gave as the expectation, so that the case pins today's behaviour.
std::string test_case(const explore::FuzzReport& r, int index) {
  const explore::FoundWitness& f = r.witnesses[index];
  const runtime::Envelope& e = f.witness.envelope;
  std::string c = fmt::format("case: {}\n  message: {}\n", f.purpose, witness_file(r, index));
  c += fmt::format("  sender: {}\n", e.sender.empty() ? "<>" : e.sender);
  for (const auto& rcpt : e.recipients) c += fmt::format("  rcpt: {}\n", rcpt);
  if (e.client_ip) c += fmt::format("  client-ip: {}\n", e.client_ip->str());
  if (!e.helo.empty()) c += fmt::format("  helo: {}\n", e.helo);
  if (!e.auth_user.empty()) c += fmt::format("  auth-user: {}\n", e.auth_user);
  for (const auto& [key, value] : f.witness.facts)
    c += fmt::format("  {}: {}\n", key, value.empty() ? "none" : value);
  c += fmt::format("  action: {}\n  rule: {}\n", vm::action_name(f.verdict.action), rule_ref(f.verdict));
  for (const auto& fired : f.verdict.fired) c += fmt::format("  fired: {}.{}\n", fired.stage, fired.name);
  for (const auto& t : f.verdict.trace) {
    if (t.outcome == vm::RuleOutcome::NotMatched || t.outcome == vm::RuleOutcome::SkippedPrefilter)
      c += fmt::format("  not-fired: {}.{}\n", t.stage, t.name);
  }
  return c;
}

void write_witnesses(const FuzzCommandOptions& o, const explore::FuzzReport& r) {
  fs::create_directories(o.out);
  std::string tests = fmt::format(
      "# Written by `policyc fuzz {}`: one case per witness message. The expectations are\n"
      "# the verdicts the policy gave, so that `policyc test` shows any change.\n",
      o.policy);
  std::error_code ec;
  fs::path policy = fs::relative(fs::absolute(o.policy), fs::absolute(o.out), ec);
  tests += fmt::format("policy: {}\n", (ec ? fs::absolute(o.policy) : policy).string());
  for (int i = 0; i < static_cast<int>(r.witnesses.size()); ++i) {
    std::ofstream(fs::path(o.out) / witness_file(r, i), std::ios::binary) << r.witnesses[i].witness.message;
    tests += "\n" + test_case(r, i);
  }
  std::ofstream(fs::path(o.out) / "fuzz.mptest", std::ios::binary) << tests;
}

std::string goal_text(const explore::FuzzReport& r, const explore::Goal& g, bool written) {
  switch (g.status) {
    case explore::GoalStatus::Found:
      return written ? "witness " + witness_file(r, g.witness)
                     : "found (" + r.witnesses[g.witness].purpose + ")";
    case explore::GoalStatus::Impossible: return "impossible: " + g.why;
    case explore::GoalStatus::NotFound: return "no witness: " + g.why;
    case explore::GoalStatus::NotTried: return "not tried: " + g.why;
  }
  return "";
}

struct Tally {
  size_t found = 0, impossible = 0, not_found = 0, not_tried = 0;
  void add(const explore::Goal& g) {
    switch (g.status) {
      case explore::GoalStatus::Found: ++found; break;
      case explore::GoalStatus::Impossible: ++impossible; break;
      case explore::GoalStatus::NotFound: ++not_found; break;
      case explore::GoalStatus::NotTried: ++not_tried; break;
    }
  }
};

std::string property_summary(const explore::FuzzReport& r) {
  if (r.properties.empty()) return "";
  size_t proved = 0, violated = 0;
  for (const auto& p : r.properties) {
    proved += p.status == explore::PropertyStatus::Proved;
    violated += p.status == explore::PropertyStatus::Violated;
  }
  return fmt::format("; {} assertions: {} proved, {} violated, {} open", r.properties.size(), proved,
                     violated, r.properties.size() - proved - violated);
}

void print_text(const FuzzCommandOptions& o, const explore::FuzzReport& r, const Tally& t) {
  std::cout << fmt::format(
      "{}: {} rules, {} goals: {} found, {} impossible, {} without a witness{}{} "
      "({:.1f} s, {} solver queries)\n",
      o.policy, r.rules.size(), 2 * r.rules.size(), t.found, t.impossible, t.not_found,
      t.not_tried ? fmt::format(", {} not tried", t.not_tried) : "", property_summary(r), r.seconds,
      r.solver_queries);
  for (const auto& rule : r.rules) {
    std::cout << fmt::format("  {}.{} ({})\n    fires:         {}\n    does not fire: {}\n", rule.stage,
                             rule.name, rule.location, goal_text(r, rule.fire, !o.out.empty()),
                             goal_text(r, rule.not_fire, !o.out.empty()));
  }
  for (const auto& p : r.properties) {
    std::string result =
        p.status == explore::PropertyStatus::Violated
            ? "VIOLATED: counterexample " +
                  (o.out.empty() ? "#" + std::to_string(p.witness + 1) : witness_file(r, p.witness))
        : p.status == explore::PropertyStatus::Proved
            ? "proved: no message breaks it"
            : std::string(explore::property_status_name(p.status)) + ": " + p.why;
    std::cout << fmt::format("  {} ({})\n    {}\n", p.text, p.location, result);
  }
  if (!r.approximated.empty()) {
    std::string a;
    for (const auto& f : r.approximated) a += (a.empty() ? "" : ", ") + f;
    std::cout << "tests the solver reads as unknowns (proofs hold; witnesses may miss): " << a << "\n";
  }
  if (o.out.empty() && !r.witnesses.empty())
    std::cout
        << "--out DIR writes the witnesses as .eml files and a fuzz.mptest that `policyc test` replays\n";
  else if (!o.out.empty())
    std::cout << fmt::format("wrote {} witnesses and {}/fuzz.mptest\n", r.witnesses.size(), o.out);
}

ordered_json goal_json(const explore::FuzzReport& r, const explore::Goal& g, bool written) {
  ordered_json j{{"status", explore::goal_status_name(g.status)}};
  if (g.status == explore::GoalStatus::Found) {
    j["witness"] = written ? ordered_json(witness_file(r, g.witness)) : ordered_json(g.witness + 1);
  } else {
    j["why"] = g.why;
  }
  return j;
}

void print_json(const FuzzCommandOptions& o, const explore::FuzzReport& r, const Tally& t) {
  ordered_json rules = ordered_json::array();
  for (const auto& rule : r.rules) {
    rules.push_back({{"stage", rule.stage},
                     {"name", rule.name},
                     {"location", rule.location},
                     {"fire", goal_json(r, rule.fire, !o.out.empty())},
                     {"not_fire", goal_json(r, rule.not_fire, !o.out.empty())}});
  }
  ordered_json witnesses = ordered_json::array();
  for (int i = 0; i < static_cast<int>(r.witnesses.size()); ++i) {
    const auto& w = r.witnesses[i];
    witnesses.push_back({{"file", o.out.empty() ? ordered_json(nullptr) : ordered_json(witness_file(r, i))},
                         {"purpose", w.purpose},
                         {"action", vm::action_name(w.verdict.action)},
                         {"rule", rule_ref(w.verdict)}});
  }
  ordered_json properties = ordered_json::array();
  for (const auto& p : r.properties) {
    ordered_json pj{
        {"assertion", p.text}, {"location", p.location}, {"status", explore::property_status_name(p.status)}};
    if (p.status == explore::PropertyStatus::Violated)
      pj["witness"] = o.out.empty() ? ordered_json(p.witness + 1) : ordered_json(witness_file(r, p.witness));
    else if (p.status != explore::PropertyStatus::Proved)
      pj["why"] = p.why;
    properties.push_back(pj);
  }
  ordered_json j{{"policy", o.policy},
                 {"rules", rules},
                 {"properties", properties},
                 {"witnesses", witnesses},
                 {"approximated", r.approximated},
                 {"summary",
                  {{"rules", r.rules.size()},
                   {"found", t.found},
                   {"impossible", t.impossible},
                   {"not_found", t.not_found},
                   {"not_tried", t.not_tried},
                   {"solver_queries", r.solver_queries},
                   {"seconds", r.seconds}}}};
  std::cout << j.dump(-1, ' ', false, ordered_json::error_handler_t::replace) << "\n";
}

int run_fuzz(const FuzzCommandOptions& o) {
  compiler::CompileOptions options;
  options.keep_ir = true;
  options.properties = o.properties;
  compiler::Compilation c = compiler::compile_file(o.policy, options);
  print_diagnostics(c, o.format);
  if (!c.ok()) return 2;
  VmJudge judge(*c.image, true);
  VmJudge probe_judge(compiler::assertion_probe(c), false);
  explore::Probe probe = [&](const explore::Witness& w) {
    std::vector<bool> holds(c.module->assertions.size());
    for (const auto& fired : probe_judge(w).fired) holds[fired.rule] = true;
    return holds;
  };
  explore::FuzzOptions fo;
  fo.budget_seconds = o.budget;
  fo.solver_timeout_ms = o.solver_timeout_ms;
  fo.now = static_cast<double>(std::time(nullptr));
  explore::FuzzReport r;
  try {
    r = explore::fuzz(
        *c.module, *c.image, [&](const explore::Witness& w) { return judge(w); }, probe, fo);
  } catch (const std::exception& e) {
    std::cerr << "error: " << o.policy << ": " << e.what() << "\n";
    return 2;
  }
  if (!o.out.empty()) write_witnesses(o, r);
  Tally t;
  for (const auto& rule : r.rules) {
    t.add(rule.fire);
    t.add(rule.not_fire);
  }
  if (o.format == "json")
    print_json(o, r, t);
  else
    print_text(o, r, t);
  bool violated = std::any_of(r.properties.begin(), r.properties.end(),
                              [](const auto& p) { return p.status == explore::PropertyStatus::Violated; });
  return violated ? 1 : 0;
}

void add_fuzz_command(CLI::App& app, int& status) {
  auto o = std::make_shared<FuzzCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "fuzz",
      "Search for messages that make each rule fire and not fire; prove the goals no message can reach");
  cmd->add_option("policy", o->policy, "Policy source file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--properties", o->properties, "A file of `assert never ...` declarations about the policy")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out,
                  "Write the witnesses here: NNN-*.eml and fuzz.mptest (`policyc test DIR`)");
  cmd->add_option("--budget", o->budget, "Seconds for the whole search (default 60)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--solver-timeout", o->solver_timeout_ms, "Milliseconds per solver query (default 10000)")
      ->check(CLI::Range(1u, 3600000u));
  cmd->add_option("--format", o->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([o, &status] { status = run_fuzz(*o); });
}

}  // namespace

MP_REGISTER_COMMAND(45, add_fuzz_command);

}  // namespace mp::tools
