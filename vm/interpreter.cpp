// The interpreter: one dispatch loop over the verified bytecode. Field values are
// extracted and matched on first use (lazy evaluation, see match_state.h); rules
// whose guard did not match are skipped in a tight loop over the packed rule table.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "runtime/resemble.h"
#include "vm/match_state.h"

namespace mp::vm {

namespace {

struct ScratchDeleter {
  void operator()(hs_scratch_t* s) const { hs_free_scratch(s); }
};

struct LoopFrame {
  Collection collection;
  uint32_t index;
  uint32_t items;
  double count;
  int64_t saved_binding;
  size_t evidence_start;
};

// A value on the stack and where the evidence for it begins in the rule's evidence
// list (see opcodes.def).
struct Slot {
  double value;
  size_t evidence_start;
};

struct VmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string excerpt(std::string_view value, uint64_t begin, uint64_t end) {
  constexpr uint64_t kContext = 24;
  uint64_t from = std::min<uint64_t>(begin > kContext ? begin - kContext : 0, value.size());
  uint64_t to = std::min<uint64_t>(value.size(), end + kContext);
  std::string out(value.substr(from, to - from));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return (from > 0 ? "…" : "") + out + (to < value.size() ? "…" : "");
}

// A side with no value (NaN: header_number of an absent header) makes every
// comparison false, `!=` included.
bool compare(CmpOp op, double x, double y) {
  if (std::isnan(x) || std::isnan(y)) return false;
  switch (op) {
    case CmpOp::Lt: return x < y;
    case CmpOp::Le: return x <= y;
    case CmpOp::Gt: return x > y;
    case CmpOp::Ge: return x >= y;
    case CmpOp::Eq: return x == y;
    case CmpOp::Ne: return x != y;
  }
  return false;
}

}  // namespace

struct Evaluator::Scratch {
  std::unique_ptr<hs_scratch_t, ScratchDeleter> hs;
  std::vector<Slot> stack;
  std::vector<LoopFrame> loops;
  MatchTable patterns;
  MatchTable sets;
  std::array<int64_t, kCollectionCount> binding{};
};

Evaluator::Evaluator(ProgramPtr program) : program_(std::move(program)), scratch_(new Scratch) {
  hs_scratch_t* scratch = nullptr;
  for (const auto& databases : program_->loaded().field_db) {
    for (const auto& db : databases) {
      if (hs_alloc_scratch(db.get(), &scratch) != HS_SUCCESS) {
        throw std::runtime_error("cannot allocate Hyperscan scratch");
      }
    }
  }
  scratch_->hs.reset(scratch);
}

Evaluator::~Evaluator() = default;

namespace {

std::vector<std::string> describe_defects(const runtime::Message& message) {
  const auto kinds = message.defect_kinds();  // examines the whole message first
  std::vector<std::string> out;
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (!kinds.test(i)) continue;
    const auto kind = static_cast<runtime::DefectKind>(i);
    std::string line(runtime::defect_name(kind));
    for (const auto& defect : message.defects()) {
      if (defect.kind == kind) {
        line += ": " + defect.text;
        break;
      }
    }
    out.push_back(std::move(line));
  }
  return out;
}

bool is_test(Op op) {
  return op == Op::Match || op == Op::InSet || op == Op::InNet || op == Op::Resembles || op == Op::SameValue;
}

// A test's source text starts at its operator, which includes its own negation.
bool is_negated_test(std::string_view source) {
  return source.starts_with("not ") || source.starts_with("is not ");
}

// The state of one evaluation; lives on the stack of Evaluator::evaluate.
class Run {
 public:
  Run(const Program& program, MatchState& matches, MessageFields& fields, Evaluator::Scratch& scratch,
      Verdict& verdict, bool tracing)
      : im_(program.image()),
        loaded_(program.loaded()),
        matches_(matches),
        fields_(fields),
        s_(scratch),
        verdict_(verdict),
        tracing_(tracing) {}

