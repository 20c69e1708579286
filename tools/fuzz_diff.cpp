// policyc fuzz --diff (fuzz_diff.h).
#include "tools/fuzz_diff.h"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "compiler/compiler.h"
#include "compiler/ir.h"
#include "explore/explore.h"
#include "tools/fuzz_witnesses.h"
#include "tools/inputs.h"
#include "tools/mptest.h"

namespace mp::tools {

namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;
using explore::GoalStatus;

std::string change_name(const explore::VerdictChange& c) {
  return fmt::format("{} → {}", vm::action_name(c.old_action), vm::action_name(c.new_action));
}

std::string witness_file(const explore::DiffReport& r, int index) {
  const explore::DiffWitness& w = r.witnesses[index];
  return fmt::format("{:03}-{}-to-{}.eml", index + 1, vm::action_name(w.old_verdict.action),
                     vm::action_name(w.new_verdict.action));
}

// Refuses (2, writing nothing) when a file of the user's has a name fuzz would write.
int write_witnesses(const FuzzDiffOptions& o, const explore::DiffReport& r) {
  std::vector<std::string> names;
  std::vector<const std::string*> messages;
  for (int i = 0; i < static_cast<int>(r.witnesses.size()); ++i) {
    names.push_back(witness_file(r, i));
    messages.push_back(&r.witnesses[i].witness.message);
  }
  if (!write_messages(o.out, names, messages)) return 2;
  std::vector<std::string> old_cases, new_cases;
  for (int i = 0; i < static_cast<int>(r.witnesses.size()); ++i) {
    const explore::DiffWitness& w = r.witnesses[i];
    std::string name =
        fmt::format("{} {} in the old policy, {} in the new", names[i], vm::action_name(w.old_verdict.action),
                    vm::action_name(w.new_verdict.action));
    old_cases.push_back(test_case(name, names[i], w.witness, w.old_verdict));
    new_cases.push_back(test_case(name, names[i], w.witness, w.new_verdict));
  }
  const std::string comment = fmt::format(
      "Written by `policyc fuzz --diff {} {}`: messages whose action differs.\n"
      "The expectations are the verdicts of {}.",
      o.old_policy, o.new_policy, "{}");
  write_test_file(o.out, "old.mptest", fmt::format(fmt::runtime(comment), "the old policy"), o.old_policy,
                  old_cases);
  write_test_file(o.out, "new.mptest", fmt::format(fmt::runtime(comment), "the new policy"), o.new_policy,
                  new_cases);
  return 0;
}

std::string witness_ref(const FuzzDiffOptions& o, const explore::DiffReport& r, int index) {
  return o.out.empty() ? "#" + std::to_string(index + 1) : witness_file(r, index);
}

GoalTally tally(const explore::DiffReport& r) {
  GoalTally t;
  for (const auto& c : r.changes) t.add(c.goal);
  return t;
}

void print_text(const FuzzDiffOptions& o, const explore::DiffReport& r) {
  const GoalTally t = tally(r);
  const std::string timing =
      fmt::format("{:.1f} s, {}", r.seconds, counted(r.solver_queries, "solver query", "solver queries"));
  if (r.equivalent) {
    std::cout << fmt::format("{} → {}: proved: every message gets the same action from both ({})\n",
                             o.old_policy, o.new_policy, timing);
    return;
  }
  std::cout << fmt::format("{} → {}: of {} changes of action, {} ({})\n", o.old_policy, o.new_policy,
                           r.changes.size(), t.text(), timing);
  if (t.found == 0)
    std::cout << "no message found that changes action, but that is not proved: the changes below are open\n";
  for (const auto& c : r.changes) {
    if (c.goal.status == GoalStatus::Impossible) continue;
    std::string what;
    if (c.goal.status == GoalStatus::Found) {
      const explore::DiffWitness& w = r.witnesses[c.goal.witness];
      what = fmt::format("witness {} (old: {}; new: {})", witness_ref(o, r, c.goal.witness),
                         rule_ref(w.old_verdict), rule_ref(w.new_verdict));
    } else {
      what = goal_reason(c.goal);
    }
    std::cout << fmt::format("  {:<24} {}\n", change_name(c), what);
  }
  std::cout << approximated_line(r.approximated);
  if (!o.out.empty() && !r.witnesses.empty())
    std::cout << fmt::format("wrote {}, {}/old.mptest and {}/new.mptest\n",
                             counted(r.witnesses.size(), "witness", "witnesses"), o.out, o.out);
}

ordered_json change_json(const FuzzDiffOptions& o, const explore::DiffReport& r,
                         const explore::VerdictChange& c) {
  ordered_json j{{"old_action", vm::action_name(c.old_action)},
                 {"new_action", vm::action_name(c.new_action)}};
  const bool found = c.goal.status == GoalStatus::Found;
  j.update(goal_json(c.goal, !found          ? ordered_json(nullptr)
                             : o.out.empty() ? ordered_json(c.goal.witness + 1)
                                             : ordered_json(witness_file(r, c.goal.witness))));
  return j;
}

void print_json(const FuzzDiffOptions& o, const explore::DiffReport& r) {
  ordered_json changes = ordered_json::array(), witnesses = ordered_json::array();
  for (const auto& c : r.changes) changes.push_back(change_json(o, r, c));
  for (int i = 0; i < static_cast<int>(r.witnesses.size()); ++i) {
    const explore::DiffWitness& w = r.witnesses[i];
    witnesses.push_back({{"file", o.out.empty() ? ordered_json(nullptr) : ordered_json(witness_file(r, i))},
                         {"old_action", vm::action_name(w.old_verdict.action)},
                         {"old_rule", rule_ref(w.old_verdict)},
                         {"new_action", vm::action_name(w.new_verdict.action)},
                         {"new_rule", rule_ref(w.new_verdict)}});
  }
  ordered_json j{{"old", o.old_policy},
                 {"new", o.new_policy},
                 {"equivalent", r.equivalent},
                 {"changes", changes},
                 {"witnesses", witnesses},
                 {"approximated", r.approximated},
                 {"summary", tally(r).json(r.solver_queries, r.seconds)}};
  std::cout << j.dump(-1, ' ', false, ordered_json::error_handler_t::replace) << "\n";
}

}  // namespace

