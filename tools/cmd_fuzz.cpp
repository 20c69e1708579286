// policyc fuzz: searches a policy for the messages that make each rule fire and not
// fire (explore/explore.h), reports per-rule coverage with the reason for every goal
// no message can reach, and writes each witness as an .eml file plus a case of a
// .mptest file that `policyc test` replays (docs/fuzzing.md).
#include <fmt/format.h>

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "compiler/compiler.h"
#include "compiler/ir.h"
#include "explore/explore.h"
#include "tools/commands.h"
#include "tools/fuzz_diff.h"
#include "tools/fuzz_mutate.h"
#include "tools/fuzz_witnesses.h"
#include "tools/inputs.h"
#include "tools/mptest.h"

namespace mp::tools {

namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

struct FuzzCommandOptions {
  std::string policy;
  std::string diff_old;  // --diff OLD: compare OLD with `policy`
  std::string properties;
  std::string out;
  std::string format = "text";
  double budget = 60;
  unsigned solver_timeout_ms = 10000;
  std::string seeds;   // --seeds DIR: mutate these real messages too (fuzz_mutate.h)
  double mutate = 30;  // --mutate SECONDS for it
  bool require_proof = false;  // an assertion left open fails as a violated one does
};

// What the seed mutation did, for the report.
struct MutationSummary {
  bool ran = false;
  size_t seeds = 0, kept = 0, witnesses = 0;
  uint64_t executions = 0;
  std::string text() const {
    return fmt::format("seed mutation: {}, {} run, {} kept by libFuzzer, {} added\n",
                       counted(seeds, "seed", "seeds"), counted(executions, "input", "inputs"), kept,
                       counted(witnesses, "witness", "witnesses"));
  }
};

// The mutation's scratch directory (copies of the seed mail), removed on every way out
// but a crash of the VM, whose input it keeps for the report.
struct ScratchDir {
  std::string path = (fs::temp_directory_path() / "policyc-fuzz-XXXXXX").string();
  bool keep = false;
  ScratchDir() {
    if (mkdtemp(path.data()) == nullptr) throw std::runtime_error("cannot make a scratch directory in /tmp");
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    if (!keep) fs::remove_all(path, ignored);
  }
};

// --seeds: libFuzzer mutates the seeds and the solver's witnesses for --mutate seconds,
// guided by the policy's coverage; every seed and kept input is judged here and
// credited with the goals it meets and the assertions it breaks. Returns 2 (with the
// input kept) when the VM crashed on one, else 0.
int mutate(const FuzzCommandOptions& o, const compiler::Compilation& c, VmJudge& judge,
           const explore::Probe& probe, explore::FuzzReport& r, MutationSummary& m) {
  ScratchDir dir;
  MutationOptions mo{o.seeds, {}, o.mutate, dir.path};
  for (const auto& w : r.witnesses) mo.more_seeds.push_back(w.witness);
  const MutationResult result =
      mutate_seeds(*c.image, compiler::assertion_probe(c), c.module->assertions.size(), mo);
  if (!result.crash.empty()) {
    dir.keep = true;
    std::cerr << "error: the VM crashed or hung on a mutated message (a bug of policyc: please report it); "
                 "the input is "
              << result.crash << "\n";
    return 2;
  }
  if (result.seeds == 0)
    std::cerr << "warning: --seeds " << o.seeds
              << " holds no seed: its files are read (not its subdirectories, nor .env files)\n";
  m = {true, result.seeds, result.inputs.size() - result.seeds, 0, result.executions};
  for (size_t i = 0; i < result.inputs.size(); ++i) {
    const explore::Witness& w = result.inputs[i];
    m.witnesses +=
        explore::add_witness(r, *c.module, w, judge(w), probe(w), i < result.seeds ? "seed" : "mutated seed");
  }
  return 0;
}

std::string witness_file(const explore::FuzzReport& r, int index) {
  return fmt::format("{:03}-{}.eml", index + 1, file_safe(r.witnesses[index].purpose));
}

// Refuses (2, writing nothing) when a file of the user's has a name fuzz would write.
int write_witnesses(const FuzzCommandOptions& o, const explore::FuzzReport& r) {
  std::vector<std::string> names;
  std::vector<const std::string*> messages;
  for (int i = 0; i < static_cast<int>(r.witnesses.size()); ++i) {
    names.push_back(witness_file(r, i));
    messages.push_back(&r.witnesses[i].witness.message);
  }
  if (!write_messages(o.out, names, messages)) return 2;
  std::vector<std::string> cases;
  for (int i = 0; i < static_cast<int>(r.witnesses.size()); ++i) {
    const explore::FoundWitness& f = r.witnesses[i];
    cases.push_back(test_case(f.purpose, names[i], f.witness, f.verdict));
  }
  write_test_file(
      o.out, "fuzz.mptest",
      fmt::format("Written by `policyc fuzz {}`: one case per witness message. The expectations are\n"
                  "the verdicts the policy gave, so that `policyc test` shows any change.",
                  o.policy),
      o.policy, cases);
  return 0;
}

std::string goal_text(const explore::FuzzReport& r, const explore::Goal& g, bool written) {
  if (g.status != explore::GoalStatus::Found) return goal_reason(g);
  return written ? "witness " + witness_file(r, g.witness) : "found (" + r.witnesses[g.witness].purpose + ")";
}

// How many assertions have each status, by property_status_name.
std::map<std::string_view, size_t> property_counts(const explore::FuzzReport& r) {
  std::map<std::string_view, size_t> n;
  for (auto s : {explore::PropertyStatus::Proved, explore::PropertyStatus::Violated,
                 explore::PropertyStatus::Unknown, explore::PropertyStatus::NotTried})
    n[explore::property_status_name(s)] = 0;
  for (const auto& p : r.properties) ++n[explore::property_status_name(p.status)];
  return n;
}

std::string property_summary(const explore::FuzzReport& r) {
  if (r.properties.empty()) return "";
  auto n = property_counts(r);
  return fmt::format("; {}: {} proved, {} violated, {} open",
                     counted(r.properties.size(), "assertion", "assertions"), n["proved"], n["violated"],
                     n["unknown"] + n["not-tried"]);
}

void print_text(const FuzzCommandOptions& o, const explore::FuzzReport& r, const GoalTally& t,
                const MutationSummary& m) {
  std::cout << fmt::format("{}: {}, {}: {}{} ({:.1f} s, {})\n", o.policy,
                           counted(r.rules.size(), "rule", "rules"),
                           counted(2 * r.rules.size(), "goal", "goals"), t.text(), property_summary(r),
                           r.seconds, counted(r.solver_queries, "solver query", "solver queries"));
  if (m.ran) std::cout << m.text();
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
        : p.status == explore::PropertyStatus::Proved   ? "proved: no message breaks it"
        : p.status == explore::PropertyStatus::NotTried ? "not tried: " + p.why
                                                        : "unknown: " + p.why;
    std::cout << fmt::format("  {} ({})\n    {}\n", p.text, p.location, result);
  }
  std::cout << approximated_line(r.approximated);
  if (o.out.empty() && !r.witnesses.empty())
    std::cout
        << "--out DIR writes the witnesses as .eml files and a fuzz.mptest that `policyc test` replays\n";
  else if (!o.out.empty() && !r.witnesses.empty())
    std::cout << fmt::format("wrote {} and {}/fuzz.mptest\n",
                             counted(r.witnesses.size(), "witness", "witnesses"), o.out);
  else if (!o.out.empty())
    std::cout << fmt::format("wrote nothing to {}: {}\n", o.out,
                             r.rules.empty() ? "the policy has no rule" : "no message was found");
}