  // Runs the rules from `first_rule` on. Returns true when it stopped at `stop_rule`
  // (the verdict so far is then what every recipient's evaluation continues from),
  // false when the evaluation is complete.
  bool execute(uint8_t direction_bit, uint32_t first_rule, uint32_t stop_rule);
  // From here on the rules see recipient `item` (Collection::Recipients), a folded
  // address in `groups` (org.groups): scoped rules run when it is in their scope, and
  // sender_list reads its value only.
  void set_recipient(uint32_t item, std::string address, std::vector<std::string> groups) {
    recipient_ = item;
    recipient_address_ = std::move(address);
    recipient_groups_ = std::move(groups);
  }
  void set_now(double now) { now_ = now; }
  bool allow_pending() const { return allow_pending_; }
  void set_allow_pending(bool pending) { allow_pending_ = pending; }
  // The rule being evaluated read a fact that failed (facts.on_temperror = tempfail):
  // the verdict names the fact and the rule that needed it.
  void note_fact_failure(const FactReport& fact) {
    const RuleInfo& r = im_.rules[current_rule_];
    verdict_.fact = fact.name;
    verdict_.rule_name = r.name;
    verdict_.stage_name = im_.stages[r.stage];
    verdict_.location = r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column);
    if (!tracing_) return;
    trace_test(fact.name, "computed", false, fact.detail);
    trace_rule(current_rule_, RuleOutcome::FactUnavailable, "fact `" + fact.name + "` could not be computed");
  }

 private:
  Slot pop() {
    if (s_.stack.empty()) throw VmError("stack underflow");
    Slot v = s_.stack.back();
    s_.stack.pop_back();
    return v;
  }
  // A false value keeps no evidence: whatever its operands found is dropped.
  void push(double value, size_t evidence_start) {
    if (value == 0 && evidence_start < evidence_.size()) evidence_.resize(evidence_start);
    s_.stack.push_back({value, std::min(evidence_start, evidence_.size())});
  }
  void push(double value) { push(value, evidence_.size()); }
  double top() const {
    if (s_.stack.empty()) throw VmError("stack underflow");
    return s_.stack.back().value;
  }

  int64_t item_for(FieldId field, bool bound) const {
    Collection c = field_info(field).collection;
    if (c == Collection::Single) return -1;  // any value: facts may hold several
    if (field == FieldId::SenderList && recipient_ >= 0 && !bound) return recipient_;
    return bound ? s_.binding[static_cast<size_t>(c)] : -1;  // -1: any item
  }

  uint32_t next_applicable_rule(uint32_t rule, uint8_t direction_bit, uint32_t stop_rule);
  bool in_scope(uint32_t rule) const;
  bool match(FieldId field, uint32_t pattern, int64_t item);
  bool in_set(FieldId field, uint32_t set, int64_t item);
  std::string values_seen(FieldId field, const std::string& argument, int64_t item = -1);
  bool in_net(FieldId field, uint32_t net, int64_t item);
  bool resembles(FieldId field, uint32_t set, int64_t item);
  bool same_value(FieldId field, FieldId other, int64_t item);
  double load_number(FieldId field, int64_t item);
  double load_arg_number(FieldId field, std::string_view argument);
  void loop_begin(const Instruction& ins, size_t& pc);
  void loop_next(const Instruction& ins, size_t& pc);
  void fire(uint32_t rule);
  void terminal(const Instruction& ins);
  void finish_by_score();
  std::string str(uint32_t i) const { return i == kNoString ? std::string() : im_.strings[i]; }
  void trace_rule(uint32_t rule, RuleOutcome outcome, std::string note = {});
  void trace_test(std::string field, std::string test, bool result, std::string detail) {
    if (tracing_) tests_.push_back({std::move(field), std::move(test), result, std::move(detail)});
  }
  std::string skip_note(const RuleHot& r) const;
  std::string item_name(FieldId field, uint32_t item) {
    return fields_.item_name(field_info(field).collection, item);
  }
  // "in delivery_form.htm: " before a trace detail, for an item of a collection.
  static std::string in_item(const Evidence& e) {
    return e.item_name.empty() ? "" : "in " + e.item_name + ": ";
  }

  const ImageData& im_;
  const Program::Loaded& loaded_;
  MatchState& matches_;
  MessageFields& fields_;
  Evaluator::Scratch& s_;
  Verdict& verdict_;
  uint32_t current_rule_ = 0;
  // An `allow` decided before the mandatory stages were through: the verdict holds it
  // while only their rules still run (image.h, kMandatoryStages).
  bool allow_pending_ = false;
  double now_ = 0;          // seconds since the epoch: rules that expired before it are skipped
  int64_t recipient_ = -1;  // the recipient evaluated for, or -1: all of them
  std::string recipient_address_;
  std::vector<std::string> recipient_groups_;
  std::vector<Evidence> evidence_;
  bool tracing_;
  std::vector<TestTrace> tests_;  // tests of the current rule, when tracing
};

