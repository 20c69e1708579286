// The interpreter: one dispatch loop over the verified bytecode. Field values are
// extracted and scanned on first use (lazy evaluation); each field is scanned once
// per message with its Hyperscan database, and pattern tests become bit tests.
#include <cmath>
#include <stdexcept>

#include "vm/field_values.h"
#include "vm/loaded.h"

namespace mp::vm {

namespace {

struct ScratchDeleter {
  void operator()(hs_scratch_t* s) const { hs_free_scratch(s); }
};

struct MatchRecord {
  uint32_t pattern;
  uint32_t item;
  uint64_t end;
};

struct LoopFrame {
  Collection collection;
  uint32_t index;
  uint32_t items;
  double count;
  int64_t saved_binding;
};

struct VmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string excerpt(const std::string& value, uint64_t begin, uint64_t end) {
  constexpr uint64_t kContext = 24;
  uint64_t from = begin > kContext ? begin - kContext : 0;
  uint64_t to = std::min<uint64_t>(value.size(), end + kContext);
  std::string out = value.substr(from, to - from);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return (from > 0 ? "…" : "") + out + (to < value.size() ? "…" : "");
}

}  // namespace

struct Evaluator::Scratch {
  std::unique_ptr<hs_scratch_t, ScratchDeleter> hs;
  std::vector<double> stack;
  std::vector<LoopFrame> loops;
  std::vector<uint64_t> matched;  // one bit per pattern: matched in some item
  std::vector<MatchRecord> records;
  std::array<bool, kFieldCount> scanned{};
  std::array<int64_t, kCollectionCount> binding{};
};

Evaluator::Evaluator(ProgramPtr program) : program_(std::move(program)), scratch_(new Scratch) {
  hs_scratch_t* scratch = nullptr;
  for (const auto& db : program_->loaded().field_db) {
    if (db && hs_alloc_scratch(db.get(), &scratch) != HS_SUCCESS) {
      throw std::runtime_error("cannot allocate Hyperscan scratch");
    }
  }
  scratch_->hs.reset(scratch);
  scratch_->matched.assign((program_->image().patterns.size() + 63) / 64, 0);
}

Evaluator::~Evaluator() = default;

namespace {

// The state of one evaluation; lives on the stack of Evaluator::evaluate.
class Run {
 public:
  Run(const Program& program, hs_scratch_t* hs, MessageFields& fields, Evaluator::Scratch& scratch,
      Verdict& verdict)
      : im_(program.image()), loaded_(program.loaded()), hs_(hs), fields_(fields),
        s_(scratch), verdict_(verdict) {}

  void execute(uint8_t direction_bit);

 private:
  double pop() {
    if (s_.stack.empty()) throw VmError("stack underflow");
    double v = s_.stack.back();
    s_.stack.pop_back();
    return v;
  }
  void push(double v) { s_.stack.push_back(v); }
  double top() const {
    if (s_.stack.empty()) throw VmError("stack underflow");
    return s_.stack.back();
  }

  int64_t item_for(FieldId field, bool bound) const {
    Collection c = field_info(field).collection;
    if (c == Collection::Single) return 0;
    return bound ? s_.binding[static_cast<size_t>(c)] : -1;  // -1: any item
  }

  void scan(FieldId field);
  bool guard_matched(uint32_t pattern) {
    scan(im_.patterns[pattern].field);
    return s_.matched[pattern / 64] >> (pattern % 64) & 1;
  }
  bool match(FieldId field, uint32_t pattern, int64_t item);
  bool in_set(FieldId field, uint32_t set, int64_t item);
  bool in_net(FieldId field, uint32_t net, int64_t item);
  double load_number(FieldId field, int64_t item);
  void loop_begin(const Instruction& ins, size_t& pc);
  void loop_next(const Instruction& ins, size_t& pc);
  void fire(uint32_t rule);
  void finish_by_score();

  static int on_match(unsigned int id, unsigned long long, unsigned long long to, unsigned int,
                      void* context);