// A witness in JSON: its file when written, else its number in the report.
ordered_json witness_json(const FuzzCommandOptions& o, const explore::FuzzReport& r, int index) {
  return o.out.empty() ? ordered_json(index + 1) : ordered_json(witness_file(r, index));
}

ordered_json rule_goal_json(const FuzzCommandOptions& o, const explore::FuzzReport& r,
                            const explore::Goal& g) {
  return goal_json(g, g.status == explore::GoalStatus::Found ? witness_json(o, r, g.witness) : nullptr);
}

void print_json(const FuzzCommandOptions& o, const explore::FuzzReport& r, const GoalTally& t,
                const MutationSummary& m) {
  ordered_json rules = ordered_json::array();
  for (const auto& rule : r.rules) {
    rules.push_back({{"stage", rule.stage},
                     {"name", rule.name},
                     {"location", rule.location},
                     {"fire", rule_goal_json(o, r, rule.fire)},
                     {"not_fire", rule_goal_json(o, r, rule.not_fire)}});
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
      pj["witness"] = witness_json(o, r, p.witness);
    else if (p.status != explore::PropertyStatus::Proved)
      pj["why"] = p.why;
    properties.push_back(pj);
  }
  ordered_json summary{{"rules", r.rules.size()}};
  summary.update(t.json(r.solver_queries, r.seconds));
  ordered_json assertions;
  for (const auto& [status, count] : property_counts(r)) assertions[std::string(status)] = count;
  summary["assertions"] = assertions;
  ordered_json j{{"policy", o.policy},
                 {"rules", rules},
                 {"properties", properties},
                 {"witnesses", witnesses},
                 {"approximated", r.approximated},
                 {"summary", summary}};
  if (m.ran)
    j["mutation"] = {
        {"seeds", m.seeds}, {"executions", m.executions}, {"kept", m.kept}, {"witnesses", m.witnesses}};
  std::cout << j.dump(-1, ' ', false, ordered_json::error_handler_t::replace) << "\n";
}