void Run::trace_rule(uint32_t rule, RuleOutcome outcome, std::string note) {
  const RuleInfo& r = im_.rules[rule];
  verdict_.trace.push_back({rule, r.name, im_.stages[r.stage],
                            r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column), outcome,
                            std::move(tests_), std::move(note)});
  tests_.clear();
}

std::string Run::skip_note(const RuleHot& r) const {
  if (r.guard_kind == GuardKind::Pattern) {
    const PatternInfo& p = im_.patterns[r.guard];
    return field_label(p.field, p.header_filter) + " " + p.source + " did not match";
  }
  const SetInfo& set = im_.sets[r.guard];
  return field_label(set.field, set.header_filter) + " " + set.source + " is false";
}

bool Run::in_scope(uint32_t rule) const {
  if (recipient_ < 0) return false;
  const RuleInfo& r = im_.rules[rule];
  auto has = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  if (has(r.scope_users, recipient_address_)) return true;
  return std::any_of(recipient_groups_.begin(), recipient_groups_.end(),
                     [&](const std::string& g) { return has(r.scope_groups, g); });
}

// The first rule from `rule` on that applies to this direction (and recipient) and
// whose guard matched; rules.size() when none is left, `stop_rule` when it is reached.
uint32_t Run::next_applicable_rule(uint32_t rule, uint8_t direction_bit, uint32_t stop_rule) {
  const auto& rules = loaded_.rules;
  for (; rule < rules.size() && rule < stop_rule; ++rule) {
    const RuleHot& r = rules[rule];
    if (allow_pending_ && (rule >= loaded_.mandatory_end || !r.mandatory)) {
      if (rule >= loaded_.mandatory_end) return static_cast<uint32_t>(rules.size());
      if (tracing_)
        trace_rule(rule, RuleOutcome::SkippedAllowed,
                   "allowed by " + verdict_.stage_name + "." + verdict_.rule_name);
      continue;
    }
    if (!(r.directions & direction_bit)) {
      if (tracing_) trace_rule(rule, RuleOutcome::SkippedDirection, "not for this direction");
      continue;
    }
    if (r.expires > 0 && now_ >= r.expires) {
      if (tracing_)
        trace_rule(rule, RuleOutcome::SkippedExpired, "ran until " + date_of_expiry(r.expires) + " (UTC)");
      continue;
    }
    if (r.scoped && !in_scope(rule)) {
      if (tracing_)
        trace_rule(rule, RuleOutcome::SkippedScope,
                   recipient_ < 0 ? "no recipient" : "not for " + recipient_address_);
      continue;
    }
    current_rule_ = rule;  // a fact its guard reads may fail: name this rule then
    if (r.guard_kind == GuardKind::Pattern) fields_.require_argument(r.guard_field, im_.patterns[r.guard].header_filter);
    if (r.guard_kind == GuardKind::Set) fields_.require_argument(r.guard_field, im_.sets[r.guard].header_filter);
    bool guard_failed =
        (r.guard_kind == GuardKind::Pattern && !matches_.pattern_matched(r.guard_field, r.guard)) ||
        (r.guard_kind == GuardKind::Set && !matches_.set_matched(r.guard_field, r.guard));
    if (guard_failed) {
      if (tracing_) trace_rule(rule, RuleOutcome::SkippedPrefilter, skip_note(r));
      continue;
    }
    break;
  }
  return rule;
}

bool Run::match(FieldId field, uint32_t pattern, int64_t item) {
  fields_.require_argument(field, im_.patterns[pattern].header_filter);
  const MatchRecord* r = matches_.pattern_record(field, pattern, item);
  const PatternInfo& p = im_.patterns[pattern];
  if (r == nullptr) {
    trace_test(field_label(field, p.header_filter), p.source, false, {});
    return false;
  }
  std::string_view value = fields_.values(field).text[r->value];
  // A literal's start is its end minus its length. Hyperscan reports where a regex
  // match ends; its start would need start-of-match tracking, which Hyperscan only
  // offers without single-match mode (a callback per match), so it is not reported.
  bool literal = p.literal_length > 0 && r->end >= p.literal_length;
  uint64_t begin = literal ? r->end - p.literal_length : r->end;
  auto end = static_cast<int64_t>(r->end);
  evidence_.push_back({field_label(field, p.header_filter), p.source, r->item,
                       literal ? static_cast<int64_t>(begin) : -1, end, excerpt(value, begin, r->end),
                       item_name(field, r->item)});
  std::string where =
      literal ? "at offset " + std::to_string(begin) : "ending at offset " + std::to_string(end);
  trace_test(evidence_.back().field, p.source, true,
             in_item(evidence_.back()) + where + ": " + evidence_.back().excerpt);
  return true;
}

