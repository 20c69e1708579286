// The interpreter: one dispatch loop over the verified bytecode. Field values are
// extracted and matched on first use (lazy evaluation, see match_state.h); rules
// whose guard did not match are skipped in a tight loop over the packed rule table.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "runtime/resemble.h"
#include "runtime/score.h"
#include "vm/run.h"

namespace mp::vm {

namespace {

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

bool is_test(Op op) {
  return op == Op::Match || op == Op::InSet || op == Op::InNet || op == Op::Resembles || op == Op::SameValue;
}

// A test's source text starts at its operator, which includes its own negation.
bool is_negated_test(std::string_view source) {
  return source.starts_with("not ") || source.starts_with("is not ");
}

}  // namespace

void Run::trace_rule(uint32_t rule, RuleOutcome outcome, std::string note) {
  const RuleInfo& r = im_.rules[rule];
  verdict_.trace.push_back({rule, r.name, im_.stages[r.stage],
                            r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column), outcome,
                            std::move(tests_), std::move(note)});
  tests_.clear();
}

constexpr std::string_view kPcreGaveUp =
    "PCRE2 gave up on a value (regex.match_limit, or the message's PCRE2 time regex.budget_ms): no match";

std::string Run::skip_note(const RuleHot& r) const {
  if (r.guard_kind == GuardKind::Pattern) {
    const PatternInfo& p = im_.patterns[r.guard];
    return field_label(p.field, p.header_filter) + " " + p.source + " did not match" +
           (matches_.pcre_gave_up(r.guard) ? ": " + std::string(kPcreGaveUp) : "");
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
    for (const FieldId counted : r.counts) (void)fields_.values(counted);
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
    trace_test(field_label(field, p.header_filter), p.source, false,
               matches_.pcre_gave_up(pattern) ? std::string(kPcreGaveUp) : std::string());
    return false;
  }
  std::string_view value = fields_.values(field).text[r->value];
  // A literal's start is its end minus its length; PCRE2 reports both ends. Hyperscan
  // reports where a regex match ends; its start would need start-of-match tracking,
  // which Hyperscan only offers without single-match mode (a callback per match).
  const bool literal = p.literal_length > 0 && r->end >= p.literal_length;
  const bool known_start = literal || r->begin != MatchRecord::kUnknown;
  const uint64_t begin = literal ? r->end - p.literal_length : known_start ? r->begin : r->end;
  auto end = static_cast<int64_t>(r->end);
  evidence_.push_back({field_label(field, p.header_filter), p.source, r->item,
                       known_start ? static_cast<int64_t>(begin) : -1, end, excerpt(value, begin, r->end),
                       item_name(field, r->item)});
  std::string where =
      known_start ? "at offset " + std::to_string(begin) : "ending at offset " + std::to_string(end);
  if (p.engine == Engine::Prefilter) where += " (Hyperscan prefilter, confirmed by PCRE2)";
  if (p.engine == Engine::Pcre2) where += " (PCRE2)";
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

namespace {

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

}  // namespace

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
  if (runtime::score_at_least(verdict_.score, s.reject_threshold)) {
    verdict_.action = Action::Reject;
    verdict_.text = "550 5.7.1 Message refused as spam";
  } else if (runtime::score_at_least(verdict_.score, s.quarantine_threshold)) {
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
          auto shown = [](double v) {
            return std::isnan(v) ? std::string("no value") : fmt::format("{:.15g}", v);
          };
          trace_test(im_.strings[ins.b], im_.strings[ins.c], result,
                     shown(x) + " " + ops[ins.a] + " " + shown(y));
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
      case Op::Add: {
        Slot y = pop();
        Slot x = pop();
        push(x.value + y.value, x.evidence_start);
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

}  // namespace mp::vm