// 1 when an assertion is violated, or (with --require-proof) left open: unknown, or not
// tried when the budget ran out, which a loaded CI machine must not turn into a pass.
int assertions_status(const explore::FuzzReport& r, bool require_proof) {
  size_t open = 0;
  bool violated = false;
  for (const auto& p : r.properties) {
    violated |= p.status == explore::PropertyStatus::Violated;
    open += p.status == explore::PropertyStatus::Unknown || p.status == explore::PropertyStatus::NotTried;
  }
  if (require_proof && open > 0)
    std::cerr << fmt::format("error: {} neither proved nor violated (--require-proof)\n",
                             counted(open, "assertion", "assertions"));
  return violated || (require_proof && open > 0) ? 1 : 0;
}

int run_fuzz(const FuzzCommandOptions& o) {
  if (auto problem = o.out.empty() ? std::nullopt : out_dir_problem(o.out)) {
    std::cerr << "error: --out " << o.out << ": " << *problem << "\n";
    return 2;
  }
  const std::vector<std::string> case_files = o.diff_old.empty()
                                                  ? std::vector<std::string>{"fuzz.mptest"}
                                                  : std::vector<std::string>{"old.mptest", "new.mptest"};
  if (!o.out.empty() && !may_write(o.out, case_files)) return 2;
  if (!o.diff_old.empty())
    return run_fuzz_diff(
        {o.diff_old, o.policy, o.out, o.format, o.budget, o.solver_timeout_ms, o.require_proof});
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
  const explore::FuzzOptions fo = search_options(o.budget, o.solver_timeout_ms);
  explore::FuzzReport r;
  try {
    r = explore::fuzz(
        *c.module, *c.image, [&](const explore::Witness& w) { return judge(w); }, probe, fo);
  } catch (const std::exception& e) {
    std::cerr << "error: " << o.policy << ": " << e.what() << "\n";
    return 2;
  }
  // A failed mutation loses nothing the solver found: the report is still written,
  // and the exit status says 2.
  MutationSummary m;
  int mutation_status = 0;
  if (!o.seeds.empty()) {
    try {
      mutation_status = mutate(o, c, judge, probe, r, m);
    } catch (const std::exception& e) {
      std::cerr << "error: --seeds " << o.seeds << ": " << e.what() << "\n";
      mutation_status = 2;
    }
  }
  if (!o.out.empty() && write_out(o.out, !r.witnesses.empty(), [&] { return write_witnesses(o, r); }) != 0)
    return 2;
  GoalTally t;
  for (const auto& rule : r.rules) {
    t.add(rule.fire);
    t.add(rule.not_fire);
  }
  if (o.format == "json")
    print_json(o, r, t, m);
  else
    print_text(o, r, t, m);
  return mutation_status != 0 ? mutation_status : assertions_status(r, o.require_proof);
}