// The values a test of `field` looked at, for a false test's trace line: only those of
// its own argument (mx(helo) never shows the value of mx(sender.domain)).
std::string Run::values_seen(FieldId field, const std::string& argument, int64_t item) {
  const FieldValues& all = fields_.values(field);
  const auto& values = all.text;
  std::vector<std::string_view> seen;
  for (size_t i = 0; i < values.size(); ++i) {
    if (item >= 0 && all.item_of(i) != item) continue;
    const bool own = field == FieldId::HeaderValue || argument.empty() ||
                     fields_.item_argument(field, static_cast<uint32_t>(i)) == argument;
    if (own) seen.push_back(values[i]);
  }
  if (seen.empty()) return "no value";
  std::string out = "value \"" + std::string(seen[0]) + "\"";
  if (seen.size() > 1) out += " and " + std::to_string(seen.size() - 1) + " more";
  return out;
}

bool Run::in_set(FieldId field, uint32_t set, int64_t item) {
  fields_.require_argument(field, im_.sets[set].header_filter);
  const MatchRecord* r = matches_.set_record(field, set, item);
  const SetInfo& info = im_.sets[set];
  if (r == nullptr) {
    trace_test(field_label(field, info.header_filter), info.source, false,
               values_seen(field, info.header_filter, item));
    return false;
  }
  evidence_.push_back({field_label(field, info.header_filter), info.source, r->item, -1, -1,
                       std::string(fields_.values(field).text[r->value]), item_name(field, r->item)});
  trace_test(evidence_.back().field, info.source, true,
             in_item(evidence_.back()) + "list entry \"" + evidence_.back().excerpt + "\"");
  return true;
}

bool Run::in_net(FieldId field, uint32_t net, int64_t item) {
  fields_.require_argument(field, im_.nets[net].argument);
  const FieldValues& values = fields_.values(field);
  const auto& ips = values.ips;
  const std::string& argument = im_.nets[net].argument;
  for (size_t i = 0; i < ips.size(); ++i) {
    const uint32_t owner = values.item_of(i);
    if (item >= 0 && owner != item) continue;
    if (!argument.empty() && fields_.item_argument(field, static_cast<uint32_t>(i)) != argument) continue;
    if (loaded_.nets[net].contains(ips[i])) {
      evidence_.push_back({field_label(field, argument), im_.nets[net].source, owner, -1, -1, ips[i].str(),
                           item_name(field, owner)});
      trace_test(evidence_.back().field, im_.nets[net].source, true,
                 in_item(evidence_.back()) + ips[i].str());
      return true;
    }
  }
  trace_test(field_label(field, argument), im_.nets[net].source, false,
             ips.empty() ? "no address" : ips[0].str());
  return false;
}

// Key against key, entry by entry: a slip of one letter cannot be looked up in a hash.
bool Run::resembles(FieldId field, uint32_t set, int64_t item) {
  const SetInfo& info = im_.sets[set];
  fields_.require_argument(field, info.header_filter);
  const auto& keys = fields_.resemblance_keys(field);
  const FieldValues& values = fields_.values(field);
  const runtime::ResembleKind kind = resemble_kind(field);
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint32_t owner = values.item_of(i);
    if (item >= 0 && owner != item) continue;
    if (!info.header_filter.empty() &&
        fields_.item_argument(field, static_cast<uint32_t>(i)) != info.header_filter)
      continue;
    for (const std::string& entry : info.entries) {
      if (!runtime::keys_resemble(keys[i], entry, kind)) continue;
      evidence_.push_back({field_label(field, info.header_filter), info.source, owner, -1, -1,
                           std::string(values.text[i]), item_name(field, owner)});
      trace_test(evidence_.back().field, info.source, true,
                 in_item(evidence_.back()) + "\"" + evidence_.back().excerpt + "\" looks like \"" +
                     std::string(runtime::key_text(entry)) + "\"");
      return true;
    }
  }
  trace_test(field_label(field, info.header_filter), info.source, false,
             values_seen(field, info.header_filter));
  return false;
}

