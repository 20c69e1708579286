// A compiled policy as formulas (encode.h).
#include "explore/encode.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <functional>
#include <set>

#include <hs/hs.h>

#include "compiler/regex_atoms.h"
#include "compiler/sema.h"
#include "explore/regex_smt.h"
#include "runtime/identity.h"
#include "runtime/resemble.h"
#include "vm/facts.h"
#include "vm/vm.h"

namespace mp::explore {

using compiler::IrNode;
using compiler::IrNumber;
using compiler::IrOp;
using vm::Collection;
using vm::FieldId;

namespace {

constexpr unsigned kMaxSlots = 6;

// The shortest decimal that reads back as `v` (printf's %.9f rounded 100.0000000001 to
// 100, so `size >= 100 and not size >= 100.0000000001` was "impossible").
z3::expr real(z3::context& ctx, double v) {
  char buf[400];  // DBL_MAX in fixed notation: 309 digits
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) throw std::logic_error("a number the solver cannot state");
  return ctx.real_val(std::string(buf, end).c_str());
}

z3::expr comparison(vm::CmpOp op, const z3::expr& a, const z3::expr& b) {
  switch (op) {
    case vm::CmpOp::Lt: return a < b;
    case vm::CmpOp::Le: return a <= b;
    case vm::CmpOp::Gt: return a > b;
    case vm::CmpOp::Ge: return a >= b;
    case vm::CmpOp::Eq: return a == b;
    case vm::CmpOp::Ne: return a != b;
  }
  return a == b;
}

// The value `v` passes a test of `kind` of the literal `l`.
z3::expr literal_relation(LiteralTest::Kind kind, const z3::expr& v, const z3::expr& l) {
  switch (kind) {
    case LiteralTest::Kind::Is: return v == l;
    case LiteralTest::Kind::StartsWith: return z3::prefixof(l, v);
    case LiteralTest::Kind::EndsWith: return z3::suffixof(l, v);
    case LiteralTest::Kind::Contains: return v.contains(l);
  }
  return v.contains(l);
}

// A regex test as literal tests see it (literals.h), or nullopt when the model cannot
// state the pattern.
std::optional<RegexTest> regex_test(z3::context& ctx, const vm::PatternInfo& p,
                                    const std::bitset<256>& alphabet) {
  auto search = pattern_language(ctx, p, alphabet);
  if (!search) return std::nullopt;
  RegexTest out{*search, context_free(ctx, p), {}};
  if (p.hs_flags & (HS_FLAG_UTF8 | HS_FLAG_UCP)) return out;  // atoms are bytes
  if (auto atoms = compiler::required_atoms(p.expression, p.hs_flags & HS_FLAG_CASELESS, false)) {
    for (const auto& atom : atoms->literals)
      out.atoms.push_back(LiteralTest{LiteralTest::Kind::Contains, atom, atoms->caseless});
  }
  return out;
}

// Whether fuzz can write a value holding one of the texts every match of `r` holds one
// of (`/x\ty/` needs a tab, which no written text has); true when there are none.
// Searching the string solver for such a value took the whole budget.
bool writable_atom(FieldId field, const RegexTest& r) {
  if (r.atoms.empty()) return true;
  return std::any_of(r.atoms.begin(), r.atoms.end(), [&](const LiteralTest& atom) {
    return MessageModel::can_write(field, atom.caseless ? runtime::ascii_lowercase(atom.bytes) : atom.bytes);
  });
}

std::optional<vm::Action> terminal_action(lang::ActionKind k) {
  switch (k) {
    case lang::ActionKind::Allow: return vm::Action::Allow;
    case lang::ActionKind::Reject: return vm::Action::Reject;
    case lang::ActionKind::Quarantine: return vm::Action::Quarantine;
    case lang::ActionKind::Discard: return vm::Action::Discard;
    case lang::ActionKind::Tempfail: return vm::Action::Tempfail;
    default: return std::nullopt;
  }
}

// What a test's table entry holds, so that a pattern, set or net is named by its
// content: two policies (fuzz --diff) number their tables apart.
std::string table_key(const IrNode& n, const vm::ImageData& image) {
  switch (n.op) {
    case IrOp::Match: {
      const vm::PatternInfo& p = image.patterns[n.index];
      return "/" + p.expression + "/" + std::to_string(p.hs_flags) + " " + p.header_filter;
    }
    case IrOp::InSet:
    case IrOp::Resembles: {
      const vm::SetInfo& set = image.sets[n.index];
      std::string entries;
      for (const auto& e : set.entries) entries += e + '\n';
      return "{" + std::to_string(static_cast<int>(n.op)) + " " + std::to_string(static_cast<int>(set.fold)) +
             " " + set.header_filter + " " + std::to_string(std::hash<std::string>{}(entries)) + "}";
    }
    case IrOp::InNet: {
      const vm::NetInfo& net = image.nets[n.index];
      std::string s = "[" + net.argument;
      for (const auto& p : net.prefixes) s += " " + p.str();
      return s + "]";
    }
    default: return std::to_string(n.index);
  }
}

// A key that names the same test the same way wherever it is written (a def used by
// two rules, the same test in two policies): free booleans for it are then one variable.
std::string canonical(const IrNode& n, const vm::ImageData& image,
                      const std::map<Collection, unsigned>& bound) {
  auto number = [](const IrNumber& x) {
    return std::to_string(static_cast<int>(x.kind)) + "," + std::to_string(static_cast<int>(x.field)) + "," +
           std::to_string(x.bound) + "," + std::to_string(static_cast<int>(x.collection)) + "," +
           std::to_string(x.value) + "," + x.argument;
  };
  std::string s = "(" + std::to_string(static_cast<int>(n.op)) + " " +
                  std::to_string(static_cast<int>(n.field)) + " " + table_key(n, image) + " " +
                  std::to_string(static_cast<int>(n.loop)) + " " +
                  std::to_string(static_cast<int>(n.collection)) + " " +
                  std::to_string(static_cast<int>(n.cmp)) + " " + number(n.lhs) + " " + number(n.rhs);
  if (n.bound) {
    auto it = bound.find(vm::field_info(n.field).collection);
    s += " @" + (it == bound.end() ? std::string("?") : std::to_string(it->second));
  }
  for (const auto& c : n.children) s += " " + canonical(c, image, bound);
  return s + ")";
}

// Tests of each collection a proof must give a slot each (model.h), named by content,
// and the items a count compared with a constant wants.
void count_tests(const IrNode& n, const vm::ImageData& image,
                 std::map<Collection, std::set<std::string>>& tests,
                 std::map<Collection, unsigned>& counted) {
  if (compiler::is_field_test(n.op))
    tests[vm::field_info(n.field).collection].insert(canonical(n, image, {}));
  if (n.op == IrOp::Loop) tests[n.collection].insert(canonical(n, image, {}));
  if (n.op == IrOp::NumCompare) {
    for (const IrNumber* x : {&n.lhs, &n.rhs}) {
      if (x->kind == IrNumber::Kind::Count) {
        unsigned want = std::min<unsigned>(static_cast<unsigned>(std::max(0.0, n.rhs.value)) + 2, kMaxSlots);
        counted[x->collection] = std::max(counted[x->collection], want);
      }
    }
  }
  for (const auto& c : n.children) count_tests(c, image, tests, counted);
}

}  // namespace