int run_fuzz_diff(const FuzzDiffOptions& o) {
  compiler::CompileOptions options;
  options.keep_ir = true;
  compiler::Compilation old_c = compiler::compile_file(o.old_policy, options);
  print_diagnostics(old_c, o.format);
  compiler::Compilation new_c = compiler::compile_file(o.new_policy, options);
  print_diagnostics(new_c, o.format);
  if (!old_c.ok() || !new_c.ok()) return 2;
  VmJudge old_judge(*old_c.image, true), new_judge(*new_c.image, true);
  const explore::FuzzOptions fo = search_options(o.budget, o.solver_timeout_ms);
  explore::DiffReport r;
  try {
    r = explore::fuzz_diff(
        {old_c.module.get(), &*old_c.image, [&](const explore::Witness& w) { return old_judge(w); }},
        {new_c.module.get(), &*new_c.image, [&](const explore::Witness& w) { return new_judge(w); }}, fo);
  } catch (const std::exception& e) {
    std::cerr << "error: " << o.old_policy << " → " << o.new_policy << ": " << e.what() << "\n";
    return 2;
  }
  if (!o.out.empty() && write_out(o.out, !r.witnesses.empty(), [&] { return write_witnesses(o, r); }) != 0)
    return 2;
  if (o.format == "json")
    print_json(o, r);
  else
    print_text(o, r);
  if (!r.witnesses.empty()) return 1;
  if (o.require_proof && !r.equivalent) {
    std::cerr << "error: no message changes action but the two are not proved to agree (--require-proof)\n";
    return 1;
  }
  return 0;
}

}  // namespace mp::tools