// Whether `b` holds value `i` of `a` (for item `item` of b only, when item >= 0).
bool has_value(const FieldValues& b, const FieldValues& a, size_t i, int64_t item) {
  const bool ip = !a.ips.empty();
  const size_t count = ip ? b.ips.size() : b.text.size();
  for (size_t j = 0; j < count; ++j) {
    if (item >= 0 && b.item_of(j) != item) continue;
    if (ip ? b.ips[j] == a.ips[i] : b.text[j] == a.text[i]) return true;
  }
  return false;
}

// Every value of one field against every value of the other: both lists are short
// (addresses of a header, a domain or two).
bool Run::same_value(FieldId field, FieldId other, int64_t item) {
  const FieldValues& a = fields_.values(field);
  const FieldValues& b = fields_.values(other);
  const bool ip = field_info(field).kind == ValueKind::Ip;
  const size_t count = ip ? a.ips.size() : a.text.size();
  const std::string test = "is " + std::string(field_info(other).name);
  // Inside `any urls (text_domain is urls.domain)` the right side is the same URL.
  const bool same_item = item >= 0 && field_info(other).collection == field_info(field).collection;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t owner = a.item_of(i);
    if (item >= 0 && owner != item) continue;
    if (!has_value(b, a, i, same_item ? static_cast<int64_t>(owner) : int64_t{-1})) continue;
    evidence_.push_back({std::string(field_info(field).name), test, owner, -1, -1,
                         ip ? a.ips[i].str() : std::string(a.text[i]), item_name(field, owner)});
    trace_test(evidence_.back().field, test, true,
               in_item(evidence_.back()) + "\"" + evidence_.back().excerpt + "\" is a value of both");
    return true;
  }
  trace_test(std::string(field_info(field).name), test, false,
             ip ? "no common address" : values_seen(field, {}) + ", " + values_seen(other, {}));
  return false;
}

// The first value for `argument` (header_number("X-Spam-Score")); NaN when none.
double Run::load_arg_number(FieldId field, std::string_view argument) {
  fields_.require_argument(field, argument);
  const FieldValues& values = fields_.values(field);
  for (size_t i = 0; i < values.numbers.size() && i < values.arguments.size(); ++i) {
    if (values.arguments[i] == argument) return values.numbers[i];
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// The first value of `item` (of any item when item < 0); 0 when there is none.
// A fact without a value (bayes before training, no store) is NaN: every comparison
// with it is false, as for header_number. The message's own number fields always have one.
double Run::load_number(FieldId field, int64_t item) {
  const FieldValues& values = fields_.values(field);
  for (size_t i = 0; i < values.numbers.size(); ++i) {
    if (item < 0 || values.item_of(i) == item) return values.numbers[i];
  }
  return is_fact(field) ? std::numeric_limits<double>::quiet_NaN() : 0;
}

void Run::loop_begin(const Instruction& ins, size_t& pc) {
  auto collection = static_cast<Collection>(ins.b);
  auto kind = static_cast<LoopKind>(ins.a);
  auto items = static_cast<uint32_t>(fields_.item_count(collection));
  if (items == 0) {
    push(kind == LoopKind::All ? 1 : 0);
    pc = ins.c;
    return;
  }
  auto& binding = s_.binding[static_cast<size_t>(collection)];
  s_.loops.push_back({collection, 0, items, 0, binding, evidence_.size()});
  binding = 0;
  ++pc;
}

void Run::loop_next(const Instruction& ins, size_t& pc) {
  bool value = pop().value != 0;
  if (s_.loops.empty() || s_.loops.back().collection != static_cast<Collection>(ins.b)) {
    throw VmError("loop end without its beginning");
  }
  LoopFrame& frame = s_.loops.back();
  auto kind = static_cast<LoopKind>(ins.a);
  auto& binding = s_.binding[static_cast<size_t>(frame.collection)];
  bool decided = (kind == LoopKind::Any && value) || (kind == LoopKind::All && !value);
  if (kind == LoopKind::Count && value) frame.count += 1;
  if (!decided && ++frame.index < frame.items) {
    binding = frame.index;
    pc = ins.c;
    return;
  }
  double result = kind == LoopKind::Count ? frame.count
                  : kind == LoopKind::Any ? (decided ? 1 : 0)
                                          : (decided ? 0 : 1);
  binding = frame.saved_binding;
  size_t evidence_start = frame.evidence_start;
  s_.loops.pop_back();
  push(result, evidence_start);
  ++pc;
}

void Run::fire(uint32_t rule) {
  const RuleInfo& r = im_.rules[rule];
  verdict_.fired.push_back({rule, r.name, im_.stages[r.stage],
                            r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column),
                            std::move(evidence_)});
  evidence_.clear();
}

void Run::terminal(const Instruction& ins) {
  const RuleInfo& r = im_.rules[current_rule_];
  verdict_.action = static_cast<Action>(ins.a);
  verdict_.text = str(ins.b);
  verdict_.rule = current_rule_;
  verdict_.rule_name = r.name;
  verdict_.stage_name = im_.stages[r.stage];
  verdict_.location = r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column);
}

