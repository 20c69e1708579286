// PCRE → Z3 regular expressions (regex_smt.h). Character sets are built as 256-bit
// sets of bytes first, so that case folding, negation and `.` are exact set
// operations, then written as unions of Z3 ranges.
#include "explore/regex_smt.h"

#include <hs/hs.h>

#include <algorithm>
#include <bitset>
#include <cctype>
#include <cstdio>

#include "explore/regex_anchors.h"
#include "explore/regex_pieces.h"
#include "vm/regex_syntax.h"

namespace mp::explore {

namespace {

z3::sort regex_sort(z3::context& ctx) {
  z3::sort s = ctx.string_sort();
  return ctx.re_sort(s);
}

// The union of `v`; the empty language for none.
z3::expr re_union(z3::context& ctx, const z3::expr_vector& v) {
  if (v.empty()) return z3::re_empty(regex_sort(ctx));
  if (v.size() == 1) return v[0];
  std::vector<Z3_ast> args;
  for (unsigned i = 0; i < v.size(); ++i) args.push_back(v[i]);
  Z3_ast r = Z3_mk_re_union(ctx, static_cast<unsigned>(args.size()), args.data());
  ctx.check_error();
  return z3::expr(ctx, r);
}

std::string escaped(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (std::isalnum(c) || c == ' ') {
      out += static_cast<char>(c);
    } else {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u{%x}", c);
      out += buf;
    }
  }
  return out;
}

Bytes with_other_case(Bytes set) {
  for (int c = 'a'; c <= 'z'; ++c) {
    if (set[c] || set[c - 32]) set.set(c).set(c - 32);
  }
  return set;
}

Bytes range(int lo, int hi) {
  Bytes b;
  for (int c = lo; c <= hi; ++c) b.set(c);
  return b;
}

Bytes digits() {
  return range('0', '9');
}

// The bytes of a POSIX class item (`[:alpha:]`, `[:^digit:]`) as PCRE2's default
// tables have them (pcre2pattern(3), "Posix character classes"); caseless, `upper` and
// `lower` are `alpha`, as pcre2_compile.c reads them. Nothing for `[.x.]`, `[=x=]` and
// unknown names, which PCRE2 refuses.
std::optional<Bytes> posix_class(std::string_view item, bool caseless) {
  if (item.size() < 5 || item[1] != ':') return std::nullopt;
  std::string_view name = item.substr(2, item.size() - 4);
  const bool negated = name.starts_with('^');
  if (negated) name.remove_prefix(1);
  if (caseless && (name == "upper" || name == "lower")) name = "alpha";
  const Bytes upper = range('A', 'Z'), lower = range('a', 'z'), digit = digits();
  const Bytes alnum = upper | lower | digit, graph = range(33, 126);
  const std::pair<std::string_view, Bytes> classes[] = {
      {"alpha", upper | lower},
      {"digit", digit},
      {"alnum", alnum},
      {"upper", upper},
      {"lower", lower},
      {"word", Bytes(alnum).set('_')},
      {"xdigit", digit | range('A', 'F') | range('a', 'f')},
      {"space", range(9, 13).set(' ')},
      {"blank", Bytes().set('\t').set(' ')},
      {"cntrl", range(0, 31).set(127)},
      {"graph", graph},
      {"print", Bytes(graph).set(' ')},
      {"punct", graph & ~alnum},
      {"ascii", range(0, 127)},
  };
  for (const auto& [known, bytes] : classes) {
    if (known == name) return negated ? ~bytes : bytes;
  }
  return std::nullopt;
}
Bytes words() {
  return word_bytes();
}
Bytes spaces() {
  Bytes b;
  for (char c : std::string_view(" \t\n\r\f\v")) b.set(static_cast<unsigned char>(c));
  return b;
}

class Parser {
 public:
  Parser(z3::context& ctx, const vm::PatternInfo& p, const Bytes& alphabet = Bytes().set())
      : ctx_(ctx),
        pieces_(ctx),
        alphabet_(alphabet),
        s_(p.expression),
        caseless_(p.hs_flags & HS_FLAG_CASELESS),
        dotall_(p.hs_flags & HS_FLAG_DOTALL),
        multiline_(p.hs_flags & HS_FLAG_MULTILINE),
        utf8_(p.hs_flags & (HS_FLAG_UTF8 | HS_FLAG_UCP)) {}

