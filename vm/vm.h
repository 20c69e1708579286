// vm/: load a compiled image once, evaluate it against many messages.
//
//   auto program = mp::vm::Program::load(bytes);      // verifies; throws ImageError
//   mp::vm::Evaluator evaluator(program);              // one per thread (owns scratch)
//   mp::vm::Verdict v = evaluator.evaluate(message, envelope);
//
// A Program is immutable and shared by threads; an Evaluator holds the per-thread
// Hyperscan scratch and the per-message state.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/api_export.h"
#include "runtime/body_edit.h"
#include "runtime/envelope.h"
#include "runtime/message.h"
#include "vm/facts.h"
#include "vm/image.h"

namespace mp::vm {

enum class Direction : uint8_t { Inbound, Outbound, Internal };
MP_API std::string_view direction_name(Direction d);

// Why a test in a fired rule was true: the pattern, where it matched, or the value a
// list contained.
struct Evidence {
  std::string field;    // "subject", "header \"Received\"", "attachments.extension"
  std::string test;     // `contains "ccsend.constantcontact.com"`, `in set #2`
  uint32_t item = 0;    // index of the item within the field (header number, …)
  int64_t offset = -1;  // byte offset where the match starts (-1: not a match, or a regex)
  int64_t end = -1;     // byte offset one past the match (-1 when not a match)
  std::string excerpt;  // the matched text with a little context, or the value
  // The item by name: "delivery_form.htm", "X-Mailer (header field 3)", the URL, the
  // address; "" for a single-valued field.
  std::string item_name;
};

struct FiredRule {
  uint32_t rule = 0;
  std::string name;
  std::string stage;
  std::string location;  // "file:line:col"
  std::vector<Evidence> evidence;
};

struct ScoreContribution {
  std::string rule;
  std::string stage;
  double delta = 0;
  std::string reason;
};

// With tracing on, what happened to each rule the evaluation reached.
enum class RuleOutcome {
  Fired,
  NotMatched,
  SkippedDirection,
  SkippedPrefilter,
  FactUnavailable,
  SkippedAllowed,
  SkippedScope,   // a rule for other recipients (user/group scope)
  SkippedExpired  // a rule whose `until` date has passed
};
MP_API std::string_view outcome_name(RuleOutcome outcome);

struct TestTrace {
  std::string field;
  std::string test;  // as written
  bool result = false;
  std::string detail;  // matched text, value found, or the numbers compared
};

struct RuleTrace {
  uint32_t rule = 0;
  std::string name, stage, location;
  RuleOutcome outcome = RuleOutcome::NotMatched;
  std::vector<TestTrace> tests;  // every test evaluated, in order (short-circuit skips the rest)
  std::string note;              // why a rule was skipped
};

struct RecipientVerdict;

struct Verdict {
  Action action = Action::Deliver;
  std::string text;              // reply text or quarantine reason
  std::optional<uint32_t> rule;  // deciding rule, when a terminal action decided
  // The rule: the deciding rule, or for a tempfail by fact the rule that needed it.
  std::string rule_name, stage_name, location;
  // For a tempfail by fact (facts.on_temperror = tempfail): the fact that could not be
  // computed, e.g. "spf" or "dnsbl(\"zen.example\")"; "" otherwise.
  std::string fact;
  // Whether rule_name names a rule: the deciding one, or the one that needed a failed
  // fact (a .mptest case's `rule:`, policyc diff's rule).
  bool names_rule() const { return rule.has_value() || (!fact.empty() && !rule_name.empty()); }
  double score = 0;
  // The score without the contributions of rules that read `bayes`: what Bayes
  // auto-learning judges by (bayes.auto_learn), so that Bayes does not confirm itself.
  double score_without_bayes = 0;
  std::vector<ScoreContribution> contributions;
  std::vector<std::string> tags;
  // Warnings to show at the top of the message's text (the `banner` action), in the
  // order the rules ran; runtime::edit_body puts them into the body.
  std::vector<std::string> banners;
  // URL defense (the `rewrite urls` action): the first rule's that ran; links are
  // rewritten as the body is edited (runtime::edit_body).
  std::optional<runtime::UrlRewrite> url_rewrite;
  std::vector<std::pair<std::string, std::string>> added_headers;
  std::vector<std::string> removed_headers;
  std::vector<std::string> logs;
  std::vector<FiredRule> fired;
  Direction direction = Direction::Inbound;
  std::vector<FactReport> facts;  // facts computed for this message (only those rules read)
  std::vector<RuleTrace> trace;   // filled only when the evaluator traces
  // The message's structural defects, "name: what was found" (runtime/defects.def);
  // filled only when the evaluator traces (finding them all decodes the whole body).
  std::vector<std::string> defects;
  size_t rules_not_reached = 0;   // rules after the deciding terminal action (when tracing)
  // When the recipients of one message got different verdicts (rules scoped to users
  // or groups, their sender lists): one entry per outcome with the recipients that got
  // it, in the order of their first recipient; the fields above are then those of the
  // first recipient's. Empty when every recipient got the same verdict.
  std::vector<RecipientVerdict> per_recipient;
};

// The verdict for some of a message's recipients (folded addresses, envelope order).
struct RecipientVerdict {
  std::vector<std::string> recipients;
  Verdict verdict;
};

// Whether two verdicts do the same to a message: action, reply, deciding rule, score
// and every edit. Recipients whose verdicts are the same share one RecipientVerdict.
MP_API bool same_outcome(const Verdict& a, const Verdict& b);

// The body edits a verdict asks for (banners, link rewriting), for runtime::edit_body.
inline runtime::BodyEdits body_edits(const Verdict& verdict) {
  return runtime::BodyEdits{.banners = verdict.banners, .url_rewrite = verdict.url_rewrite};
}

class Program;
using ProgramPtr = std::shared_ptr<const Program>;

class MP_API Program {
 public:
  // Reads, checks and verifies an image; deserialises its Hyperscan databases.
  static ProgramPtr load(std::span<const uint8_t> bytes);
  ~Program();