// A number of seconds above 0 (not "nan", which strtod reads and no comparison refuses).
CLI::Validator positive_seconds() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        const double seconds = std::strtod(v.c_str(), &end);
        return end != v.c_str() && *end == '\0' && seconds > 0 && std::isfinite(seconds)
                   ? ""
                   : "`" + v + "` is not a number of seconds above 0 (such as 60 or 0.5)";
      },
      "SECONDS", "seconds");
}

// A whole number of milliseconds from 1 to an hour.
CLI::Validator milliseconds() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        errno = 0;
        const unsigned long ms = std::strtoul(v.c_str(), &end, 10);
        return end != v.c_str() && *end == '\0' && errno == 0 && v[0] != '-' && ms >= 1 && ms <= 3600000
                   ? ""
                   : "`" + v + "` is not a whole number of milliseconds from 1 to 3600000 (an hour)";
      },
      "MS", "milliseconds");
}

void add_fuzz_command(CLI::App& app, int& status) {
  auto o = std::make_shared<FuzzCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "fuzz",
      "Search for messages that make each rule fire and not fire; prove the goals no message can reach");
  cmd->add_option("policy", o->policy, "Policy source file")->required()->check(CLI::ExistingFile);
  CLI::Option* properties = cmd->add_option("--properties", o->properties,
                                            "A file of `assert never ...` declarations about the policy")
                                ->check(CLI::ExistingFile);
  cmd->add_option("--diff", o->diff_old,
                  "Search for messages whose action differs between OLD and POLICY (`--diff OLD NEW`); "
                  "--out writes them with old.mptest and new.mptest")
      ->check(CLI::ExistingFile)
      ->excludes(properties)
      ->option_text("OLD");
  cmd->add_option("--out", o->out,
                  "Write the witnesses here: NNN-*.eml and fuzz.mptest (`policyc test DIR`)");
  cmd->add_option("--budget", o->budget, "Seconds for the whole search (default 60)")
      ->check(positive_seconds());
  CLI::Option* seeds =
      cmd->add_option(
             "--seeds", o->seeds,
             "A directory of real messages (.eml, or an SMTP-like envelope then DATA) that libFuzzer "
             "mutates after the solver's search, guided by the rules' coverage")
          ->check(CLI::ExistingDirectory)
          ->excludes("--diff");
  cmd->add_option("--mutate", o->mutate, "Seconds of seed mutation with --seeds (default 30)")
      ->needs(seeds)
      ->check(positive_seconds());
  cmd->add_option("--solver-timeout", o->solver_timeout_ms, "Milliseconds per solver query (default 10000)")
      ->check(milliseconds());
  cmd->add_option("--format", o->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--require-proof", o->require_proof,
                "Exit 1 unless every assertion is proved or violated (with --diff: unless the two are "
                "proved to give every message the same action), whatever the budget");
  cmd->callback([o, &status] { status = run_fuzz(*o); });
}

}  // namespace

MP_REGISTER_COMMAND(45, add_fuzz_command);

}  // namespace mp::tools