  // exact: the pattern must match the whole value and has no anchors (witness shapes).
  std::optional<z3::expr> language(bool exact = false) {
    z3::expr_vector branches(ctx_);
    leading_options();
    if (auto plain = normalised(s_.substr(i_), extended_)) {
      rewritten_ = std::move(*plain);
      s_ = rewritten_;
      i_ = 0;
    }
    do {
      bool start = false, end = false, line_start = false;
      strict_end_ = false;  // per branch: `x\z|b$` allows a final newline after b
      if (peek() == '^') {
        ++i_;
        start = true;
        line_start = multiline_;
      } else if (s_.substr(i_, 2) == "\\A") {
        i_ += 2;
        start = true;
      }
      auto body = sequence(0, &end);
      if (!body) return std::nullopt;
      for (const Variant& v : *body) {
        if (v.open || (exact && (start || end || v.before || v.after))) return std::nullopt;
        if (exact) {
          branches.push_back(v.re);
          continue;
        }
        // Under MULTILINE, `$` is also just before a line break, and `^` just after one
        // that is not the last byte (pcre2pattern(3), "Circumflex and dollar").
        const z3::expr line_break = lit("\n");
        z3::expr head = start ? epsilon() : full();
        z3::expr tail = !end                              ? full()
                        : strict_end_ || !alphabet_['\n'] ? epsilon()
                        : multiline_                      ? z3::option(z3::concat(line_break, full()))
                                                          : z3::option(line_break);
        if (v.before) head = start ? (*v.before == Side::NonWord ? head : empty()) : before(*v.before);
        if (v.after) tail = end ? (*v.after == Side::NonWord ? tail : empty()) : after(*v.after);
        z3::expr branch = z3::concat(z3::concat(head, v.re), tail);
        if (line_start) {
          z3::expr_vector after_break(ctx_), either(ctx_);
          after_break.push_back(branch);
          after_break.push_back(z3::concat(set_language(Bytes().set()), full()));  // not empty
          either.push_back(branch);
          either.push_back(z3::concat(z3::concat(full(), line_break), z3::re_intersect(after_break)));
          branch = alternatives(either);
        }
        branches.push_back(branch);
      }
    } while (take('|'));
    if (i_ != s_.size() || ((wide_ || boundary_) && utf8_)) return std::nullopt;
    return alternatives(branches);
  }

 private:
  // `(?i)`, `(?s)`, `(?m)` and their combinations at the very start: the pattern's
  // flags, as written inline (elsewhere an inline option is not translated).
  void leading_options() {
    size_t close = s_.find(')');
    if (!s_.starts_with("(?") || close == std::string_view::npos || close == 2) return;
    std::string_view letters = s_.substr(2, close - 2);
    if (letters.find_first_not_of("ismx") != std::string_view::npos) return;
    extended_ = letters.find('x') != std::string_view::npos;
    caseless_ = caseless_ || letters.find('i') != std::string_view::npos;
    dotall_ = dotall_ || letters.find('s') != std::string_view::npos;
    multiline_ = multiline_ || letters.find('m') != std::string_view::npos;
    i_ = close + 1;
  }
  int peek() const { return i_ < s_.size() ? static_cast<unsigned char>(s_[i_]) : -1; }
  bool take(char c) {
    if (peek() != static_cast<unsigned char>(c)) return false;
    ++i_;
    return true;
  }
  z3::expr lit(std::string_view bytes) { return z3::to_re(string_constant(ctx_, bytes)); }
  z3::expr epsilon() { return lit(""); }
  z3::expr empty() { return z3::re_empty(regex_sort(ctx_)); }
  z3::expr full() { return z3::re_full(regex_sort(ctx_)); }
  // The text before a match whose \b needs a `side` character before it (the start of
  // the value counts as a non-word one), and after it.
  z3::expr before(Side side) {
    z3::expr word = set_language(words()), non_word = set_language(~words());
    return side == Side::Word ? z3::concat(full(), word) : z3::option(z3::concat(full(), non_word));
  }
  z3::expr after(Side side) {
    z3::expr word = set_language(words()), non_word = set_language(~words());
    return side == Side::Word ? z3::concat(word, full()) : z3::option(z3::concat(non_word, full()));
  }
  Piece set_piece(Bytes set) {
    if (caseless_) set = with_other_case(set);
    set &= alphabet_;
    return PieceAlgebra::bytes(set, set_language(set));
  }
  z3::expr alternatives(const z3::expr_vector& v) { return re_union(ctx_, v); }
  z3::expr set_language(Bytes set) {
    if (caseless_) set = with_other_case(set);
    set &= alphabet_;
    if (set.count() == 1) {
      char c = static_cast<char>(set._Find_first());
      return lit({&c, 1});
    }
    z3::expr_vector parts(ctx_);
    for (int c = 0; c < 256;) {
      if (!set[c]) {
        ++c;
        continue;
      }
      int hi = c;
      while (hi + 1 < 256 && set[hi + 1]) ++hi;
      char lo_ch = static_cast<char>(c), hi_ch = static_cast<char>(hi);
      Z3_ast r = Z3_mk_re_range(ctx_, string_constant(ctx_, {&lo_ch, 1}), string_constant(ctx_, {&hi_ch, 1}));
      ctx_.check_error();
      parts.push_back(z3::expr(ctx_, r));
      c = hi + 1;
    }
    return alternatives(parts);
  }