  const ImageData& image() const { return image_; }
  // How messages for this program are parsed (settings mime.*, header.*, urls.*).
  runtime::ParseOptions parse_options() const { return image_.settings.parse_limits; }

  struct Loaded;  // sets, nets and databases ready for lookups (vm-internal)
  const Loaded& loaded() const { return *loaded_; }
  // Every fact some instruction reads, with its arguments (what evaluate() prefetches);
  // the tools warn from it about facts a run cannot compute.
  std::span<const FactUse> facts_used() const;
  // Whether some rule depends on the recipient (a user or group scope, or sender_list),
  // so that the recipients of one message may get different verdicts.
  bool per_recipient() const;
  // The rules scoped to users or groups that run for `recipient` (a folded address),
  // by index: recipients with the same list meet the same scoped rules.
  std::vector<uint32_t> rules_for_recipient(std::string_view recipient) const;

 private:
  Program() = default;
  ImageData image_;
  std::unique_ptr<Loaded> loaded_;
};

class MP_API Evaluator {
 public:
  explicit Evaluator(ProgramPtr program);
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  // `facts` computes spf, dkim, … for this message; without one, facts are empty.
  Verdict evaluate(const runtime::Message& message, const runtime::Envelope& envelope,
                   FactSource* facts = nullptr);
  // Record a RuleTrace for every rule reached (slower; for `policyc run --explain`).
  void set_trace(bool on) { trace_ = on; }
  // What time it is (seconds since the epoch), read once per message for rules that
  // expire (`until DATE`); the system clock unless set (tests, `policyc run --now`).
  void set_clock(std::function<double()> clock) { clock_ = std::move(clock); }
  const Program& program() const { return *program_; }

  struct Scratch;  // opaque per-thread state (vm-internal)

 private:
  ProgramPtr program_;
  std::unique_ptr<Scratch> scratch_;
  bool trace_ = false;
  std::function<double()> clock_;
};

// A listing in the style of SQLite's EXPLAIN: address, opcode, operands, and a
// comment naming the field, pattern, rule and source line.
MP_API std::string disassemble(const ImageData& image);

}  // namespace mp::vm