z3::expr ipv4_in(z3::context& ctx, const z3::expr& ip, const std::vector<runtime::Cidr>& prefixes) {
  z3::expr any = ctx.bool_val(false);
  for (const auto& p : prefixes) {
    if (p.base.v6) continue;
    uint32_t base = (uint32_t{p.base.bytes[0]} << 24) | (uint32_t{p.base.bytes[1]} << 16) |
                    (uint32_t{p.base.bytes[2]} << 8) | p.base.bytes[3];
    uint32_t mask = p.prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - p.prefix_len);
    any = any || ((ip & ctx.bv_val(mask, 32)) == ctx.bv_val(base & mask, 32));
  }
  return any;
}

namespace {

// Bytes [from, from + 4) of an address or mask as a 32-bit word, most significant first.
uint32_t word_at(const std::array<uint8_t, 16>& bytes, size_t from) {
  return (uint32_t{bytes[from]} << 24) | (uint32_t{bytes[from + 1]} << 16) |
         (uint32_t{bytes[from + 2]} << 8) | bytes[from + 3];
}

z3::expr bv128(z3::context& ctx, const std::array<uint8_t, 16>& bytes) {
  z3::expr v = ctx.bv_val(word_at(bytes, 0), 32);
  for (size_t i = 4; i < 16; i += 4) v = z3::concat(v, ctx.bv_val(word_at(bytes, i), 32));
  return v;
}

}  // namespace

