// The pieces of a translated pattern and PCRE's \b between them (regex_pieces.h).
#include "explore/regex_pieces.h"

#include <cctype>
#include <map>
#include <tuple>

namespace mp::explore {

namespace {

// Variants past this many are merged where their requirements agree (a \b beside
// them may then be untranslated, never wrong).
constexpr size_t kMaxVariants = 64;

z3::sort regex_sort(z3::context& ctx) {
  z3::sort s = ctx.string_sort();
  return ctx.re_sort(s);
}

// The side of a \b these bytes stand on, nullopt for both kinds.
std::optional<Side> side_of(const Bytes& bytes) {
  if ((bytes & ~word_bytes()).none()) return Side::Word;
  if ((bytes & word_bytes()).none()) return Side::NonWord;
  return std::nullopt;
}

// The side a \b wants beside a byte of `side`.
Side other(Side side) {
  return side == Side::Word ? Side::NonWord : Side::Word;
}

bool pure_epsilon(const Variant& v) {
  return v.nullable && v.first.none() && !v.open && !v.before && !v.after;
}

// `v` with `need` before it (after it when `after`); an empty optional for a conflict.
std::optional<Variant> require(Variant v, Side need, bool after) {
  std::optional<Side>& slot = after ? v.after : v.before;
  if (slot && *slot != need) return std::nullopt;
  slot = need;
  return v;
}

// Whether `v`'s start (end) meets `need`: nullopt when it may be empty or starts
// with both kinds of byte.
std::optional<bool> meets(const Variant& v, Side need, bool at_start) {
  if (v.nullable) return std::nullopt;
  std::optional<Side> side = side_of(at_start ? v.first : v.last);
  if (!side) return std::nullopt;
  return *side == need;
}

Variant merge(std::vector<Variant> vs, z3::context& ctx) {
  Variant out = vs.front();
  z3::expr_vector res(ctx);
  for (const auto& v : vs) {
    res.push_back(v.re);
    out.first |= v.first;
    out.last |= v.last;
    out.nullable = out.nullable || v.nullable;
  }
  if (res.size() == 1) return out;
  std::vector<Z3_ast> args;
  for (unsigned i = 0; i < res.size(); ++i) args.push_back(res[i]);
  Z3_ast r = Z3_mk_re_union(ctx, static_cast<unsigned>(args.size()), args.data());
  ctx.check_error();
  out.re = z3::expr(ctx, r);
  return out;
}

}  // namespace

Bytes word_bytes() {
  Bytes b;
  for (int c = 0; c < 256; ++c) b[c] = std::isalnum(c) || c == '_';
  return b;
}

Piece PieceAlgebra::epsilon() const {
  return {Variant{z3::to_re(ctx_.string_val("")), {}, {}, true, false, {}, {}}};
}

Piece PieceAlgebra::boundary() const {
  Piece p = epsilon();
  p[0].open = true;
  return p;
}

std::optional<std::optional<Variant>> PieceAlgebra::join(const Variant& a, const Variant& b) const {
  using Joined = std::optional<std::optional<Variant>>;
  if (a.open && b.open) return Joined(a);  // \b\b
  if (a.open || b.open) {
    const Variant &bare = a.open ? a : b, &other_side = a.open ? b : a;
    if (pure_epsilon(other_side)) return Joined(bare);
    const bool b_is_bare = b.open;  // the \b after `a`: it needs a byte after a
    if (other_side.nullable) return std::nullopt;
    std::optional<Side> side = side_of(b_is_bare ? a.last : b.first);
    if (!side) return std::nullopt;
    return Joined(require(other_side, other(*side), b_is_bare));
  }
  if (pure_epsilon(a)) return Joined(b);
  if (pure_epsilon(b)) return Joined(a);
  for (auto [v, need, at_start] : {std::tuple{&b, a.after, true}, std::tuple{&a, b.before, false}}) {
    if (!need) continue;
    std::optional<bool> met = meets(*v, *need, at_start);
    if (!met) return std::nullopt;
    if (!*met) return Joined(std::optional<Variant>());
  }
  return Joined(Variant{z3::concat(a.re, b.re), a.first | (a.nullable ? b.first : Bytes()),
                        b.last | (b.nullable ? a.last : Bytes()), a.nullable && b.nullable, false, a.before,
                        b.after});
}

std::optional<Piece> PieceAlgebra::concat(const Piece& a, const Piece& b) const {
  Piece out;
  for (const auto& x : a) {
    for (const auto& y : b) {
      auto joined = join(x, y);
      if (!joined) return std::nullopt;
      if (*joined) out.push_back(**joined);
    }
  }
  if (out.size() <= kMaxVariants) return out;
  std::map<std::tuple<bool, std::optional<Side>, std::optional<Side>>, std::vector<Variant>> by_need;
  for (auto& v : out) by_need[{v.open, v.before, v.after}].push_back(std::move(v));
  if (by_need.size() > kMaxVariants) return std::nullopt;
  Piece merged;
  for (auto& [need, vs] : by_need) merged.push_back(merge(std::move(vs), ctx_));
  return merged;
}

Piece PieceAlgebra::alternatives(Piece a, const Piece& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::optional<Variant> PieceAlgebra::merged(const Piece& p) const {
  if (p.empty()) return Variant{z3::re_empty(regex_sort(ctx_)), {}, {}, false, false, {}, {}};
  for (const auto& v : p) {
    if (v.open || v.before || v.after) return std::nullopt;
  }
  return merge(p, ctx_);
}

z3::expr PieceAlgebra::language(const Piece& p) const {
  if (p.empty()) return z3::re_empty(regex_sort(ctx_));
  return merge(p, ctx_).re;
}

}  // namespace mp::explore
