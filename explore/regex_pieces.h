// explore-internal: the pieces regex_smt.cpp builds a pattern's language from, with
// what PCRE's \b (a word boundary, ASCII words outside UTF-8 mode) needs of the bytes
// beside each. A \b is settled where two pieces meet, by the bytes the one ends and the
// other starts with; at the edge of the match it stays a requirement on the byte
// outside, which the search around the match states (regex_smt.cpp).
#pragma once

#include <z3++.h>

#include <bitset>
#include <optional>
#include <vector>

namespace mp::explore {

using Bytes = std::bitset<256>;
Bytes word_bytes();  // [A-Za-z0-9_], PCRE's \w

// What a \b needs beside a match: a word byte, or a non-word byte or the value's edge.
enum class Side { Word, NonWord };

// One alternative of a piece.
struct Variant {
  z3::expr re;
  Bytes first, last;                  // the bytes its values can start and end with
  bool nullable = false;              // it matches ""
  bool open = false;                  // a bare \b: "", with neither side known yet
  std::optional<Side> before, after;  // what the byte before (after) a match must be
};

// The union of its variants (none: the empty language), kept apart where a \b may
// yet need their first or last bytes: `\b(free|\$5)\b` needs a non-word byte after
// "free" and a word byte after "$5".
using Piece = std::vector<Variant>;

class PieceAlgebra {
 public:
  explicit PieceAlgebra(z3::context& ctx) : ctx_(ctx) {}
  Piece epsilon() const;
  Piece boundary() const;  // \b
  // The bytes of `set` (case already folded), whose language is `re`.
  static Piece bytes(const Bytes& set, const z3::expr& re) {
    return {Variant{re, set, set, false, false, {}, {}}};
  }
  // `a` then `b`; nullopt when a \b between them is beside a piece that may be empty or
  // that ends (starts) with both kinds of byte: not translated.
  std::optional<Piece> concat(const Piece& a, const Piece& b) const;
  static Piece alternatives(Piece a, const Piece& b);
  // The piece as one variant, for a repeat; nullopt when a \b in it is unsettled.
  std::optional<Variant> merged(const Piece& p) const;
  z3::expr language(const Piece& p) const;  // the union of the variants

 private:
  // nullopt: not translated; an empty optional inside: the two meet in no value.
  std::optional<std::optional<Variant>> join(const Variant& a, const Variant& b) const;
  z3::context& ctx_;
};

}  // namespace mp::explore