  const ImageData& im_;
  const Program::Loaded& loaded_;
  hs_scratch_t* hs_;
  MessageFields& fields_;
  Evaluator::Scratch& s_;
  Verdict& verdict_;
  uint32_t current_rule_ = 0;
  std::vector<Evidence> evidence_;
  std::string lowered_;  // reused buffer for case-folded set lookups
  // Set while scanning one value.
  FieldId scan_field_ = FieldId::Subject;
  uint32_t scan_item_ = 0;
};

int Run::on_match(unsigned int id, unsigned long long, unsigned long long to, unsigned int,
                  void* context) {
  auto* run = static_cast<Run*>(context);
  const PatternInfo& p = run->im_.patterns[id];
  if (!p.header_filter.empty() && run->fields_.header_names()[run->scan_item_] != p.header_filter) {
    return 0;
  }
  run->s_.matched[id / 64] |= uint64_t{1} << (id % 64);
  run->s_.records.push_back({id, run->scan_item_, to});
  return 0;
}

void Run::scan(FieldId field) {
  auto f = static_cast<size_t>(field);
  if (s_.scanned[f]) return;
  s_.scanned[f] = true;
  const hs_database_t* db = loaded_.field_db[f].get();
  if (db == nullptr) return;
  const auto& values = fields_.values(field).text;
  scan_field_ = field;
  for (uint32_t i = 0; i < values.size(); ++i) {
    scan_item_ = i;
    const std::string& v = values[i];
    hs_scan(db, v.data(), static_cast<unsigned int>(v.size()), 0, hs_, on_match, this);
  }
}

bool Run::match(FieldId field, uint32_t pattern, int64_t item) {
  scan(field);
  if (!(s_.matched[pattern / 64] >> (pattern % 64) & 1)) return false;
  for (const auto& r : s_.records) {
    if (r.pattern != pattern || (item >= 0 && r.item != item)) continue;
    const PatternInfo& p = im_.patterns[pattern];
    const std::string& value = fields_.values(field).text[r.item];
    uint64_t begin = p.literal_length > 0 && r.end >= p.literal_length ? r.end - p.literal_length : r.end;
    evidence_.push_back({std::string(field_info(field).name), p.source, r.item,
                         static_cast<int64_t>(begin), excerpt(value, begin, r.end)});
    return true;
  }
  return false;
}

bool Run::in_set(FieldId field, uint32_t set_index, int64_t item) {
  const SetInfo& info = im_.sets[set_index];
  const auto& set = loaded_.sets[set_index];
  const auto& values = fields_.values(field).text;
  for (size_t i = 0; i < values.size(); ++i) {
    if (item >= 0 && static_cast<size_t>(item) != i) continue;
    if (!info.header_filter.empty() && fields_.header_names()[i] != info.header_filter) continue;
    const std::string* candidate = &values[i];
    if (info.fold == Fold::Lower) {
      lowered_.assign(values[i]);
      for (char& c : lowered_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      candidate = &lowered_;
    }
    if (set.count(*candidate)) {
      evidence_.push_back({std::string(field_info(field).name), "in list", static_cast<uint32_t>(i), -1, values[i]});
      return true;
    }
  }
  return false;
}

bool Run::in_net(FieldId field, uint32_t net, int64_t item) {
  const auto& ips = fields_.values(field).ips;
  for (size_t i = 0; i < ips.size(); ++i) {
    if (item >= 0 && static_cast<size_t>(item) != i) continue;
    if (loaded_.nets[net].contains(ips[i])) {
      evidence_.push_back({std::string(field_info(field).name), "in network list", static_cast<uint32_t>(i), -1, ips[i].str()});
      return true;
    }
  }
  return false;
}

double Run::load_number(FieldId field, int64_t item) {
  const auto& numbers = fields_.values(field).numbers;
  size_t index = item < 0 ? 0 : static_cast<size_t>(item);
  return index < numbers.size() ? numbers[index] : 0;
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
  s_.loops.push_back({collection, 0, items, 0, binding});
  binding = 0;
  ++pc;
}

void Run::loop_next(const Instruction& ins, size_t& pc) {
  bool value = pop() != 0;
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
  s_.loops.pop_back();
  push(result);
  ++pc;
}

void Run::fire(uint32_t rule) {
  const RuleInfo& r = im_.rules[rule];
  verdict_.fired.push_back({rule, r.name, im_.stages[r.stage],
                            r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column),
                            std::move(evidence_)});
  evidence_.clear();
}

void Run::finish_by_score() {
  const Settings& s = im_.settings;
  if (verdict_.score >= s.reject_threshold) {
    verdict_.action = Action::Reject;
    verdict_.text = "550 5.7.1 Message refused as spam (score " + std::to_string(verdict_.score) + ")";
  } else if (verdict_.score >= s.quarantine_threshold) {
    verdict_.action = Action::Quarantine;
    verdict_.text = "spam score above the quarantine threshold";
  }
}

bool compare(CmpOp op, double x, double y) {
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

void Run::execute(uint8_t direction_bit) {
  const auto& code = im_.code;
  auto str = [&](uint32_t i) { return i == kNoString ? std::string() : im_.strings[i]; };
  size_t pc = 0;
  while (pc < code.size()) {
    const Instruction& ins = code[pc];
    auto field = static_cast<FieldId>(ins.b);
    switch (ins.op) {
      case Op::EnterRule: {
        current_rule_ = ins.c;
        evidence_.clear();
        s_.stack.clear();
        const RuleInfo& r = im_.rules[ins.c];
        bool applies = (r.directions & direction_bit) && (r.guard == kNoGuard || guard_matched(r.guard));
        pc = applies ? pc + 1 : r.code_end;
        continue;
      }
      case Op::PushTrue: push(1); break;
      case Op::PushFalse: push(0); break;
      case Op::Match: push(match(field, ins.c, item_for(field, ins.a))); break;
      case Op::InSet: push(in_set(field, ins.c, item_for(field, ins.a))); break;
      case Op::InNet: push(in_net(field, ins.c, item_for(field, ins.a))); break;
      case Op::LoadField: push(load_number(field, item_for(field, ins.a))); break;
      case Op::LoadCount: push(static_cast<double>(fields_.item_count(static_cast<Collection>(ins.b)))); break;
      case Op::LoadConst: push(im_.numbers[ins.c]); break;
      case Op::Compare: {
        double y = pop();
        double x = pop();
        push(compare(static_cast<CmpOp>(ins.a), x, y));
        break;
      }
      case Op::Not: push(pop() == 0); break;
      case Op::JumpIfFalseElsePop:
        if (top() == 0) { pc = ins.c; continue; }
        pop();
        break;
      case Op::JumpIfTrueElsePop:
        if (top() != 0) { pc = ins.c; continue; }
        pop();
        break;
      case Op::JumpIfFalse:
        if (pop() == 0) { pc = ins.c; continue; }
        break;
      case Op::LoopBegin: loop_begin(ins, pc); continue;
      case Op::LoopNext: loop_next(ins, pc); continue;
      case Op::Fire: fire(ins.c); break;
      case Op::Score: {
        const RuleInfo& r = im_.rules[current_rule_];
        verdict_.score += im_.numbers[ins.c];
        verdict_.contributions.push_back({r.name, im_.stages[r.stage], im_.numbers[ins.c], str(ins.b)});
        break;
      }
      case Op::Tag: verdict_.tags.push_back(im_.strings[ins.c]); break;
      case Op::AddHeader: verdict_.added_headers.emplace_back(im_.strings[ins.b], im_.strings[ins.c]); break;
      case Op::RemoveHeader: verdict_.removed_headers.push_back(im_.strings[ins.b]); break;
      case Op::Log: verdict_.logs.push_back(im_.strings[ins.c]); break;
      case Op::Terminal: {
        const RuleInfo& r = im_.rules[current_rule_];
        verdict_.action = static_cast<Action>(ins.a);
        verdict_.text = str(ins.b);
        verdict_.rule = current_rule_;
        verdict_.rule_name = r.name;
        verdict_.stage_name = im_.stages[r.stage];
        verdict_.location = r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column);
        return;
      }
      case Op::Halt: finish_by_score(); return;
    }
    ++pc;
  }
  finish_by_score();
}

Direction direction_of(const Program::Loaded& loaded, MessageFields& fields) {
  const auto& sender_domain = fields.values(FieldId::SenderDomain).text;
  const auto& client = fields.values(FieldId::ClientIp).ips;
  bool ours = !sender_domain.empty() && loaded.org_domains.count(sender_domain[0]) > 0;
  bool authorised = !client.empty() && loaded.sending_servers.contains(client[0]);
  if (!ours || !authorised) return Direction::Inbound;
  for (const auto& domain : fields.values(FieldId::RecipientDomain).text) {
    if (!loaded.org_domains.count(domain)) return Direction::Outbound;
  }
  return Direction::Internal;
}

}  // namespace

Verdict Evaluator::evaluate(const runtime::Message& message, const runtime::Envelope& envelope) {
  Scratch& s = *scratch_;
  for (const auto& r : s.records) s.matched[r.pattern / 64] = 0;
  s.records.clear();
  s.scanned.fill(false);
  s.binding.fill(-1);
  s.stack.clear();
  s.loops.clear();

  MessageFields fields(message, envelope);
  Verdict verdict;
  verdict.direction = direction_of(program_->loaded(), fields);
  Run run(*program_, s.hs.get(), fields, s, verdict);
  try {
    run.execute(static_cast<uint8_t>(1u << static_cast<unsigned>(verdict.direction)));
  } catch (const VmError& e) {
    // Only a hand-made image can get here (the compiler never emits such code):
    // fail safe by holding the message rather than delivering it.
    verdict.action = Action::Tempfail;
    verdict.text = std::string("451 4.3.0 policy evaluation error: ") + e.what();
  }
  return verdict;
}

}  // namespace mp::vm