  // Items up to `|`, `)` or the end. `end` (top level only): a `$` closed the branch.
  std::optional<Piece> sequence(int depth, bool* end) {
    Piece seq = pieces_.epsilon();
    while (i_ < s_.size() && peek() != '|' && peek() != ')') {
      if (s_.substr(i_, 2) == "\\z" && depth == 0 && (i_ + 2 == s_.size() || s_[i_ + 2] == '|')) {
        i_ += 2;
        *end = true;
        strict_end_ = true;  // \z: the very end, no final newline allowed
        break;
      }
      if (peek() == '$') {
        ++i_;
        if (depth > 0 || (i_ < s_.size() && peek() != '|')) return std::nullopt;
        *end = true;
        break;
      }
      std::optional<Piece> item;
      if (s_.substr(i_, 2) == "\\b") {
        i_ += 2;
        if (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{')
          return std::nullopt;  // a repeated assertion
        boundary_ = true;
        item = pieces_.boundary();
      } else if (auto a = atom(depth)) {
        item = quantified(*a);
      }
      if (item) item = pieces_.concat(seq, *item);
      if (!item) return std::nullopt;
      seq = std::move(*item);
    }
    return seq;
  }

  std::optional<Piece> group(int depth) {
    if (take('?')) {
      if (take(':')) {
      } else if (take('<') || (take('P') && take('<'))) {
        if (peek() == '=' || peek() == '!') return std::nullopt;  // look-behind
        while (i_ < s_.size() && s_[i_] != '>') ++i_;
        if (!take('>')) return std::nullopt;
      } else {
        return std::nullopt;  // look-ahead, options, recursion, comments
      }
    }
    Piece branches;
    do {
      bool end = false;
      auto b = sequence(depth + 1, &end);
      if (!b) return std::nullopt;
      branches = PieceAlgebra::alternatives(std::move(branches), *b);
    } while (take('|'));
    if (!take(')')) return std::nullopt;
    return branches;
  }

  std::optional<Piece> atom(int depth) {
    int c = peek();
    ++i_;
    switch (c) {
      case '(': return group(depth);
      case '[': {
        auto set = char_class();
        if (!set) return std::nullopt;
        return set_piece(*set);
      }
      case '.': {
        wide_ = true;
        Bytes any;
        any.set();
        if (!dotall_) any.reset('\n');
        return set_piece(any);
      }
      case '\\': {
        auto set = escape(false);
        if (!set) return std::nullopt;
        return set_piece(*set);
      }
      case '^': return std::nullopt;  // not at the start of a branch
      case '*':
      case '+':
      case '?': return std::nullopt;  // nothing to repeat
      default: {
        if (c >= 0x80) wide_ = true;
        Bytes b;
        b.set(static_cast<size_t>(c));
        return set_piece(b);
      }
    }
  }

  // After a backslash; `in_class`: \b is a backspace there. Sets wide_ for the negated
  // shorthand classes (they match bytes of multi-byte characters too).
  std::optional<Bytes> escape(bool in_class) {
    int c = peek();
    if (c < 0) return std::nullopt;
    ++i_;
    Bytes b;
    switch (c) {
      case 'd': return digits();
      case 'w': return words();
      case 's': return spaces();
      case 'D': wide_ = true; return ~digits();
      case 'W': wide_ = true; return ~words();
      case 'S': wide_ = true; return ~spaces();
      case 't': return b.set('\t');
      case 'n': return b.set('\n');
      case 'r': return b.set('\r');
      case 'f': return b.set('\f');
      case 'v':  // vertical whitespace, as PCRE2 and Hyperscan read it: \n \v \f \r and NEL
        wide_ = true;
        return range('\n', '\r').set(0x85);
      case 'e': return b.set(27);
      case 'a': return b.set(7);
      case 'b':  // a backspace in a class; outside one sequence() reads \b first
        if (in_class) return b.set(8);
        return std::nullopt;
      case 'x': {
        if (peek() == '{') return std::nullopt;
        int value = 0, n = 0;
        while (n < 2 && std::isxdigit(peek())) {
          value = value * 16 + (std::isdigit(peek()) ? peek() - '0' : std::tolower(peek()) - 'a' + 10);
          ++i_;
          ++n;
        }
        if (value >= 0x80) wide_ = true;
        return b.set(static_cast<size_t>(value));
      }
      default:
        if (std::isalnum(c)) return std::nullopt;  // \b \A \z \p{…} \1 \Q …: not translated
        return b.set(static_cast<size_t>(c));
    }
  }

  std::optional<Bytes> char_class() {
    Bytes set;
    bool negated = take('^');
    bool first = true;
    while (i_ < s_.size() && (first || peek() != ']')) {
      first = false;
      // A `[` that opens no POSIX item (vm/regex_syntax.h) is a member.
      if (const size_t end = vm::posix_item_end(s_, i_); end != std::string_view::npos) {
        auto item = posix_class(s_.substr(i_, end - i_), caseless_);
        if (!item) return std::nullopt;
        if ((*item)[0x80]) wide_ = true;
        set |= *item;
        i_ = end;
        continue;
      }
      std::optional<Bytes> item;
      int lo = -1;
      if (take('\\')) {
        item = escape(true);
        if (!item) return std::nullopt;
        if (item->count() == 1) lo = static_cast<int>(item->_Find_first());
      } else {
        lo = peek();
        ++i_;
        item = Bytes().set(static_cast<size_t>(lo));
        if (lo >= 0x80) wide_ = true;
      }
      if (lo >= 0 && peek() == '-' && i_ + 1 < s_.size() && s_[i_ + 1] != ']') {
        ++i_;
        int hi;
        if (take('\\')) {
          auto e = escape(true);
          if (!e || e->count() != 1) return std::nullopt;
          hi = static_cast<int>(e->_Find_first());
        } else {
          hi = peek();
          ++i_;
        }
        if (hi < lo) return std::nullopt;
        if (hi >= 0x80) wide_ = true;
        item = range(lo, hi);
      }
      set |= *item;
    }
    if (!take(']')) return std::nullopt;
    if (negated) {
      wide_ = true;
      return ~(caseless_ ? with_other_case(set) : set);
    }
    return set;
  }

  std::optional<Piece> quantified(Piece item) {
    unsigned lo = 0, hi = 0;
    bool bounded = true;
    size_t save = i_;
    if (take('*')) {
      bounded = false;
    } else if (take('+')) {
      lo = 1;
      bounded = false;
    } else if (take('?')) {
      hi = 1;
    } else if (take('{')) {
      if (peek() == ',') return std::nullopt;  // `{,N}`: PCRE2 releases read it differently
      if (!std::isdigit(peek())) {
        i_ = save;  // a literal `{`
        return item;
      }
      if (!number(lo)) return std::nullopt;  // a count past 10000: not translated
      hi = lo;
      if (take(',')) {
        if (peek() == '}')
          bounded = false;
        else if (!number(hi))
          return std::nullopt;
      }
      if (!take('}') || (bounded && hi < lo)) {
        i_ = save;
        return item;
      }
    } else {
      return item;
    }
    if (take('+')) return std::nullopt;  // possessive: a different language
    take('?');                           // lazy: the same language
    if (bounded && hi == 0) return pieces_.epsilon();  // `{0}`: Z3's loop reads an upper bound 0 as none
    if (bounded && lo == 0 && hi == 1)
      return PieceAlgebra::alternatives(item, pieces_.epsilon());  // keeps \b apart
    std::optional<Variant> one = pieces_.merged(item);
    if (!one) return std::nullopt;  // a repeat of an unsettled \b
    Variant out = *one;
    out.nullable = one->nullable || lo == 0;
    if (!bounded && lo == 0) {
      out.re = z3::star(one->re);
    } else if (!bounded && lo == 1) {
      out.re = z3::plus(one->re);
    } else {
      Z3_ast r = bounded ? Z3_mk_re_loop(ctx_, one->re, lo, hi) : Z3_mk_re_loop(ctx_, one->re, lo, 0);
      ctx_.check_error();
      out.re = z3::expr(ctx_, r);
      if (!bounded) out.re = z3::concat(out.re, z3::star(one->re));
    }
    return Piece{out};
  }

  bool number(unsigned& out) {
    if (!std::isdigit(peek())) return false;
    out = 0;
    while (std::isdigit(peek())) {
      out = out * 10 + static_cast<unsigned>(peek() - '0');
      if (out > 10000) return false;
      ++i_;
    }
    return true;
  }

  z3::context& ctx_;
  PieceAlgebra pieces_;
  Bytes alphabet_;  // the bytes a value may have: the others match nothing
  std::string_view s_;
  std::string rewritten_;  // the pattern normalised (regex_anchors.h)
  size_t i_ = 0;
  bool caseless_, dotall_, multiline_, utf8_;
  bool strict_end_ = false;
  bool extended_ = false;      // a leading (?x): blanks and # comments are not the pattern's
  bool boundary_ = false;      // the pattern has \b (ASCII words here; UTF-8 mode reads others)
  bool wide_ = false;          // it has something that reads UTF-8 differently from bytes
};

}  // namespace

z3::expr string_constant(z3::context& ctx, std::string_view bytes) {
  Z3_ast r = Z3_mk_string(ctx, escaped(bytes).c_str());
  ctx.check_error();
  return z3::expr(ctx, r);
}

std::optional<z3::expr> pattern_language(z3::context& ctx, const vm::PatternInfo& pattern,
                                         const std::bitset<256>& alphabet) {
  return Parser(ctx, pattern, alphabet).language();
}

bool context_free(z3::context& ctx, const vm::PatternInfo& pattern) {
  return Parser(ctx, pattern).language(true).has_value();  // whole-value: no anchors
}

std::optional<LiteralTest> literal_pattern(const vm::PatternInfo& p) {
  if (p.hs_flags & (HS_FLAG_UTF8 | HS_FLAG_UCP)) return std::nullopt;
  std::string_view e = p.expression;
  const bool start = e.starts_with("\\A");
  if (start) e.remove_prefix(2);
  const bool end = e.ends_with("\\z");
  if (end) e.remove_suffix(2);
  LiteralTest out;
  out.caseless = p.hs_flags & HS_FLAG_CASELESS;
  out.kind = start && end ? LiteralTest::Kind::Is
             : start      ? LiteralTest::Kind::StartsWith
             : end        ? LiteralTest::Kind::EndsWith
                          : LiteralTest::Kind::Contains;
  for (size_t i = 0; i < e.size();) {
    if (std::isalnum(static_cast<unsigned char>(e[i]))) {
      out.bytes += e[i++];
    } else if (e.substr(i, 2) == "\\x" && i + 4 <= e.size() &&
               std::isxdigit(static_cast<unsigned char>(e[i + 2])) &&
               std::isxdigit(static_cast<unsigned char>(e[i + 3]))) {
      out.bytes += static_cast<char>(std::stoi(std::string(e.substr(i + 2, 2)), nullptr, 16));
      i += 4;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

z3::expr exact_language(z3::context& ctx, std::string_view pcre) {
  vm::PatternInfo p;
  p.expression = std::string(pcre);
  auto language = Parser(ctx, p).language(true);
  if (!language) throw std::logic_error("not a translatable shape: " + p.expression);
  return *language;
}

namespace {

bool printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// The byte of [lo, hi] a reader would pick: a letter, a digit, a space, other printable.
char range_member(unsigned char lo, unsigned char hi) {
  for (auto [a, b] : {std::pair{'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {' ', ' '}, {'!', '~'}}) {
    if (lo <= static_cast<unsigned char>(b) && hi >= static_cast<unsigned char>(a))
      return static_cast<char>(std::max(lo, static_cast<unsigned char>(a)));
  }
  return static_cast<char>(lo);
}

constexpr unsigned kMaxMemberRepeats = 100;

}  // namespace

std::optional<std::string> regex_member(const z3::expr& re) {
  if (!re.is_app()) return std::nullopt;
  Z3_decl_kind kind = re.decl().decl_kind();
  if (kind == Z3_OP_INTERNAL && re.decl().name().str() == "re.range")
    kind = Z3_OP_RE_RANGE;  // so Z3 4.8 reports it
  switch (kind) {
    case Z3_OP_SEQ_TO_RE:
      if (!re.arg(0).is_string_value()) return std::nullopt;
      return re.arg(0).get_string();
    case Z3_OP_RE_CONCAT: {
      std::string out;
      for (unsigned i = 0; i < re.num_args(); ++i) {
        auto part = regex_member(re.arg(i));
        if (!part) return std::nullopt;
        out += *part;
      }
      return out;
    }
    case Z3_OP_RE_UNION: {
      std::optional<std::string> any;
      for (unsigned i = 0; i < re.num_args(); ++i) {
        auto m = regex_member(re.arg(i));
        if (m && printable(*m)) return m;
        if (!any) any = m;
      }
      return any;
    }
    case Z3_OP_RE_RANGE: {
      if (!re.arg(0).is_string_value() || !re.arg(1).is_string_value()) return std::nullopt;
      std::string lo = re.arg(0).get_string(), hi = re.arg(1).get_string();
      if (lo.size() != 1 || hi.size() != 1) return std::nullopt;
      return std::string(1,
                         range_member(static_cast<unsigned char>(lo[0]), static_cast<unsigned char>(hi[0])));
    }
    case Z3_OP_RE_STAR:
    case Z3_OP_RE_OPTION:
    case Z3_OP_RE_FULL_SET: return std::string();
    case Z3_OP_RE_PLUS: return regex_member(re.arg(0));
    case Z3_OP_RE_LOOP: {
      const unsigned lo = static_cast<unsigned>(Z3_get_decl_int_parameter(re.ctx(), re.decl(), 0));
      auto one = regex_member(re.arg(0));
      if (!one || lo > kMaxMemberRepeats) return std::nullopt;
      std::string out;
      for (unsigned i = 0; i < lo; ++i) out += *one;
      return out;
    }
    default: return std::nullopt;
  }
}

z3::expr words_language(z3::context& ctx, const std::vector<std::string>& words, bool caseless) {
  z3::expr_vector alternatives(ctx);
  for (const auto& w : words) {
    if (!caseless) {
      alternatives.push_back(z3::to_re(string_constant(ctx, w)));
      continue;
    }
    z3::expr seq = z3::to_re(string_constant(ctx, ""));
    for (unsigned char c : w) {
      std::string one(1, static_cast<char>(c));
      std::string other = one;
      if (std::isalpha(c)) other[0] = static_cast<char>(std::islower(c) ? std::toupper(c) : std::tolower(c));
      z3::expr_vector cases(ctx);
      cases.push_back(z3::to_re(string_constant(ctx, one)));
      if (other != one) cases.push_back(z3::to_re(string_constant(ctx, other)));
      seq = z3::concat(seq, re_union(ctx, cases));
    }
    alternatives.push_back(seq);
  }
  return re_union(ctx, alternatives);
}

}  // namespace mp::explore