void Run::finish_by_score() {
  const Settings& s = im_.settings;
  if (verdict_.score >= s.reject_threshold) {
    verdict_.action = Action::Reject;
    verdict_.text = "550 5.7.1 Message refused as spam";
  } else if (verdict_.score >= s.quarantine_threshold) {
    verdict_.action = Action::Quarantine;
    verdict_.text = "spam score above the quarantine threshold";
  }
}

bool Run::execute(uint8_t direction_bit, uint32_t first_rule, uint32_t stop_rule) {
  const auto& code = im_.code;
  size_t pc = first_rule < loaded_.rules.size() ? loaded_.rules[first_rule].code_begin : 0;
  while (pc < code.size()) {
    const Instruction& ins = code[pc];
    auto field = static_cast<FieldId>(ins.b);
    switch (ins.op) {
      case Op::EnterRule: {
        uint32_t rule = next_applicable_rule(ins.c, direction_bit, stop_rule);
        if (rule == loaded_.rules.size()) {
          pc = code.size() - 1;  // the final Halt
          continue;
        }
        if (rule == stop_rule) return true;
        current_rule_ = rule;
        evidence_.clear();
        s_.stack.clear();
        pc = loaded_.rules[rule].code_begin + 1;
        continue;
      }
      case Op::PushTrue: push(1); break;
      case Op::PushFalse: push(0); break;
      case Op::Match: {
        size_t start = evidence_.size();
        push(match(field, ins.c, item_for(field, ins.a)), start);
        break;
      }
      case Op::InSet: {
        size_t start = evidence_.size();
        push(in_set(field, ins.c, item_for(field, ins.a)), start);
        break;
      }
      case Op::InNet: {
        size_t start = evidence_.size();
        push(in_net(field, ins.c, item_for(field, ins.a)), start);
        break;
      }
      case Op::SameValue: {
        size_t start = evidence_.size();
        push(same_value(field, static_cast<FieldId>(ins.c), item_for(field, ins.a)), start);
        break;
      }
      case Op::Resembles: {
        size_t start = evidence_.size();
        push(resembles(field, ins.c, item_for(field, ins.a)), start);
        break;
      }
      case Op::LoadField: push(load_number(field, item_for(field, ins.a))); break;
      case Op::LoadArgNumber: push(load_arg_number(field, im_.strings[ins.c])); break;
      case Op::LoadCount:
        push(static_cast<double>(fields_.item_count(static_cast<Collection>(ins.b))));
        break;
      case Op::LoadConst: push(im_.numbers[ins.c]); break;
      case Op::Compare: {
        Slot y_slot = pop();
        Slot x_slot = pop();
        double x = x_slot.value, y = y_slot.value;
        bool result = compare(static_cast<CmpOp>(ins.a), x, y);
        if (tracing_) {
          static const char* ops[] = {"<", "<=", ">", ">=", "==", "!="};
          trace_test("number", "comparison", result, fmt::format("{:.15g} {} {:.15g}", x, ops[ins.a], y));
        }
        push(result, std::min(x_slot.evidence_start, y_slot.evidence_start));
        break;
      }
      case Op::Not: {
        Slot x = pop();
        push(x.value == 0, x.evidence_start);
        // `is not`, `not in`: the trace line quotes the negated test, so it shows
        // the negated result. A `not` over a group also follows a test (its last),
        // but that test's text has no `not` of its own and stays as it was.
        if (tracing_ && pc > 0 && is_test(code[pc - 1].op) && !tests_.empty() &&
            is_negated_test(tests_.back().test)) {
          tests_.back().result = !tests_.back().result;
        }
        break;
      }
      case Op::JumpIfFalseKeep:
        if (top() == 0) {
          pc = ins.c;
          continue;
        }
        break;
      case Op::MergeAnd: {
        Slot y = pop();
        Slot x = pop();
        push(y.value, x.evidence_start);
        break;
      }
      case Op::JumpIfTrueElsePop:
        if (top() != 0) {
          pc = ins.c;
          continue;
        }
        pop();
        break;
      case Op::JumpIfFalse:  // only at the end of a rule's condition
        if (pop().value == 0) {
          if (tracing_) trace_rule(current_rule_, RuleOutcome::NotMatched);
          pc = ins.c;
          continue;
        }
        break;
      case Op::LoopBegin: loop_begin(ins, pc); continue;
      case Op::LoopNext: loop_next(ins, pc); continue;
      case Op::Fire:
        if (tracing_) trace_rule(ins.c, RuleOutcome::Fired);
        fire(ins.c);
        break;
      case Op::Score: {
        const RuleInfo& r = im_.rules[current_rule_];
        verdict_.score += im_.numbers[ins.c];
        if (!loaded_.rules[current_rule_].reads_bayes) verdict_.score_without_bayes += im_.numbers[ins.c];
        verdict_.contributions.push_back({r.name, im_.stages[r.stage], im_.numbers[ins.c], str(ins.b)});
        break;
      }
      case Op::Tag: verdict_.tags.push_back(im_.strings[ins.c]); break;
      case Op::Banner: verdict_.banners.push_back(im_.strings[ins.c]); break;
      case Op::RewriteUrls:
        if (!verdict_.url_rewrite)
          verdict_.url_rewrite = runtime::UrlRewrite{im_.strings[ins.b], im_.sets[ins.c].entries};
        break;
      case Op::AddHeader: verdict_.added_headers.emplace_back(im_.strings[ins.b], im_.strings[ins.c]); break;
      case Op::RemoveHeader: verdict_.removed_headers.push_back(im_.strings[ins.b]); break;
      case Op::Log: verdict_.logs.push_back(im_.strings[ins.c]); break;
      case Op::Terminal:
        if (static_cast<Action>(ins.a) == Action::Allow && current_rule_ + 1 < loaded_.mandatory_end) {
          // The first allow stands unless a mandatory rule decides otherwise.
          if (!allow_pending_) terminal(ins);
          allow_pending_ = true;
          break;
        }
        terminal(ins);
        verdict_.rules_not_reached = loaded_.rules.size() - current_rule_ - 1;
        return false;
      case Op::Halt:
        if (allow_pending_) {
          verdict_.rules_not_reached =
              loaded_.rules.size() - std::max(loaded_.mandatory_end, current_rule_ + 1);
          return false;
        }
        finish_by_score();
        return false;
    }
    ++pc;
  }
  finish_by_score();
  return false;
}

