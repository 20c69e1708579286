// The string half of a witness search (strings.h).
#include "explore/strings.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <unordered_set>

#include "explore/isolated.h"
#include "explore/regex_smt.h"

namespace mp::explore {

namespace {

constexpr unsigned kFirstTryMs = 500;
constexpr unsigned kFallbackMs = 2000;
constexpr size_t kAlignments = 3;  // ways to lay a built text over a value's parts, tried in turn

bool by_size(const std::string& a, const std::string& b) {
  return a.size() < b.size();
}

// The uninterpreted constants (the model's variables) in `e`.
void variables(const z3::expr& e, std::vector<z3::expr>& out, std::unordered_set<unsigned>& seen) {
  if (!seen.insert(e.id()).second) return;
  if (e.is_const() && e.decl().decl_kind() == Z3_OP_UNINTERPRETED) {
    out.push_back(e);
    return;
  }
  if (!e.is_app()) return;
  for (unsigned i = 0; i < e.num_args(); ++i) variables(e.arg(i), out, seen);
}

std::vector<z3::expr> variables(const z3::expr& e) {
  std::vector<z3::expr> out;
  std::unordered_set<unsigned> seen;
  variables(e, out, seen);
  return out;
}

// The pieces of a concatenation, in order: string constants and the rest.
void concatenated(const z3::expr& e, std::vector<z3::expr>& out) {
  if (e.is_app() && e.decl().decl_kind() == Z3_OP_SEQ_CONCAT) {
    for (unsigned i = 0; i < e.num_args(); ++i) concatenated(e.arg(i), out);
    return;
  }
  out.push_back(e);
}

using Laid = std::vector<std::pair<z3::expr, std::string>>;  // a piece and its text

// `text` laid over pieces[start…] of a concatenation (aligned): each constant found in
// the text in turn and the piece before it given the text between; once the text has
// run out, when the value may go on past it (`open_end`), the constants stand after
// it. The pieces before `start` and those the text leaves "" around it get a filler.
std::optional<Laid> laid_from(const std::vector<z3::expr>& pieces, size_t start, std::string_view text,
                              bool open_end) {
  constexpr size_t kNone = SIZE_MAX;
  Laid out;
  size_t pending = kNone;  // the piece the text before the next constant goes to
  size_t at = 0, first_used = kNone, last_used = 0;
  auto used = [&](size_t piece) {
    first_used = std::min(first_used, piece);
    last_used = std::max(last_used, piece);
  };
  auto give_pending = [&](size_t end) {
    if (pending == kNone) return;
    out[pending].second = std::string(text.substr(at, end - at));
    if (end > at) used(pending);
    at = end;
    pending = kNone;
  };
  for (size_t i = 0; i < pieces.size(); ++i) {
    const z3::expr& piece = pieces[i];
    if (!piece.is_string_value()) {
      if (pending == kNone && i >= start) pending = out.size();
      out.emplace_back(piece, "");
      continue;
    }
    const std::string bytes = piece.get_string();
    out.emplace_back(piece, bytes);
    if (i < start) continue;
    const size_t found = at == text.size() ? std::string_view::npos : text.find(bytes, at);
    if (found == std::string_view::npos) {
      if (!open_end || (pending == kNone && at != text.size())) return std::nullopt;
      give_pending(text.size());  // the text ends before this constant
      continue;
    }
    if (pending == kNone && found != at) return std::nullopt;
    give_pending(found);
    at = found + bytes.size();
    used(out.size() - 1);
  }
  give_pending(text.size());
  if (at != text.size()) return std::nullopt;
  for (size_t i = 0; i < out.size(); ++i) {
    const bool around = i < first_used || (first_used != kNone && i > last_used);
    if (!out[i].first.is_string_value() && out[i].second.empty() && around)
      out[i].second.push_back('a');  // not = "a": GCC 12 warns wrongly (-Wrestrict)
  }
  std::erase_if(out, [](const auto& p) { return p.first.is_string_value(); });
  return out;
}

// Equalities that make `value`, a concatenation with constant pieces (local@domain,
// `"name" <local@domain>`, http://domain/path), hold `text`: laid over its pieces from
// the first, or from a later one when the value may have more before the text
// (`open_start`), a constant first (`@corp.example>` from the `@`, not all in the
// display name). Pieces left "" around the text get a filler, which their shapes (a
// local part, a domain: one byte at least) allow. Up to kAlignments ways, best first
// (`@paypal.com` in a From field: in the domain, else in the display name, when the
// domain may not be paypal.com); none when the value has no constant piece or the
// text cannot be laid over it.
std::vector<Laid> aligned(const z3::expr& value, std::string_view text, bool open_start, bool open_end) {
  std::vector<z3::expr> pieces;
  concatenated(value, pieces);
  auto constant = [](const z3::expr& e) { return e.is_string_value(); };
  if (std::none_of(pieces.begin(), pieces.end(), constant) ||
      std::all_of(pieces.begin(), pieces.end(), constant))
    return {};
  std::vector<size_t> starts{0};
  for (bool constants : {true, false}) {
    for (size_t i = 1; open_start && i < pieces.size(); ++i) {
      if (constant(pieces[i]) == constants) starts.push_back(i);
    }
  }
  std::vector<Laid> out;
  for (size_t start : starts) {
    if (auto laid = laid_from(pieces, start, text, open_end); laid && out.size() < kAlignments)
      out.push_back(std::move(*laid));
  }
  return out;
}

class UnionFind {
 public:
  unsigned add() {
    parent_.push_back(static_cast<unsigned>(parent_.size()));
    return parent_.back();
  }
  unsigned find(unsigned x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void join(unsigned a, unsigned b) { parent_[find(a)] = find(b); }

 private:
  std::vector<unsigned> parent_;
};

}  // namespace

struct StringSolver::Group {
  explicit Group(z3::context& ctx) : shapes(ctx) {}
  z3::expr_vector shapes;
  struct Tracker {
    z3::expr test, relation, yes, no;
    std::optional<MessageModel::KnownOf> known;
  };
  std::vector<Tracker> trackers;
  std::vector<z3::expr> variables;
  // Choices solved before (most rounds change one group's): the values, or the clause.
  std::map<std::vector<bool>, std::vector<std::pair<z3::func_decl, z3::expr>>> solved;
  std::map<std::vector<bool>, z3::expr> refuted;
};

StringSolver::~StringSolver() = default;

StringSolver::StringSolver(z3::context& ctx, const MessageModel& model, unsigned timeout_ms,
                           const Budget& budget)
    : ctx_(ctx), timeout_ms_(timeout_ms), budget_(budget), model_(ctx) {
  // Each constraint and test joins the groups of its variables.
  std::vector<z3::expr> items;
  for (const auto& c : model.string_constraints()) items.push_back(c);
  for (const auto& [test, relation] : model.string_tests()) items.push_back(relation);
  UnionFind sets;
  std::map<unsigned, unsigned> set_of;  // variable id → set
  std::vector<std::vector<z3::expr>> item_vars;
  std::vector<z3::expr> all_vars;
  for (const auto& item : items) {
    item_vars.push_back(variables(item));
    std::optional<unsigned> first;
    for (const auto& v : item_vars.back()) {
      auto [it, fresh] = set_of.try_emplace(v.id(), 0);
      if (fresh) {
        it->second = sets.add();
        all_vars.push_back(v);
      }
      if (first) sets.join(it->second, *first);
      first = sets.find(it->second);
    }
  }
  std::map<unsigned, Group*> by_root;
  auto group_of = [&](const std::vector<z3::expr>& vars) -> Group* {
    unsigned root = vars.empty() ? UINT32_MAX : sets.find(set_of.at(vars.front().id()));
    auto [it, fresh] = by_root.try_emplace(root, nullptr);
    if (fresh) {
      groups_.push_back(std::make_unique<Group>(ctx_));
      it->second = groups_.back().get();
    }
    return it->second;
  };
  for (const auto& v : all_vars) group_of({v})->variables.push_back(v);
  const size_t shapes = model.string_constraints().size();
  for (size_t i = 0; i < items.size(); ++i) {
    Group* g = group_of(item_vars[i]);
    if (i < shapes) {
      g->shapes.push_back(items[i]);
      continue;
    }
    const z3::expr& test = model.string_tests()[i - shapes].first;
    std::string n = std::to_string(i);
    z3::expr yes = ctx_.bool_const(("yes!" + n).c_str()), no = ctx_.bool_const(("no!" + n).c_str());
    g->trackers.push_back({test, items[i], yes, no, model.known_of(test)});
  }
}

// No time limit of its own: it is checked in a child, which the limit kills (isolated.h).
z3::solver StringSolver::fresh_solver(const char* engine) const {
  z3::solver s(ctx_);
  z3::params p(ctx_);
  p.set("string_solver", ctx_.str_symbol(engine));
  s.set(p);
  return s;
}

// A fresh solver for each choice: Z3's string solver stalls on check(assumptions)
// and after earlier checks where a fresh one answers at once.
z3::check_result StringSolver::solve(const z3::model& skeleton, std::vector<z3::expr>& lemmas,
                                     std::vector<z3::expr>& given_up) {
  model_ = z3::model(ctx_);
  bool unknown = false, refuted = false;
  for (auto& g : groups_) {
    std::vector<bool> holds;
    for (const auto& t : g->trackers) holds.push_back(skeleton.eval(t.test, true).is_true());
    if (auto it = g->refuted.find(holds); it != g->refuted.end()) {
      refuted = true;
      lemmas.push_back(it->second);
      continue;
    }
    auto it = g->solved.find(holds);
    if (it == g->solved.end()) {
      z3::check_result r = solve_group(*g, holds);
      if (r == z3::unsat) {
        refuted = true;
        lemmas.push_back(g->refuted.at(holds));
        continue;
      }
      if (r == z3::unknown) {
        unknown = true;
        given_up.push_back(choice_clause(*g, holds));
        continue;
      }
      it = g->solved.find(holds);
    }
    for (auto& [decl, value] : it->second) model_.add_const_interp(decl, value);
  }
  return refuted ? z3::unsat : unknown ? z3::unknown : z3::sat;
}

// Rules out exactly this choice of the group's tests.
z3::expr StringSolver::choice_clause(const Group& g, const std::vector<bool>& holds) const {
  z3::expr_vector differ(ctx_);
  for (size_t i = 0; i < g.trackers.size(); ++i)
    differ.push_back(holds[i] ? !g.trackers[i].test : g.trackers[i].test);
  return z3::mk_or(differ);
}

// Z3 4.8's two string engines fail on different problems (seq on a contains beside
// two not-contains, z3str3 on others, and z3str3 in a time that varies run to run):
// first the values the literals build, then seq briefly, then z3str3, then seq with
// the whole time limit — which a busy machine needs where an idle one answers at once.
z3::check_result StringSolver::solve_group(Group& g, const std::vector<bool>& holds) const {
  std::string tried;
  for (const char* separator : {" ", ""}) {  // a readable value first, if the value's shape allows spaces
    bool more = true;
    for (size_t alignment = 0; alignment < kAlignments && more; ++alignment) {
      z3::expr_vector built = built_values(g, holds, separator, alignment, more);
      std::string text = Z3_ast_vector_to_string(ctx_, built);
      if (built.empty() || text == tried) break;  // no literal holds, or no separator joined two
      if (check_choice(g, holds, "seq", std::min(timeout_ms_, kFirstTryMs), built) == z3::sat) return z3::sat;
      tried = text;
    }
  }
  const std::pair<const char*, unsigned> attempts[] = {{"seq", std::min(timeout_ms_, kFirstTryMs)},
                                                       {"z3str3", std::min(timeout_ms_, kFallbackMs)},
                                                       {"seq", timeout_ms_}};
  for (const auto& [engine, timeout] : attempts) {
    z3::check_result r = check_choice(g, holds, engine, timeout, z3::expr_vector(ctx_));
    if (r == z3::sat) return r;
    if (r == z3::unsat) {
      g.refuted.emplace(holds, refutation(g, holds));
      return r;
    }
  }
  return z3::unknown;
}

// The group's shapes, its tests as chosen and `extra`; sat records the values.
z3::check_result StringSolver::check_choice(Group& g, const std::vector<bool>& holds, const char* engine,
                                            unsigned timeout_ms, const z3::expr_vector& extra) const {
  if (budget_.over()) return z3::unknown;  // not even a fork: 5 ms limits overran a budget by 2.8 s
  z3::solver s = fresh_solver(engine);
  s.add(g.shapes);
  for (size_t i = 0; i < g.trackers.size(); ++i) {
    // Asserted as chosen, and once more with the other tests' relations in it as chosen
    // too (a From field's form, model.cpp): the one value the choice leaves.
    const z3::expr& relation = g.trackers[i].relation;
    s.add(holds[i] ? relation : !relation);
    const z3::expr simpler = as_chosen(g, holds, relation, i);
    if (!z3::eq(simpler, relation)) s.add(holds[i] ? simpler : !simpler);
  }
  s.add(extra);
  ChildCheck c = check_in_child(s, z3::expr_vector(ctx_), g.variables, budget_.limit_ms(timeout_ms));
  if (c.result == z3::sat) {
    auto& values = g.solved[holds];
    for (size_t i = 0; i < g.variables.size(); ++i) values.emplace_back(g.variables[i].decl(), c.values[i]);
  }
  return c.result;
}

// A value each literal test the choice holds builds: `is "x"` gives x; else the
// longest prefix, then each contained text not in it yet (and a short match of each
// regex test it holds), then the longest suffix, joined by `separator` (caseless ones
// as written); "" for a value none of whose tests holds. Equalities for the solver to
// check, not facts: a value they cannot satisfy (two different prefixes, a
// not-contains the joined text meets) leaves the search to the solver. A value
// written from parts gets the text laid over them, the `alignment`th way (aligned);
// `more` says whether some value has a later way.
z3::expr_vector StringSolver::built_values(const Group& g, const std::vector<bool>& holds,
                                           std::string_view separator, size_t alignment, bool& more) const {
  more = false;
  struct Parts {
    z3::expr value;
    std::optional<std::string> is;
    std::string prefix, suffix;
    std::vector<std::string> contained;
  };
  std::vector<Parts> values;
  for (size_t i = 0; i < g.trackers.size(); ++i) {
    const auto& known = g.trackers[i].known;
    if (!known) continue;
    auto it = std::find_if(values.begin(), values.end(),
                           [&](const Parts& p) { return z3::eq(p.value, known->value); });
    if (it == values.end()) it = values.insert(values.end(), Parts{known->value, {}, {}, {}, {}});
    if (!holds[i]) continue;  // a value no test of which holds is ""
    if (!known->known.literal) {
      if (auto match = regex_member(known->known.regex->search)) it->contained.push_back(*match);
      continue;
    }
    const std::string& b = known->known.literal->bytes;
    switch (known->known.literal->kind) {
      case LiteralTest::Kind::Is: it->is = b; break;
      case LiteralTest::Kind::StartsWith: it->prefix = std::max(it->prefix, b, by_size); break;
      case LiteralTest::Kind::EndsWith: it->suffix = std::max(it->suffix, b, by_size); break;
      case LiteralTest::Kind::Contains: it->contained.push_back(b); break;
    }
  }
  z3::expr_vector built(ctx_);
  for (const auto& p : values) {
    std::string text = p.prefix;
    auto join = [&](const std::string& piece) {
      if (!text.empty() && !piece.empty()) text += separator;
      text += piece;
    };
    for (const auto& c : p.contained) {
      if (text.find(c) == std::string::npos && p.suffix.find(c) == std::string::npos) join(c);
    }
    join(p.suffix);
    const std::string whole = p.is.value_or(text);
    auto ways =
        aligned(as_chosen(g, holds, p.value), whole, !p.is && p.prefix.empty(), !p.is && p.suffix.empty());
    if (ways.empty()) {
      built.push_back(p.value == string_constant(ctx_, whole));
      continue;
    }
    more = more || alignment + 1 < ways.size();
    for (const auto& [piece, part] : ways[std::min(alignment, ways.size() - 1)])
      built.push_back(piece == string_constant(ctx_, part));
  }
  return built;
}

// `value` with the tests' relations it holds (a From field's `ite(name == "", …)`,
// model.cpp) written as the choice has them, simplified: the one form it takes.
z3::expr StringSolver::as_chosen(const Group& g, const std::vector<bool>& holds, const z3::expr& value,
                                 size_t except) const {
  z3::expr_vector from(ctx_), to(ctx_);
  for (size_t i = 0; i < g.trackers.size(); ++i) {
    if (i == except) continue;
    from.push_back(g.trackers[i].relation);
    to.push_back(ctx_.bool_val(holds[i]));
  }
  z3::expr written = z3::expr(value).substitute(from, to);
  return z3::eq(written, value) ? value : written.simplify();
}

// The clause that rules out this choice: from the unsat core of the tests when the
// solver finds one, else the whole choice.
z3::expr StringSolver::refutation(const Group& g, const std::vector<bool>& holds) const {
  z3::expr_vector choice(ctx_);
  z3::solver s = fresh_solver("seq");
  s.add(g.shapes);
  for (size_t i = 0; i < g.trackers.size(); ++i) {
    const auto& t = g.trackers[i];
    s.add(z3::implies(t.yes, t.relation));
    s.add(z3::implies(t.no, !t.relation));
    choice.push_back(holds[i] ? t.yes : t.no);
  }
  ChildCheck checked;  // past the budget: the whole choice, which is refuted
  if (!budget_.over()) checked = check_in_child(s, choice, {}, budget_.limit_ms(timeout_ms_));
  z3::expr_vector core(ctx_);
  for (unsigned i : checked.core) core.push_back(choice[i]);
  if (checked.result != z3::unsat) core = choice;
  z3::expr_vector differ(ctx_);
  for (unsigned i = 0; i < core.size(); ++i) {
    for (const auto& t : g.trackers) {
      if (z3::eq(core[i], t.yes)) differ.push_back(!t.test);
      if (z3::eq(core[i], t.no)) differ.push_back(t.test);
    }
  }
  return z3::mk_or(differ);
}

}  // namespace mp::explore