z3::expr ipv6_in(z3::context& ctx, const z3::expr& ip, const std::vector<runtime::Cidr>& prefixes) {
  z3::expr any = ctx.bool_val(false);
  for (const auto& p : prefixes) {
    if (!p.base.v6) continue;
    std::array<uint8_t, 16> mask{}, base = p.base.bytes;
    for (int bit = 0; bit < p.prefix_len; ++bit) mask[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    for (size_t i = 0; i < 16; ++i) base[i] &= mask[i];
    any = any || ((ip & bv128(ctx, mask)) == bv128(ctx, base));
  }
  return any;
}

PolicyEncoder::PolicyEncoder(MessageModel& model, const compiler::IrModule& module,
                             const vm::ImageData& image, double now)
    : m_(model),
      ctx_(model.ctx()),
      module_(module),
      image_(image),
      action_(ctx_.int_val(0)),
      score_(ctx_.real_val(0)) {
  if (!m_.sized()) size_slots(m_, {{&module_, &image_}});
  if (image.settings.on_temperror == vm::TempErrorPolicy::Tempfail) m_.refuse_failed_facts();
  for (const auto& r : module_.rules) {
    approximating_ = &rule_approximated_.emplace_back();
    conditions_.push_back(node(r.condition, {}));
  }
  for (const auto& a : module_.assertions) {
    approximating_ = &assertion_approximated_.emplace_back();
    assertions_.push_back(node(a.condition, {}));
  }
  approximating_ = nullptr;
  chain(now);
  m_.link_addresses();
  m_.link_file_names();
  m_.link_header_lines();
  m_.link_failed_facts();
}

void size_slots(MessageModel& model, const std::vector<EncodedPolicy>& policies) {
  std::map<Collection, std::set<std::string>> distinct;
  std::map<Collection, unsigned> tests, counted;
  for (const auto& [module, image] : policies) {
    for (const auto& r : module->rules) count_tests(r.condition, *image, distinct, counted);
    for (const auto& a : module->assertions) count_tests(a.condition, *image, distinct, counted);
  }
  for (const auto& [c, keys] : distinct) tests[c] = static_cast<unsigned>(keys.size());
  tests[Collection::Recipients] += 1;  // a recipient outside org.domains decides the direction
  bool exceeded = false;
  for (auto [c, n] : tests) {
    if (c == Collection::Single) continue;
    exceeded = exceeded || n > kMaxSlots;
    // A witness rarely needs more than two items of a kind; fewer slots, fewer variables.
    if (model.mode() == Mode::Witness) n = std::min(n, 2u);
    model.set_slots(c, std::clamp(std::max(n, counted[c]), 1u, kMaxSlots));
  }
  model.mark_sized(exceeded);
}

bool PolicyEncoder::terminal(size_t i) const {
  const auto& actions = module_.rules[i].actions;
  return !actions.empty() && terminal_action(actions.back().kind).has_value();
}

z3::expr PolicyEncoder::node(const IrNode& n, const Bound& bound) {
  switch (n.op) {
    case IrOp::True: return ctx_.bool_val(true);
    case IrOp::False: return ctx_.bool_val(false);
    case IrOp::Not: return !node(n.children[0], bound);
    case IrOp::And:
    case IrOp::Or: {
      z3::expr_vector parts(ctx_);
      for (const auto& c : n.children) parts.push_back(node(c, bound));
      return n.op == IrOp::And ? z3::mk_and(parts) : z3::mk_or(parts);
    }
    case IrOp::Loop: return loop(n, bound);
    case IrOp::NumCompare: return compare(n, bound);
    case IrOp::Sum: return sum(n, bound);
    default: return field_test(n, bound);
  }
}

z3::expr PolicyEncoder::approximate(const IrNode& n, const Bound& bound) {
  std::string argument = n.op == IrOp::Match   ? image_.patterns[n.index].header_filter
                         : n.op == IrOp::InSet ? image_.sets[n.index].header_filter
                         : n.op == IrOp::InNet ? image_.nets[n.index].argument
                                               : std::string();
  const IrNumber& number = n.lhs.kind == IrNumber::Kind::Field ? n.lhs : n.rhs;
  std::string label = n.op == IrOp::Loop ? "any/all " + std::string(vm::collection_names(n.collection))
                      : n.op == IrOp::NumCompare
                          ? number.kind == IrNumber::Kind::Field
                                ? vm::field_label(number.field, number.argument)
                                : "count(" + std::string(vm::collection_names(number.collection)) + ")"
                          : vm::field_label(n.field, argument);
  for (auto* list : {&approximated_, approximating_}) {
    if (list != nullptr && std::find(list->begin(), list->end(), label) == list->end())
      list->push_back(label);
  }
  return m_.free_bool(canonical(n, image_, bound));
}

z3::expr PolicyEncoder::any_item(const IrNode& n, const Bound& bound, const std::string& argument,
                                 const std::function<z3::expr(const ValueKey&)>& test) {
  Collection c = vm::field_info(n.field).collection;
  auto one = [&](unsigned k) { return m_.present(n.field, argument, k) && test({n.field, argument, k}); };
  // sender_list (a witness's only): one value that every recipient has, so that the VM's
  // evaluation per recipient (language.md, section 13) is the one evaluation encoded.
  if (c == Collection::Single || n.field == FieldId::SenderList) return one(0);
  if (n.bound) {
    auto it = bound.find(c);
    if (it == bound.end()) return approximate(n, bound);
    return one(it->second);
  }
  z3::expr_vector any(ctx_);
  for (unsigned k = 0; k < m_.slots(c); ++k) any.push_back(one(k));
  z3::expr result = z3::mk_or(any);
  if (n.field == FieldId::HeaderLine && m_.mode() == Mode::Prove) {
    // The test once more on a placeholder line, for the named fields' lines.
    const ValueKey placeholder{n.field, "\x01line" + std::to_string(next_placeholder_++), 0};
    m_.add_header_line_test(result, m_.text(placeholder), test(placeholder));
  }
  return result;
}

z3::expr PolicyEncoder::field_test(const IrNode& n, const Bound& bound) {
  if (m_.mode() == Mode::Witness && n.field == FieldId::UrlFlags) return url_flags(n, bound);
  if (!m_.modeled(n.field)) return approximate(n, bound);
  switch (n.op) {
    case IrOp::Match: return match(n, bound);
    case IrOp::InSet: return in_set(n, bound);
    case IrOp::InNet: return in_net(n, bound);
    case IrOp::SameValue: return same_value(n, bound);
    case IrOp::Resembles: return resembles(n, bound);
    default: return approximate(n, bound);
  }
}

namespace {

// The link domains the URL flags that are their shape stand for (runtime/url_form.cpp).
// ip_literal: one to four decimal labels, as browsers read an IPv4 address (the
// runtime reads 0x hex labels too, which would cost the string solver the whole
// budget: a witness is written in decimal, and one meant to have no such flag could in
// principle be hex, which the VM's check would catch).
constexpr const char* kIpLiteralDomain = "^[0-9]+(?:\\.[0-9]+){0,3}$";

}  // namespace

// The tests of a link's domain, any of which gives it `flag`: a regex for ip_literal,
// literals for punycode (a label starting "xn--"), which relate to the domain's other
// literal tests at once. Empty for the flags that are not the domain's shape.
std::vector<MessageModel::KnownTest> PolicyEncoder::url_flag_tests(const std::string& flag) {
  if (flag == "punycode")
    return {{LiteralTest{LiteralTest::Kind::StartsWith, "xn--", false}, std::nullopt},
            {LiteralTest{LiteralTest::Kind::Contains, ".xn--", false}, std::nullopt}};
  if (flag != "ip_literal") return {};
  if (!ip_literal_) {
    vm::PatternInfo p;
    p.field = FieldId::UrlDomain;
    p.expression = kIpLiteralDomain;
    ip_literal_ = regex_test(ctx_, p, MessageModel::alphabet(FieldId::UrlDomain));
  }
  if (!*ip_literal_) return {};
  return {{std::nullopt, **ip_literal_}};
}

// urls.flags in a witness: `ip_literal` and `punycode` are tests of the link's domain,
// written as such (one test per flag, not one of their union: a choice holding one
// flag's test and not the union's was refuted only when the budget ran out); a test of
// another flag (a userinfo, a port, the link's text) is an unknown.
z3::expr PolicyEncoder::url_flags(const IrNode& n, const Bound& bound) {
  std::vector<std::string> flags;
  if (n.op == IrOp::Match) {
    auto lit = literal_pattern(image_.patterns[n.index]);
    if (!lit || lit->kind != LiteralTest::Kind::Is) return approximate(n, bound);
    flags.push_back(runtime::ascii_lowercase(lit->bytes));
  } else if (n.op == IrOp::InSet) {
    flags = image_.sets[n.index].entries;
  }
  std::vector<MessageModel::KnownTest> tests;
  for (const auto& flag : flags) {
    auto of_flag = url_flag_tests(flag);
    if (of_flag.empty()) return approximate(n, bound);
    tests.insert(tests.end(), of_flag.begin(), of_flag.end());
  }
  if (tests.empty()) return approximate(n, bound);
  return any_item(n, bound, "", [&](const ValueKey& k) {
    z3::expr domain = m_.text({FieldId::UrlDomain, k.argument, k.slot});
    z3::expr_vector any(ctx_);
    for (const auto& t : tests) {
      z3::expr relation =
          t.literal ? literal_relation(t.literal->kind, domain, string_constant(ctx_, t.literal->bytes))
                    : z3::in_re(domain, t.regex->search);
      any.push_back(m_.known_test(domain, t, relation));
    }
    return z3::mk_or(any);
  });
}

z3::expr PolicyEncoder::match(const IrNode& n, const Bound& bound) {
  const vm::PatternInfo& p = image_.patterns[n.index];
  auto kind = vm::field_info(n.field).kind;
  if (kind == vm::ValueKind::Ip || kind == vm::ValueKind::Number) return approximate(n, bound);
  std::optional<LiteralTest> lit = literal_pattern(p);
  if (lit && lit->caseless && compiler::field_is_caseless(n.field)) {  // the value is lower case
    for (char& c : lit->bytes) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    lit->caseless = false;
  }
  if (lit && !lit->caseless) {
    if (m_.mode() == Mode::Witness && !MessageModel::can_write(n.field, lit->bytes))
      return approximate(n, bound);
    z3::expr l = string_constant(ctx_, lit->bytes);
    return any_item(n, bound, p.header_filter, [&](const ValueKey& k) {
      z3::expr v = m_.text(k);
      return m_.known_test(v, {lit, std::nullopt}, literal_relation(lit->kind, v, l));
    });
  }
  auto [it, fresh] = regexes_.try_emplace({n.index, n.field});
  if (fresh)
    it->second = regex_test(
        ctx_, p, m_.mode() == Mode::Witness ? MessageModel::alphabet(n.field) : std::bitset<256>().set());
  if (!it->second) return approximate(n, bound);
  if (m_.mode() == Mode::Witness && !writable_atom(n.field, *it->second))
    return approximate(n, bound);  // as for a literal: named, not left to the string solver
  MessageModel::KnownTest known{lit, *it->second};
  return any_item(n, bound, p.header_filter, [&](const ValueKey& k) {
    return m_.known_test(m_.text(k), known, z3::in_re(m_.text(k), known.regex->search));
  });
}

z3::expr PolicyEncoder::in_set(const IrNode& n, const Bound& bound) {
  const vm::SetInfo& set = image_.sets[n.index];
  auto kind = vm::field_info(n.field).kind;
  if (set.fold == vm::Fold::Resemble || kind == vm::ValueKind::Ip || kind == vm::ValueKind::Number ||
      set.entries.size() > 20000)
    return approximate(n, bound);
  // Witness: an entry fuzz cannot write is a value no witness has, so leaving it out is
  // exact; when none is left the test is an unknown, named as one.
  std::vector<std::string> entries;
  for (const auto& e : set.entries) {
    const bool lower = set.fold == vm::Fold::Lower;
    if (m_.mode() == Mode::Prove || MessageModel::can_write(n.field, lower ? runtime::ascii_lowercase(e) : e))
      entries.push_back(e);
  }
  if (entries.empty() && !set.entries.empty()) return approximate(n, bound);
  // A field the runtime stores in lower case (compiler::field_is_caseless) holds exactly
  // the lowered entries the compiler wrote; only `nocase` on a field kept as written
  // needs the other-case spellings.
  if (set.fold == vm::Fold::Lower && !compiler::field_is_caseless(n.field)) {
    // The entries themselves are members, beside their other-case spellings: the same
    // set, with an equation the solver settles at once where the language of a value
    // written from parts (an attachment's name) is slow to.
    z3::expr language = words_language(ctx_, entries, true);
    return any_item(n, bound, set.header_filter, [&](const ValueKey& k) {
      z3::expr v = m_.text(k);
      z3::expr_vector any(ctx_);
      for (const auto& e : entries) any.push_back(v == string_constant(ctx_, e));
      any.push_back(z3::in_re(v, language));
      return m_.string_test(z3::mk_or(any));
    });
  }
  return any_item(n, bound, set.header_filter, [&](const ValueKey& k) {
    z3::expr v = m_.text(k);
    z3::expr_vector any(ctx_);
    for (const auto& e : entries) any.push_back(v == string_constant(ctx_, e));
    return m_.string_test(z3::mk_or(any));
  });
}

namespace {

// A few texts the runtime's own test finds resemble `key` (runtime/resemble.h) and fuzz
// can write in `field`: the key's folded text (a name with its words capitalised, as
// senders write one) and it with one letter doubled, a slip that a domain test beside
// `not in org.domains` needs.
std::vector<std::string> resembling(const std::string& key, FieldId field) {
  const runtime::ResembleKind kind = vm::resemble_kind(field);
  const std::string folded(runtime::key_text(key));
  std::vector<std::string> candidates{folded};
  if (kind == runtime::ResembleKind::Name) {
    bool start = true;
    for (char& c : candidates[0]) {
      if (start) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      start = c == ' ';
    }
  }
  for (size_t i = 1; i + 1 < folded.size() && candidates.size() < 4; ++i) {
    if (std::isalpha(static_cast<unsigned char>(folded[i])))
      candidates.push_back(folded.substr(0, i) + folded[i] + folded.substr(i));
  }
  std::erase_if(candidates, [&](const std::string& c) {
    return !MessageModel::can_write(field, c) ||
           !runtime::keys_resemble(runtime::resemblance_key(c, kind), key, kind);
  });
  return candidates;
}

}  // namespace

// `resembles` in a witness: the value is one of a few texts that resemble an entry. A
// proof reads it as an unknown: what resembles a text has no SMT form here.
z3::expr PolicyEncoder::resembles(const IrNode& n, const Bound& bound) {
  if (m_.mode() != Mode::Witness) return approximate(n, bound);
  const vm::SetInfo& set = image_.sets[n.index];
  std::vector<std::string> texts;
  for (const auto& key : set.entries) {
    for (auto& text : resembling(key, n.field)) texts.push_back(std::move(text));
  }
  if (texts.empty()) return approximate(n, bound);
  // Each text an `is` test of its own: the values the solver tries first are built
  // from them (one string test of all of them took 1 to 20 s, run to run).
  return any_item(n, bound, set.header_filter, [&](const ValueKey& k) {
    z3::expr v = m_.text(k);
    z3::expr_vector any(ctx_);
    for (const auto& t : texts) {
      z3::expr l = string_constant(ctx_, t);
      any.push_back(m_.known_test(v, {LiteralTest{LiteralTest::Kind::Is, t, false}, std::nullopt}, v == l));
    }
    return z3::mk_or(any);
  });
}

z3::expr PolicyEncoder::in_net(const IrNode& n, const Bound& bound) {
  const vm::NetInfo& net = image_.nets[n.index];
  if (vm::field_info(n.field).kind != vm::ValueKind::Ip) return approximate(n, bound);
  bool has_v6 =
      std::any_of(net.prefixes.begin(), net.prefixes.end(), [](const auto& p) { return p.base.v6; });
  return any_item(n, bound, net.argument, [&](const ValueKey& k) {
    z3::expr v6 = m_.ip_is_v6(k);
    z3::expr in_v6 = has_v6 ? ipv6_in(ctx_, m_.ipv6(k), net.prefixes) : ctx_.bool_val(false);
    return z3::ite(v6, in_v6, ipv4_in(ctx_, m_.ipv4(k), net.prefixes));
  });
}

z3::expr PolicyEncoder::same_value(const IrNode& n, const Bound& bound) {
  auto other = static_cast<FieldId>(n.index);
  auto kind = vm::field_info(n.field).kind;
  if (!m_.modeled(other) || kind == vm::ValueKind::Ip || kind == vm::ValueKind::Number)
    return approximate(n, bound);
  Collection oc = vm::field_info(other).collection;
  bool same_item = n.bound && oc == vm::field_info(n.field).collection;
  return any_item(n, bound, "", [&](const ValueKey& k) {
    z3::expr_vector any(ctx_);
    unsigned slots = oc == Collection::Single ? 1 : m_.slots(oc);
    for (unsigned j = 0; j < slots; ++j) {
      if (same_item && j != k.slot) continue;
      any.push_back(m_.present(other, "", j) && m_.string_test(m_.text(k) == m_.text({other, "", j})));
    }
    return z3::mk_or(any);
  });
}

z3::expr PolicyEncoder::loop(const IrNode& n, const Bound& bound) {
  if (n.loop == vm::LoopKind::Count || n.children.empty()) return approximate(n, bound);
  z3::expr_vector parts(ctx_);
  for (unsigned k = 0; k < m_.slots(n.collection); ++k) {
    Bound inner = bound;
    inner[n.collection] = k;
    z3::expr item = m_.item(n.collection, k);
    z3::expr body = node(n.children[0], inner);
    parts.push_back(n.loop == vm::LoopKind::Any ? (item && body) : z3::implies(item, body));
  }
  return n.loop == vm::LoopKind::Any ? z3::mk_or(parts) : z3::mk_and(parts);
}

std::optional<z3::expr> PolicyEncoder::number(const IrNumber& x, const IrNode& n, const Bound& bound,
                                              z3::expr& has) {
  switch (x.kind) {
    case IrNumber::Kind::Const: return real(ctx_, x.value);
    case IrNumber::Kind::Count: {
      if (n.children.empty()) return z3::to_real(m_.count(x.collection));
      z3::expr sum = ctx_.int_val(0);
      for (unsigned k = 0; k < m_.slots(x.collection); ++k) {
        Bound inner = bound;
        inner[x.collection] = k;
        sum = sum + z3::ite(m_.item(x.collection, k) && node(n.children[0], inner), ctx_.int_val(1),
                            ctx_.int_val(0));
      }
      if (m_.mode() == Mode::Witness) return z3::to_real(sum);
      z3::expr more = ctx_.int_const(("count|" + canonical(n, image_, bound)).c_str());
      has = has && more >= sum;
      return z3::to_real(more);
    }
    case IrNumber::Kind::Field: {
      if (!m_.modeled(x.field) || vm::field_info(x.field).kind != vm::ValueKind::Number) return std::nullopt;
      Collection c = vm::field_info(x.field).collection;
      unsigned slot = 0;
      if (c != Collection::Single) {
        auto it = bound.find(c);
        if (!x.bound || it == bound.end()) return std::nullopt;
        slot = it->second;
      }
      has = has && m_.present(x.field, x.argument, slot);
      return m_.number({x.field, x.argument, slot});
    }
  }
  return std::nullopt;
}

z3::expr PolicyEncoder::compare(const IrNode& n, const Bound& bound) {
  z3::expr has = ctx_.bool_val(true);
  auto l = number(n.lhs, n, bound, has);
  auto r = number(n.rhs, n, bound, has);
  if (!l || !r) return approximate(n, bound);
  return has && comparison(n.cmp, *l, *r);
}

z3::expr PolicyEncoder::sum(const IrNode& n, const Bound& bound) {
  z3::expr total = ctx_.int_val(0);
  for (const auto& c : n.children) total = total + z3::ite(node(c, bound), ctx_.int_val(1), ctx_.int_val(0));
  return comparison(n.cmp, z3::to_real(total), real(ctx_, n.rhs.value));
}

// vm/evaluate.cpp direction_of: outbound or internal when the sender's domain is one
// of org.domains and the client one of org.sending_servers; internal when every
// recipient is in org.domains too. Returns the vm::Direction as an integer.
z3::expr PolicyEncoder::direction() {
  const vm::Settings& s = image_.settings;
  auto ours = [&](const z3::expr& domain) {
    z3::expr_vector any(ctx_);
    for (const auto& d : s.org_domains) any.push_back(domain == string_constant(ctx_, d));
    return m_.string_test(z3::mk_or(any));
  };
  z3::expr sender_ours =
      m_.present(FieldId::SenderDomain, "", 0) && ours(m_.text({FieldId::SenderDomain, "", 0}));
  ValueKey client{FieldId::ClientIp, "", 0};
  bool v6_servers = std::any_of(s.sending_servers.begin(), s.sending_servers.end(),
                                [](const auto& p) { return p.base.v6; });
  z3::expr authorised =
      m_.present(FieldId::ClientIp, "", 0) &&
      z3::ite(m_.ip_is_v6(client),
              v6_servers ? ipv6_in(ctx_, m_.ipv6(client), s.sending_servers) : ctx_.bool_val(false),
              ipv4_in(ctx_, m_.ipv4(client), s.sending_servers));
  z3::expr_vector all_ours(ctx_);
  for (unsigned k = 0; k < m_.slots(Collection::Recipients); ++k) {
    ValueKey d{FieldId::RecipientDomain, "", k};
    all_ours.push_back(z3::implies(m_.present(FieldId::RecipientDomain, "", k), ours(m_.text(d))));
  }
  z3::expr mine = sender_ours && authorised;
  auto id = [&](vm::Direction d) { return ctx_.int_val(static_cast<int>(d)); };
  return z3::ite(!mine, id(vm::Direction::Inbound),
                 z3::ite(z3::mk_and(all_ours), id(vm::Direction::Internal), id(vm::Direction::Outbound)));
}

z3::expr PolicyEncoder::in_scope(const compiler::IrRule& r) {
  ValueKey rcpt{FieldId::Recipient, "", 0};
  z3::expr_vector any(ctx_);
  for (const auto& u : r.scope_users)
    any.push_back(m_.string_test(m_.text(rcpt) == string_constant(ctx_, u)));
  for (const auto& g : r.scope_groups) any.push_back(m_.free_bool("group|" + g));
  return m_.present(FieldId::Recipient, "", 0) && z3::mk_or(any);
}

namespace {

// The fields of the facts a condition reads.
void facts_read(const IrNode& n, std::set<FieldId>& out) {
  if (compiler::is_field_test(n.op) && vm::is_fact(n.field)) out.insert(n.field);
  for (const IrNumber* x : {&n.lhs, &n.rhs}) {
    if (x->kind == IrNumber::Kind::Field && vm::is_fact(x->field)) out.insert(x->field);
  }
  for (const auto& c : n.children) facts_read(c, out);
}

}  // namespace

// A fact that could not be computed (DNS timeout, the store down) stops the evaluation
// with tempfail at the first rule that reads it, when facts.on_temperror (and, for a
// state fact, state.on_error) says so. For a proof: each fact may have failed, and a
// reached rule that reads a failed one may stop there (whether it reads it depends on
// what its `and`/`or` decided first, so that is left open, the same for the same
// condition). A witness fails a fact by stating `temperror` for it (where it does not
// refuse to: MessageModel::refuse_failed_facts).
z3::expr PolicyEncoder::fact_tempfail(const compiler::IrRule& r) {
  const vm::Settings& s = image_.settings;
  if (s.on_temperror != vm::TempErrorPolicy::Tempfail) return ctx_.bool_val(false);
  std::set<FieldId> facts;
  facts_read(r.condition, facts);
  z3::expr_vector failed(ctx_);
  for (FieldId f : facts) {
    if (vm::is_state_fact(f) && s.state_on_error != vm::TempErrorPolicy::Tempfail) continue;
    if (m_.mode() == Mode::Prove) {
      failed.push_back(m_.fact_failed(f));
      continue;
    }
    const auto& vocabulary = vm::field_vocabulary(f);
    if (std::find(vocabulary.begin(), vocabulary.end(), "temperror") == vocabulary.end()) continue;
    // The values of f read (mx(sender.domain), mx(helo): each), which the map orders
    // by field first.
    for (auto it = m_.texts().lower_bound({f, "", 0}); it != m_.texts().end() && it->first.field == f; ++it) {
      if (!it->first.argument.starts_with('\x01'))
        failed.push_back(m_.string_test(it->second == string_constant(ctx_, "temperror")));
    }
  }
  if (failed.empty()) return ctx_.bool_val(false);
  return z3::mk_or(failed) && m_.free_bool("reads-failed|" + canonical(r.condition, image_, {}));
}

void PolicyEncoder::chain(double now) {
  const size_t n = module_.rules.size();
  size_t mandatory_end = 0;
  for (size_t i = 0; i < n; ++i) {
    if (vm::is_mandatory_stage(module_.stages[module_.rules[i].stage])) mandatory_end = i + 1;
  }
  z3::expr dir = direction();
  z3::expr decided = ctx_.bool_val(false), pending = ctx_.bool_val(false);
  std::vector<std::pair<z3::expr, vm::Action>> deciders;
  for (size_t i = 0; i < n; ++i) {
    const compiler::IrRule& r = module_.rules[i];
    z3::expr_vector directions(ctx_);
    for (int d = 0; d < 3; ++d) {
      if (r.directions & (1u << d)) directions.push_back(dir == ctx_.int_val(d));
    }
    z3::expr applies = z3::mk_or(directions);
    if (r.expires > 0 && now >= r.expires) applies = ctx_.bool_val(false);
    if (!r.scope_users.empty() || !r.scope_groups.empty()) applies = applies && in_scope(r);
    bool mandatory = vm::is_mandatory_stage(module_.stages[r.stage]) && i < mandatory_end;
    z3::expr reached = applies && !decided && (mandatory ? ctx_.bool_val(true) : !pending);
    applicable_.push_back(applies.simplify());
    reached_.push_back(reached.simplify());
    z3::expr failed = reached && fact_tempfail(r);
    deciders.emplace_back(failed, vm::Action::Tempfail);
    decided = decided || failed;
    z3::expr fires = reached && !failed && conditions_[i];
    fires_.push_back(fires.simplify());
    for (const auto& a : r.actions) {
      if (a.kind == lang::ActionKind::Score)
        score_ = score_ + z3::ite(fires, real(ctx_, a.score), ctx_.real_val(0));
    }
    if (!terminal(i)) continue;
    vm::Action action = *terminal_action(r.actions.back().kind);
    if (action == vm::Action::Allow && i + 1 < mandatory_end) {
      pending = pending || fires;  // the first allow stands unless a mandatory rule decides
      continue;
    }
    deciders.emplace_back(fires, action);
    decided = decided || fires;
  }
  auto act = [&](vm::Action a) { return ctx_.int_val(static_cast<int>(a)); };
  const vm::Settings& s = image_.settings;
  z3::expr by_score = z3::ite(score_ >= real(ctx_, s.reject_threshold), act(vm::Action::Reject),
                              z3::ite(score_ >= real(ctx_, s.quarantine_threshold),
                                      act(vm::Action::Quarantine), act(vm::Action::Deliver)));
  action_ = z3::ite(pending, act(vm::Action::Allow), by_score);
  for (auto it = deciders.rbegin(); it != deciders.rend(); ++it)
    action_ = z3::ite(it->first, act(it->second), action_);
}

}  // namespace mp::explore