Direction direction_of(const Program::Loaded& loaded, MessageFields& fields) {
  const auto& sender_domain = fields.values(FieldId::SenderDomain).text;
  const auto& client = fields.values(FieldId::ClientIp).ips;
  bool ours = !sender_domain.empty() && loaded.org_domains.contains(sender_domain[0]);
  bool authorised = !client.empty() && loaded.sending_servers.contains(client[0]);
  if (!ours || !authorised) return Direction::Inbound;
  for (const auto& domain : fields.values(FieldId::RecipientDomain).text) {
    if (!loaded.org_domains.contains(domain)) return Direction::Outbound;
  }
  return Direction::Internal;
}

// Runs `run` from `first_rule`, turning a failure into the verdict's tempfail; true
// when it stopped at `stop_rule`.
bool execute_guarded(Run& run, Verdict& verdict, uint8_t direction_bit, uint32_t first_rule,
                     uint32_t stop_rule) {
  try {
    return run.execute(direction_bit, first_rule, stop_rule);
  } catch (const VmError& e) {
    // Only a hand-made image can get here (the compiler never emits such code):
    // fail safe by holding the message rather than delivering it.
    verdict.action = Action::Tempfail;
    verdict.text = std::string("451 4.3.0 policy evaluation error: ") + e.what();
  } catch (const FactUnavailable& missing) {
    // facts.on_temperror = tempfail: a rule needed a fact that could not be computed,
    // so no verdict can be trusted yet; the sender retries later.
    verdict.action = Action::Tempfail;
    verdict.text = "451 4.4.3 temporary failure computing " + missing.fact.name + ": " + missing.fact.detail;
    verdict.rule.reset();
    run.note_fact_failure(missing.fact);
  }
  return false;
}

