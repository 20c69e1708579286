// The example policy through the C API: every message of examples/widget/expected.txt
// gets its expected action and rule, and the very verdict `policyc run --format json`
// prints for it; eight threads sharing one program and one config agree with a single
// thread; a program freed before its evaluators leaves them working.
#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/api/api_test_util.h"

namespace mp::api_test {
namespace {

using nlohmann::json;

// The widget policy compiled once for this process, with its image next to it.
struct Widget {
  e2e::TempDir dir;
  fs::path image = build_image(dir, kWidgetPolicy);
  Program program = compile(kWidgetPolicy);
};

const Widget& widget() {
  static const Widget w;
  return w;
}

// What `policyc run --format json IMAGE MESSAGE FLAGS` prints for the example.
json policyc_verdict(const Example& ex) {
  std::vector<std::string> args = {"run", "--format", "json", widget().image.string(),
                                   (e2e::kExampleDir / ex.row.path).string()};
  args.insert(args.end(), ex.flags.begin(), ex.flags.end());
  e2e::RunResult r = e2e::run_policyc(args);
  EXPECT_EQ(r.status, 0) << e2e::describe(r);
  std::vector<std::string> lines = r.lines();
  size_t line = ex.row.index > 0 ? static_cast<size_t>(ex.row.index - 1) : 0;
  if (line >= lines.size()) {
    ADD_FAILURE() << "no verdict line " << line + 1 << "\n" << e2e::describe(r);
    return json::object();
  }
  return e2e::parse_json_line(lines[line]);
}

class CapiWidget : public testing::TestWithParam<Example> {};

TEST_P(CapiWidget, GivesTheExpectedVerdictAndPolicycRunsOwn) {
  const Example& ex = GetParam();
  mp_error err = dirty_error();
  Evaluator evaluator(mp_evaluator_new(widget().program.get(), nullptr, &err));
  ASSERT_NE(evaluator, nullptr) << err.message;
  Verdict v = evaluate(evaluator.get(), ex.message, envelope(ex.flags).get());
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(mp_action_name(mp_verdict_action(v.get())), ex.row.action);
  EXPECT_EQ(rule_of(v.get()), ex.row.rule);

  json theirs = policyc_verdict(ex);
  EXPECT_EQ(mp_action_name(mp_verdict_action(v.get())), theirs["action"]);
  EXPECT_EQ(mp_verdict_rule(v.get()) ? json(mp_verdict_rule(v.get())) : json(nullptr), theirs["rule"]);
  EXPECT_EQ(mp_verdict_stage(v.get()) ? json(mp_verdict_stage(v.get())) : json(nullptr), theirs["stage"]);
  EXPECT_EQ(json(mp_verdict_score(v.get())), theirs["score"]);
  EXPECT_EQ(mp_verdict_direction(v.get()), theirs["direction"]);
  EXPECT_EQ(mp_verdict_text(v.get()), theirs["text"]);
  json tags = json::array();
  for (size_t i = 0; i < mp_verdict_tag_count(v.get()); ++i) tags.push_back(mp_verdict_tag(v.get(), i));
  EXPECT_EQ(tags, theirs["tags"]);

  // The whole JSON verdict is policyc's, but for the file name.
  json ours = json::parse(mp_verdict_json(v.get()));
  EXPECT_EQ(ours["file"], "");
  ours.erase("file");
  theirs.erase("file");
  EXPECT_EQ(ours, theirs);
}

std::string test_name(const testing::TestParamInfo<Example>& info) {
  std::string name = info.param.row.file;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Examples, CapiWidget, testing::ValuesIn(examples()), test_name);

TEST(CapiWidgetTable, CoversEveryKindOfVerdictOfTheExample) {
  std::set<std::string> actions;
  for (const Example& ex : examples()) actions.insert(ex.row.action);
  EXPECT_EQ(actions, (std::set<std::string>{"allow", "deliver", "quarantine", "reject"}));
  EXPECT_GE(examples().size(), 14u);
}

// ---- Threads ---------------------------------------------------------------------------

// Each example's JSON verdict from `evaluator`.
std::vector<std::string> verdicts(mp_evaluator* evaluator) {
  std::vector<std::string> out;
  for (const Example& ex : examples()) {
    Verdict v = evaluate(evaluator, ex.message, envelope(ex.flags).get());
    out.push_back(v ? mp_verdict_json(v.get()) : "(no verdict)");
  }
  return out;
}

TEST(CapiThreads, EightEvaluatorsSharingAProgramAndConfigAgreeWithOne) {
  Program program = compile(kWidgetPolicy);
  Config config = api_test::config({{"facts", "off"}});
  mp_error err = dirty_error();
  Evaluator single(mp_evaluator_new(program.get(), config.get(), &err));
  ASSERT_NE(single, nullptr) << err.message;
  const std::vector<std::string> expected = verdicts(single.get());

  constexpr int kThreads = 8, kRounds = 200;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Evaluator own(mp_evaluator_new(program.get(), config.get(), nullptr));
      for (int round = 0; round < kRounds; ++round) {
        if (!own || verdicts(own.get()) != expected) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(kThreads, 0));
}

TEST(CapiLifetime, EvaluatorsOutliveTheirProgram) {
  const Example& exe = example("mail/exe-attachment.eml");
  Program program = compile(kWidgetPolicy);
  mp_error err = dirty_error();
  Evaluator first(mp_evaluator_new(program.get(), nullptr, &err));
  Evaluator second(mp_evaluator_new(program.get(), nullptr, &err));
  ASSERT_NE(second, nullptr) << err.message;
  program.reset();
  for (mp_evaluator* evaluator : {first.get(), second.get()}) {
    Verdict v = evaluate(evaluator, exe.message, envelope(exe.flags).get());
    EXPECT_EQ(mp_verdict_action(v.get()), MP_ACTION_REJECT);
    EXPECT_STREQ(mp_verdict_rule(v.get()), "executables");
  }
}

TEST(CapiLifetime, VerdictsOutliveTheirEvaluatorAndConfig) {
  const Example& exe = example("mail/exe-attachment.eml");
  Program program = compile(kWidgetPolicy);
  Config config = api_test::config({{"trace", "on"}});
  Evaluator evaluator(mp_evaluator_new(program.get(), config.get(), nullptr));
  Verdict v = evaluate(evaluator.get(), exe.message, envelope(exe.flags).get());
  evaluator.reset();
  config.reset();
  program.reset();
  EXPECT_STREQ(mp_verdict_rule(v.get()), "executables");
  EXPECT_STREQ(mp_verdict_smtp_status(v.get()), "5.7.1");
  EXPECT_TRUE(json::parse(mp_verdict_json(v.get())).contains("trace"));
}

}  // namespace
}  // namespace mp::api_test
