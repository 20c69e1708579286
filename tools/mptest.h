// The policy-test file format (.mptest, docs/testing.md): its model and its parser.
// Used by `policyc test` (cmd_test.cpp).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/envelope.h"
#include "tools/stated_facts.h"
#include "vm/vm.h"

namespace mp::tools {

inline constexpr std::string_view kTestSuffix = ".mptest";

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
  std::vector<StatedFact> facts;  // `spf: fail`, ...: answered without DNS

  // The expectations.
  std::optional<std::string> action;
  bool rule_given = false;
  std::optional<RuleRef> rule;  // given and empty: `none`
  std::optional<ScoreExpectation> score;
  std::vector<std::string> tags;
  std::vector<std::string> banners;  // `banner: "TEXT"`: among the verdict's banners
  // `rewrite-urls: "TARGET"`: the verdict rewrites links to TARGET; `rewrite-urls: none`
  // (held as ""): it rewrites none.
  std::optional<std::string> url_rewrite;
  std::vector<RuleRef> fired, not_fired;
  std::optional<std::string> direction;
  std::optional<std::string> text;
  // `for: ADDRESS`: the expectations are of the verdict this recipient got (folded),
  // when the recipients' verdicts differ (language.md, section 13).
  std::optional<std::string> for_recipient;

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

// Reads and parses one test file. Never throws: problems are recorded on the file
// (outside any case) or on the case they belong to.
TestFile parse_test_file(const std::string& path);

// What a case's `rule:` names for a verdict (vm::Verdict::names_rule): "STAGE.RULE" of
// the deciding rule, or of the rule that needed a failed fact; else "none".
std::string rule_ref(const vm::Verdict& v);

std::string trim(std::string_view s);
// Splits on spaces, tabs and commas outside double quotes (rcpt:, fired:, stated
// facts); a word quoted whole loses its quotes (`"a b"` is a b, `""` an empty word),
// one quoted in part keeps them (`"john doe"@example.com`).
std::vector<std::string> split_words(std::string_view s);
std::string quoted(const std::string& s);
std::string number_text(double v);
// " (did you mean `x`?)" for the closest candidate, or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace mp::tools
