// The disassembler: an EXPLAIN-style listing of an image. Operand meanings come
// from the operand kinds of opcodes.def, so every opcode is printed the same way.
#include <fmt/format.h>

#include "runtime/resemble.h"
#include "vm/vm.h"

namespace mp::vm {

namespace {

std::string quoted(const std::string& s, size_t limit = 40) {
  std::string body = s.size() > limit ? s.substr(0, limit) + "…" : s;
  return "\"" + body + "\"";
}

std::string set_preview(const SetInfo& set) {
  std::string out = "{";
  for (size_t i = 0; i < set.entries.size() && i < 3; ++i) {
    const std::string_view entry =
        set.fold == Fold::Resemble ? runtime::key_text(set.entries[i]) : set.entries[i];
    out += (i ? ", " : "") + std::string(entry);
  }
  if (set.entries.size() > 3) out += fmt::format(", … {} entries", set.entries.size());
  return out + "}";
}

// The argument a test gives its field: header "NAME", dnsbl("ZONE"), mx(FIELD), …
std::string argument_of(const ImageData& im, const Instruction& ins) {
  switch (ins.op) {
    case Op::Match: return im.patterns[ins.c].header_filter;
    case Op::InSet:
    case Op::Resembles: return im.sets[ins.c].header_filter;
    case Op::InNet: return im.nets[ins.c].argument;
    case Op::LoadArgNumber: return im.strings[ins.c];
    default: return {};
  }
}

// What one operand means, for the comment column ("" when it needs no comment).
std::string describe(const ImageData& im, OperandKind kind, uint32_t value, const Instruction& ins) {
  switch (kind) {
    case OperandKind::Field: return field_label(static_cast<FieldId>(value), argument_of(im, ins));
    case OperandKind::Coll: return std::string(collection_names(static_cast<Collection>(value)));
    case OperandKind::Pat: {
      // Like SQLite's EXPLAIN naming the index a step uses: which engine runs the pattern.
      const Engine engine = im.patterns[value].engine;
      return im.patterns[value].source + (engine == Engine::Prefilter ? "  [prefilter+PCRE2]"
                                          : engine == Engine::Pcre2   ? "  [PCRE2]"
                                          : engine == Engine::Affix   ? "  [lookup]"
                                                                      : "");
    }
    case OperandKind::Set:
      return (ins.op == Op::Resembles     ? "resembles "
              : ins.op == Op::RewriteUrls ? "except "
                                          : "in ") +
             set_preview(im.sets[value]);
    case OperandKind::Net: return fmt::format("in {} prefixes", im.nets[value].prefixes.size());
    case OperandKind::Num: return fmt::format("{}", im.numbers[value]);
    case OperandKind::Str: return quoted(im.strings[value]);
    case OperandKind::OStr: return value == kNoString ? "" : quoted(im.strings[value]);
    case OperandKind::Jump: return fmt::format("goto {}", value);
    case OperandKind::Rule: return im.stages[im.rules[value].stage] + "." + im.rules[value].name;
    case OperandKind::Cmp: {
      static const char* ops[] = {"<", "<=", ">", ">=", "==", "!="};
      return ops[value];
    }
    case OperandKind::Quant: {
      static const char* kinds[] = {"any", "all", "count"};
      return kinds[value];
    }
    case OperandKind::Act: return std::string(action_name(static_cast<Action>(value)));
    case OperandKind::Bound: return value ? "current item" : "";
    case OperandKind::None: break;
  }
  (void)ins;
  return {};
}

// "  [users ceo@widget.com; groups finance; until 2026-12-31]" after a rule's header.
std::string scope_note(const RuleInfo& r) {
  std::vector<std::string> parts;
  if (!r.scope_users.empty()) parts.push_back(fmt::format("users {}", fmt::join(r.scope_users, " ")));
  if (!r.scope_groups.empty()) parts.push_back(fmt::format("groups {}", fmt::join(r.scope_groups, " ")));
  if (r.expires > 0) parts.push_back("until " + date_of_expiry(r.expires));
  return parts.empty() ? std::string() : fmt::format("  [{}]", fmt::join(parts, "; "));
}

}  // namespace

std::string disassemble(const ImageData& im) {
  std::string out = fmt::format("; {} rules, {} instructions, {} patterns in {} databases, {} sets, {} nets\n",
                                im.rules.size(), im.code.size(), im.patterns.size(),
                                im.databases.size(), im.sets.size(), im.nets.size());
  out += fmt::format("{:>5}  {:<19} {:>3} {:>6} {:>6}  {}\n", "addr", "opcode", "a", "b", "c", "comment");
  for (size_t pc = 0; pc < im.code.size(); ++pc) {
    const Instruction& ins = im.code[pc];
    const OpInfo& info = op_info(ins.op);
    if (ins.op == Op::EnterRule && ins.c < im.rules.size()) {
      const RuleInfo& r = im.rules[ins.c];
      out +=
          fmt::format("; rule {}.{}  ({}:{}){}\n", im.stages[r.stage], r.name, r.file, r.line, scope_note(r));
    }
    std::string comment;
    for (auto [kind, value] : {std::pair{info.a, uint32_t{ins.a}}, {info.b, ins.b}, {info.c, ins.c}}) {
      std::string part = describe(im, kind, value, ins);
      if (!part.empty()) comment += (comment.empty() ? "" : "  ") + part;
    }
    std::string line = pc < im.code_lines.size() && im.code_lines[pc] ? fmt::format("  [line {}]", im.code_lines[pc]) : "";
    out += fmt::format("{:>5}  {:<19} {:>3} {:>6} {:>6}  {}{}\n", pc, info.name, ins.a,
                       ins.b == kNoString ? std::string("-") : std::to_string(ins.b),
                       ins.c == kNoString ? std::string("-") : std::to_string(ins.c), comment, line);
  }
  return out;
}

}  // namespace mp::vm
