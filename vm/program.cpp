// Program::load: image bytes → verified, ready-to-run program. Everything that can
// be prepared once per image (hash sets, IP tries, Hyperscan databases) is built
// here so that evaluation only looks things up.
#include <algorithm>
#include <array>
#include <cmath>

#include "vm/loaded.h"

namespace mp::vm {

namespace {

// Facts appear only as Field operands (the verifier has checked every operand); their
// arguments are the filters of the patterns, sets and nets they are tested with.
std::vector<FactUse> collect_facts_used(const ImageData& im) {
  std::vector<FactUse> facts;
  auto use = [&facts](FieldId field, const std::string& argument) {
    auto it =
        std::find_if(facts.begin(), facts.end(), [field](const FactUse& u) { return u.field == field; });
    if (it == facts.end()) it = facts.insert(facts.end(), FactUse{field, {}});
    if (!argument.empty() &&
        std::find(it->arguments.begin(), it->arguments.end(), argument) == it->arguments.end()) {
      it->arguments.push_back(argument);
    }
  };
  for (const auto& ins : im.code) {
    // SameValue's second field: a fact without argument (verify rejects the others).
    if (op_info(ins.op).c == OperandKind::Field && is_fact(static_cast<FieldId>(ins.c))) {
      use(static_cast<FieldId>(ins.c), {});
    }
    if (op_info(ins.op).b != OperandKind::Field || !is_fact(static_cast<FieldId>(ins.b))) continue;
    auto field = static_cast<FieldId>(ins.b);
    switch (ins.op) {
      case Op::Match: use(field, im.patterns[ins.c].header_filter); break;
      case Op::InSet:
      case Op::Resembles: use(field, im.sets[ins.c].header_filter); break;
      case Op::InNet: use(field, im.nets[ins.c].argument); break;
      case Op::LoadArgNumber: use(field, im.strings[ins.c]); break;
      default: use(field, {});
    }
  }
  return facts;
}

// The fields the code of `rule` reads that `wanted` accepts, each once.
template <class Wanted>
std::vector<FieldId> fields_read(const ImageData& im, const RuleInfo& rule, Wanted&& wanted) {
  std::vector<FieldId> out;
  const auto add = [&](uint32_t operand) {
    const auto field = static_cast<FieldId>(operand);
    if (wanted(field) && std::find(out.begin(), out.end(), field) == out.end()) out.push_back(field);
  };
  for (uint32_t pc = rule.code_begin; pc < rule.code_end; ++pc) {
    const Instruction& ins = im.code[pc];
    const OpInfo& info = op_info(ins.op);
    if (info.b == OperandKind::Field) add(ins.b);
    if (info.c == OperandKind::Field) add(ins.c);
  }
  return out;
}

bool reads_field(const ImageData& im, const RuleInfo& rule, FieldId field) {
  return !fields_read(im, rule, [field](FieldId f) { return f == field; }).empty();
}

// PCRE2 code for each pattern Hyperscan refused; the compiler checked that it
// compiles, so a failure here is a damaged or foreign image.
void load_pcre(const ImageData& im, Program::Loaded& loaded) {
  loaded.pcre.resize(im.patterns.size());
  loaded.pcre_only.resize(kFieldCount);
  loaded.pcre_context = make_match_context(im.settings.regex_limits.match_limit);
  std::array<bool, kFieldCount> message_field{};
  for (uint32_t id = 0; id < im.patterns.size(); ++id) {
    const PatternInfo& p = im.patterns[id];
    if (p.engine == Engine::Hyperscan || p.engine == Engine::Affix) continue;
    std::string error;
    loaded.pcre[id] = compile_pcre2(p.expression, p.hs_flags, &error);
    if (!loaded.pcre[id])
      throw ImageError("pattern " + std::to_string(id) + " does not compile in PCRE2: " + error);
    if (p.engine == Engine::Pcre2) loaded.pcre_only[static_cast<size_t>(p.field)].push_back(id);
    if (!is_fact(p.field) && p.field != FieldId::MessageDefects)
      message_field[static_cast<size_t>(p.field)] = true;
  }
  for (size_t f = 0; f < kFieldCount; ++f)
    if (message_field[f]) loaded.pcre_message_fields.push_back(static_cast<FieldId>(f));
}

// The header all of a database's patterns test, or "" (an image of a compiler that
// mixed them is still read right: MatchState::on_match checks each report's header).
std::string header_of(const ImageData& im, const FieldDatabase& db) {
  if (db.pattern_ids.empty()) return "";
  const std::string& first = im.patterns[db.pattern_ids[0]].header_filter;
  for (uint32_t id : db.pattern_ids) {
    if (im.patterns[id].header_filter != first) return "";
  }
  return first;
}

HsDatabase deserialize(const FieldDatabase& db) {
  hs_database_t* out = nullptr;
  if (hs_deserialize_database(db.serialized.data(), db.serialized.size(), &out) != HS_SUCCESS) {
    throw ImageError("the pattern database for field '" + std::string(field_info(db.field).name) +
                     "' does not deserialise");
  }
  return HsDatabase(out);
}

}  // namespace

Program::~Program() = default;

std::span<const FactUse> Program::facts_used() const {
  return loaded_->facts_used;
}

ProgramPtr Program::load(std::span<const uint8_t> bytes) {
  if (hs_valid_platform() != HS_SUCCESS) throw ImageError("Hyperscan does not support this CPU");
  std::shared_ptr<Program> program(new Program());
  program->image_ = read_image(bytes);
  verify(program->image_);

  auto loaded = std::make_unique<Loaded>();
  const ImageData& im = program->image_;
  loaded->split_rule = static_cast<uint32_t>(im.rules.size());
  loaded->field_sets.resize(kFieldCount);
  for (uint32_t id = 0; id < im.sets.size(); ++id) {
    const SetInfo& set = im.sets[id];
    if (set.fold == Fold::Resemble) continue;  // compared key by key, never looked up
    FieldSetIndex& index = loaded->field_sets[static_cast<size_t>(set.field)];
    auto& map = set.fold == Fold::Lower ? index.lowercase : index.exact;
    for (const auto& entry : set.entries) {
      auto& ids = map[entry];
      if (ids.empty() || ids.back() != id) ids.push_back(id);
    }
  }
  for (const auto& r : im.rules) {
    FieldId guard_field = r.guard_kind == GuardKind::Pattern ? im.patterns[r.guard].field
                          : r.guard_kind == GuardKind::Set   ? im.sets[r.guard].field
                                                             : FieldId::Subject;
    const bool mandatory = is_mandatory_stage(im.stages[r.stage]);
    loaded->rules.push_back({r.code_begin, r.code_end, r.guard, r.guard_kind, r.directions, guard_field,
                             mandatory, r.scoped(), r.expires, reads_field(im, r, FieldId::Bayes),
                             fields_read(im, r, is_counting_fact)});
    if (mandatory) loaded->mandatory_end = static_cast<uint32_t>(loaded->rules.size());
    if (loaded->split_rule == im.rules.size() && (r.scoped() || reads_field(im, r, FieldId::SenderList)))
      loaded->split_rule = static_cast<uint32_t>(loaded->rules.size() - 1);
  }
  for (const auto& net : im.nets) {
    IpTrie trie;
    for (const auto& prefix : net.prefixes) trie.insert(prefix);
    loaded->nets.push_back(std::move(trie));
  }
  loaded->field_db.resize(kFieldCount);
  for (const auto& db : im.databases) {
    FieldDatabases& dbs = loaded->field_db[static_cast<size_t>(db.field)];
    std::string header = header_of(im, db);
    (header.empty() ? dbs.every_value : dbs.by_header[header]).push_back(deserialize(db));
  }
  load_pcre(im, *loaded);
  loaded->affixes.resize(kFieldCount);
  for (uint32_t id = 0; id < im.patterns.size(); ++id) {
    const PatternInfo& p = im.patterns[id];
    if (p.engine == Engine::Affix) loaded->affixes[static_cast<size_t>(p.field)].add(id, p);
  }
  for (const auto& prefix : im.settings.sending_servers) loaded->sending_servers.insert(prefix);
  for (const auto& prefix : im.settings.trusted_relays) loaded->trusted_relays.insert(prefix);
  loaded->org_domains.insert(im.settings.org_domains.begin(), im.settings.org_domains.end());
  loaded->facts_used = collect_facts_used(im);
  program->loaded_ = std::move(loaded);
  return program;
}

bool Program::per_recipient() const {
  return loaded_->split_rule < loaded_->rules.size();
}

std::vector<uint32_t> Program::rules_for_recipient(std::string_view recipient) const {
  std::vector<uint32_t> out;
  const std::vector<std::string> groups = recipient_groups(image_.settings.groups, recipient);
  for (uint32_t i = 0; i < image_.rules.size(); ++i) {
    const RuleInfo& r = image_.rules[i];
    const bool user = std::find(r.scope_users.begin(), r.scope_users.end(), recipient) != r.scope_users.end();
    const bool group = std::any_of(groups.begin(), groups.end(), [&](const std::string& g) {
      return std::find(r.scope_groups.begin(), r.scope_groups.end(), g) != r.scope_groups.end();
    });
    if (user || group) out.push_back(i);
  }
  return out;
}

std::string_view direction_name(Direction d) {
  switch (d) {
    case Direction::Inbound: return "inbound";
    case Direction::Outbound: return "outbound";
    case Direction::Internal: return "internal";
  }
  return "?";
}

}  // namespace mp::vm