void add_outcome(std::vector<RecipientVerdict>& outcomes, std::string recipient, Verdict&& verdict) {
  for (RecipientVerdict& o : outcomes) {
    if (!same_outcome(o.verdict, verdict)) continue;
    o.recipients.push_back(std::move(recipient));
    return;
  }
  outcomes.push_back({{std::move(recipient)}, std::move(verdict)});
}

}  // namespace

bool same_outcome(const Verdict& a, const Verdict& b) {
  auto rewrite = [](const Verdict& v) {
    return v.url_rewrite ? std::pair(v.url_rewrite->target, v.url_rewrite->skip_domains)
                         : std::pair(std::string(), std::vector<std::string>());
  };
  return a.action == b.action && a.text == b.text && a.rule == b.rule && a.fact == b.fact &&
         a.score == b.score && a.tags == b.tags && a.banners == b.banners && rewrite(a) == rewrite(b) &&
         a.added_headers == b.added_headers && a.removed_headers == b.removed_headers && a.logs == b.logs;
}

Verdict Evaluator::evaluate(const runtime::Message& message, const runtime::Envelope& envelope,
                            FactSource* facts) {
  Scratch& s = *scratch_;
  s.patterns.reset(program_->image().patterns.size());
  s.sets.reset(program_->image().sets.size());
  s.binding.fill(-1);
  s.stack.clear();
  s.loops.clear();

  const auto& loaded = program_->loaded();
  if (facts && !loaded.facts_used.empty()) facts->prefetch(loaded.facts_used);
  MessageFields fields(message, envelope, loaded.trusted_relays, facts,
                       program_->image().settings.on_temperror, loaded.facts_used);
  MatchState matches(*program_, s.hs.get(), fields, s.patterns, s.sets);
  Verdict verdict;
  verdict.direction = direction_of(program_->loaded(), fields);
  const auto direction_bit = static_cast<uint8_t>(1u << static_cast<unsigned>(verdict.direction));
  // The rules up to the first that depends on the recipient run once; with several
  // recipients, the rest runs once per recipient, each from a copy of the verdict so far.
  const uint32_t split = loaded.split_rule;
  const size_t recipients = split < loaded.rules.size() ? fields.item_count(Collection::Recipients) : 0;
  const auto& addresses = fields.values(FieldId::Recipient).text;
  auto for_recipient = [&](Run& run, uint32_t i) {
    const std::string address(addresses[i]);
    run.set_recipient(i, address, recipient_groups(program_->image().settings.groups, address));
  };
  const double now =
      clock_ ? clock_()
             : std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  Run run(*program_, matches, fields, s, verdict, trace_);
  run.set_now(now);
  if (recipients == 1) for_recipient(run, 0);
  if (execute_guarded(run, verdict, direction_bit, 0, recipients > 1 ? split : loaded.rules.size())) {
    std::vector<RecipientVerdict> outcomes;
    for (uint32_t i = 0; i < recipients; ++i) {
      Verdict own = verdict;
      Run continued(*program_, matches, fields, s, own, trace_);
      continued.set_now(now);
      for_recipient(continued, i);
      continued.set_allow_pending(run.allow_pending());
      execute_guarded(continued, own, direction_bit, split, loaded.rules.size());
      add_outcome(outcomes, std::string(addresses[i]), std::move(own));
    }
    verdict = outcomes.front().verdict;
    if (outcomes.size() > 1) verdict.per_recipient = std::move(outcomes);
  }
  verdict.facts = fields.fact_reports();
  if (trace_) verdict.defects = describe_defects(message);
  for (RecipientVerdict& o : verdict.per_recipient) {
    o.verdict.facts = verdict.facts;
    o.verdict.defects = verdict.defects;
  }
  return verdict;
}

std::string_view outcome_name(RuleOutcome outcome) {
  switch (outcome) {
    case RuleOutcome::Fired: return "fired";
    case RuleOutcome::NotMatched: return "false";
    case RuleOutcome::SkippedDirection: return "skipped (direction)";
    case RuleOutcome::SkippedPrefilter: return "false (prefilter)";
    case RuleOutcome::FactUnavailable: return "stopped (fact unavailable)";
    case RuleOutcome::SkippedAllowed: return "skipped (allowed)";
    case RuleOutcome::SkippedScope: return "skipped (scope)";
    case RuleOutcome::SkippedExpired: return "skipped (expired)";
  }
  return "?";
}

}  // namespace mp::vm
