// required_atoms: a recursive-descent reading of PCRE2 syntax that keeps, for each
// piece, the exact strings it matches while they are few, and otherwise a set of which
// every match contains one (the "exact"/"match" information of RE2's prefilter).
#include "compiler/regex_atoms.h"

#include "vm/regex_syntax.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace mp::compiler {
namespace {

constexpr size_t kMaxExact = 16;  // strings an exact set may hold before it is widened
constexpr size_t kMaxAtoms = 256;
constexpr size_t kMinAtomLength = 3;
constexpr size_t kMaxClass = 4;  // a class of up to 4 bytes stays exact

using Strings = std::set<std::string>;

// What a piece matches: exactly one of `exact` when known. Else, when known, a set of
// which every match contains one (`required`), and sets every match starts and ends
// with (`prefix`, `suffix`; {""} when unknown), so that `ad+res+` still needs "res"
// and `x(?:ab)+c` needs "xab" and "abc". Nothing known: any text.
struct Info {
  std::optional<Strings> exact;
  std::optional<Strings> required;
  Strings prefix{""}, suffix{""};
};

Info empty_match() {
  return {Strings{""}, std::nullopt};
}
Info inexact(std::optional<Strings> required, Strings prefix = {""}, Strings suffix = {""}) {
  return {std::nullopt, std::move(required), std::move(prefix), std::move(suffix)};
}

std::optional<Strings> as_required(const Info& info) {
  if (info.exact) {
    if (info.exact->contains("")) return std::nullopt;
    return info.exact;
  }
  return info.required;
}

size_t shortest(const Strings& s) {
  size_t n = SIZE_MAX;
  for (const auto& x : s) n = std::min(n, x.size());
  return n;
}

// The more selective of two required sets: longer shortest atom, then fewer atoms.
std::optional<Strings> better(std::optional<Strings> a, std::optional<Strings> b) {
  if (!a) return b;
  if (!b) return a;
  const size_t la = shortest(*a), lb = shortest(*b);
  if (la != lb) return la > lb ? a : b;
  return a->size() <= b->size() ? a : b;
}

Strings cross(const Strings& a, const Strings& b) {
  Strings out;
  for (const auto& x : a) {
    for (const auto& y : b) out.insert(x + y);
  }
  return out;
}

Strings prefix_of(const Info& i) {
  return i.exact ? *i.exact : i.prefix;
}
Strings suffix_of(const Info& i) {
  return i.exact ? *i.exact : i.suffix;
}

// The union of the branches' sets, while small and none of them is unknown.
Strings either(const std::vector<Strings>& sets) {
  Strings out;
  for (const auto& s : sets) {
    if (s.contains("")) return {""};
    out.insert(s.begin(), s.end());
  }
  return out.size() <= kMaxExact ? out : Strings{""};
}

class Reader {
 public:
  Reader(std::string_view re, bool caseless, bool extended)
      : re_(re), caseless_(caseless), extended_(extended) {}

  std::optional<Info> read() {
    Info info = alternation();
    if (failed_ || pos_ != re_.size()) return std::nullopt;
    return info;
  }

 private:
  bool at_end() const { return pos_ >= re_.size(); }
  char peek() const { return re_[pos_]; }
  bool eat(std::string_view s) {
    if (re_.substr(pos_).starts_with(s)) {
      pos_ += s.size();
      return true;
    }
    return false;
  }
  Info fail() {
    failed_ = true;
    pos_ = re_.size();
    return {};
  }
  char fold(unsigned char c) const { return static_cast<char>(caseless_ ? std::tolower(c) : c); }
  Info byte(unsigned char c) const { return {Strings{std::string(1, fold(c))}, std::nullopt}; }

  Info alternation() {
    std::vector<Info> branches{sequence()};
    while (!failed_ && eat("|")) branches.push_back(sequence());
    if (branches.size() == 1) return branches[0];
    Strings exact, required;
    std::vector<Strings> prefixes, suffixes;
    bool all_exact = true, all_required = true;
    for (const auto& b : branches) {
      if (b.exact) exact.insert(b.exact->begin(), b.exact->end());
      all_exact = all_exact && b.exact.has_value();
      auto r = as_required(b);
      if (r) required.insert(r->begin(), r->end());
      all_required = all_required && r.has_value();
      prefixes.push_back(prefix_of(b));
      suffixes.push_back(suffix_of(b));
    }
    if (all_exact && exact.size() <= kMaxExact) return {std::move(exact), std::nullopt};
    return inexact(all_required ? std::optional<Strings>(std::move(required)) : std::nullopt,
                   either(prefixes), either(suffixes));
  }

  // A concatenation: runs of exact pieces are multiplied out while small, joined to the
  // prefix of the inexact piece that ends them and begun again from its suffix; each run
  // so ended, and each piece's requirement, is a candidate, and the best candidate is
  // what the whole needs.
  Info sequence() {
    Strings run{""};
    std::optional<Strings> best, first;  // first: the run ended first, a prefix of every match
    auto flush = [&](const Strings& ended) {
      best = better(best, as_required(Info{ended, std::nullopt}));
      if (!first) first = ended;
    };
    auto extend = [&run, &flush](const Strings& next) {
      if (run.size() * next.size() <= kMaxExact) {
        run = cross(run, next);
      } else {
        flush(run);
        run = next;
      }
    };
    while (!failed_ && !at_end() && peek() != '|' && peek() != ')') {
      if (skip_extended()) continue;
      quantifiable_ = true;
      Info item = atom();
      // A quantifier after (?#...), (?i), \E or a \Q...\E of several bytes applies to
      // less than, or to something before, what was just read: not modelled.
      if (!quantifiable_ && !at_end() && std::string_view("*+?{").find(peek()) != std::string_view::npos)
        fail();
      Info piece = quantified(std::move(item));
      if (piece.exact) {
        extend(*piece.exact);
        continue;
      }
      extend(piece.prefix);
      flush(run);
      best = better(best, piece.required);
      run = piece.suffix;
    }
    if (!first) return {run, std::nullopt};
    flush(run);
    return inexact(best, *first, run);
  }

  bool skip_extended() {
    if (!extended_) return false;
    if (std::isspace(static_cast<unsigned char>(peek()))) {
      ++pos_;
      return true;
    }
    if (peek() == '#') {
      while (!at_end() && peek() != '\n') ++pos_;
      return true;
    }
    return false;
  }

  Info quantified(Info piece) {
    if (failed_ || at_end()) return piece;
    size_t min = 0, max = SIZE_MAX;
    const char c = peek();
    if (c == '*') {
      ++pos_;
    } else if (c == '+') {
      ++pos_, min = 1;
    } else if (c == '?') {
      ++pos_, max = 1;
    } else if (c != '{' || !bounds(min, max)) {
      return piece;
    }
    if (!at_end() && (peek() == '?' || peek() == '+')) ++pos_;  // lazy, possessive
    if (min == 0) {
      if (max == 1 && piece.exact && piece.exact->size() < kMaxExact) {
        piece.exact->insert("");
        return piece;
      }
      return {};
    }
    if (min == 1 && max == 1) return piece;
    // x{n,m}: n copies of x, then up to m - n more. Exact while the strings are few
    // (x{3}: xxx); else it starts and ends with n copies (or with x's own prefix and
    // suffix) and needs what x needs.
    if (piece.exact) {
      Strings power{""};
      size_t i = 0;
      for (; i < min && i < 8 && power.size() * piece.exact->size() <= kMaxExact; ++i)
        power = cross(power, *piece.exact);
      if (i == min && min == max) return {power, std::nullopt};
      if (i < min) power = *piece.exact;
      return inexact(better(as_required(piece), as_required(Info{power, std::nullopt})), power, power);
    }
    return inexact(piece.required, piece.prefix, piece.suffix);
  }

  // {n}, {n,}, {n,m}; anything else is a literal brace, as in PCRE2 10.42.
  bool bounds(size_t& min, size_t& max) {
    size_t p = pos_ + 1, n = 0, digits = 0;
    while (p < re_.size() && std::isdigit(static_cast<unsigned char>(re_[p])))
      n = n * 10 + (re_[p++] - '0'), ++digits;
    if (digits == 0 || digits > 6 || p >= re_.size()) return false;
    size_t m = n;
    if (re_[p] == ',') {
      ++p;
      size_t upper = 0, udigits = 0;
      while (p < re_.size() && std::isdigit(static_cast<unsigned char>(re_[p])))
        upper = upper * 10 + (re_[p++] - '0'), ++udigits;
      if (udigits > 6) return false;
      m = udigits == 0 ? SIZE_MAX : upper;
    }
    if (p >= re_.size() || re_[p] != '}') return false;
    pos_ = p + 1;
    min = n, max = m;
    return true;
  }

  Info atom() {
    const char c = re_[pos_++];
    switch (c) {
      case '.': return {};
      case '^':
      case '$': return empty_match();
      case '[': return char_class();
      case '(': return group();
      case '\\': return escape();
      case '*':
      case '+':
      case '?': return fail();  // a quantifier with nothing before it
      default: return byte(static_cast<unsigned char>(c));
    }
  }

  Info group() {
    if (eat("*")) return fail();  // (*VERB)
    bool capture = true, zero_width = false;
    if (eat("?")) {
      capture = false;
      if (eat(":") || eat(">") || eat("|")) {
      } else if (eat("=") || eat("!") || eat("<=") || eat("<!")) {
        zero_width = true;
      } else if (eat("#")) {
        quantifiable_ = false;
        while (!at_end() && peek() != ')') ++pos_;
        return eat(")") ? empty_match() : fail();
      } else if (eat("P<") || eat("<") || eat("'")) {
        capture = true;
        while (!at_end() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_')) ++pos_;
        if (!eat(">") && !eat("'")) return fail();
      } else {
        return inline_flags();
      }
    }
    if (capture) ++groups_;
    Info inner = alternation();
    if (!eat(")")) return fail();
    quantifiable_ = true;  // the group, whatever its last item was
    return zero_width ? empty_match() : inner;
  }

  // (?i), (?s-m:...): i, m and s change no literal here (caseless was decided for the
  // whole expression beforehand); other flags (x mid-pattern, n, U, J) are not modelled.
  Info inline_flags() {
    while (!at_end() && std::string_view("ims-").find(peek()) != std::string_view::npos) ++pos_;
    if (eat(")")) {
      quantifiable_ = false;
      return empty_match();
    }
    if (!eat(":")) return fail();
    Info inner = alternation();
    quantifiable_ = true;
    return eat(")") ? inner : fail();
  }

  Info escape() {
    if (at_end()) return fail();
    const char c = re_[pos_++];
    switch (c) {
      case 'b':
      case 'B':
      case 'A':
      case 'z':
      case 'Z':
      case 'G':
      case 'K': return empty_match();
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 's':
      case 'S':
      case 'h':
      case 'H':
      case 'v':
      case 'V':
      case 'N':
      case 'R': return {};
      case 'Q': return quoted();
      case 'E': quantifiable_ = false; return empty_match();
      default: break;
    }
    if (c >= '1' && c <= '9' && is_backreference()) return {};
    int value = escaped_byte(c, false);
    return value < 0 ? fail() : byte(static_cast<unsigned char>(value));
  }

  // \Q...\E: literal bytes.
  Info quoted() {
    std::string text;
    while (!at_end() && !eat("\\E")) text += fold(static_cast<unsigned char>(re_[pos_++]));
    quantifiable_ = text.size() == 1;
    return {Strings{text}, std::nullopt};
  }

  // The byte an escape stands for (c is the character after the backslash), or -1 when
  // it is not a single byte this reader models. In a class, \b is a backspace.
  int escaped_byte(char c, bool in_class) {
    switch (c) {
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'f': return '\f';
      case 'e': return 0x1b;
      case 'a': return 0x07;
      case 'b': return in_class ? 0x08 : -1;
      case 'x': return hex();
      default: break;
    }
    if (c >= '0' && c <= '9') return octal();
    if (!std::isalnum(static_cast<unsigned char>(c))) return static_cast<unsigned char>(c);
    return -1;
  }

  int hex() {
    int value = 0, digits = 0;
    if (eat("{")) {
      while (!at_end() && std::isxdigit(static_cast<unsigned char>(peek())) && digits < 3)
        value = value * 16 + hex_digit(re_[pos_++]), ++digits;
      return eat("}") && value <= 0xFF ? value : -1;
    }
    while (!at_end() && std::isxdigit(static_cast<unsigned char>(peek())) && digits < 2)
      value = value * 16 + hex_digit(re_[pos_++]), ++digits;
    return value;
  }
  static int hex_digit(char c) {
    return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
  }

  // PCRE2: outside a class, \1-\9, or a number up to the count of groups opened so
  // far, is a back-reference (pos_ is just past its first digit); the digits are read.
  bool is_backreference() {
    size_t start = pos_ - 1, end = start;
    while (end < re_.size() && std::isdigit(static_cast<unsigned char>(re_[end])) && end - start < 6) ++end;
    const size_t number = std::stoul(std::string(re_.substr(start, end - start)));
    if (end - start > 1 && number > groups_) return false;
    pos_ = end;
    return true;
  }

  // \0 and what is not a back-reference: up to three octal digits.
  int octal() {
    int value = 0, n = 0;
    pos_ -= 1;
    while (!at_end() && n < 3 && peek() >= '0' && peek() <= '7') value = value * 8 + (re_[pos_++] - '0'), ++n;
    return n == 0 || value > 0xFF ? -1 : value;
  }

  // [...]: exact when it holds at most kMaxClass bytes (after folding case), else any.
  Info char_class() {
    bool negated = eat("^"), wide = false;
    std::set<unsigned char> bytes;
    bool first = true;
    while (!at_end() && (first || peek() != ']')) {
      first = false;
      // `[:alpha:]` only where PCRE2 reads one (vm/regex_syntax.h): `[[:x]|a:]` is
      // a class of `[`, `:` and `x`, then an alternative.
      if (const size_t end = vm::posix_item_end(re_, pos_); end != std::string_view::npos) {
        pos_ = end;
        wide = true;
        continue;
      }
      int lo = class_byte(wide);
      if (failed_) return {};
      if (lo >= 0 && pos_ + 1 < re_.size() && peek() == '-' && re_[pos_ + 1] != ']') {
        ++pos_;
        int hi = class_byte(wide);
        if (failed_) return {};
        if (hi < lo || hi - lo >= static_cast<int>(kMaxClass)) wide = true;
        for (int b = lo; b <= hi && !wide; ++b)
          bytes.insert(static_cast<unsigned char>(fold(static_cast<unsigned char>(b))));
      } else if (lo >= 0) {
        bytes.insert(static_cast<unsigned char>(fold(static_cast<unsigned char>(lo))));
      }
    }
    if (!eat("]")) return fail();
    if (negated || wide || bytes.size() > kMaxClass) return {};
    Strings exact;
    for (unsigned char b : bytes) exact.insert(std::string(1, static_cast<char>(b)));
    return {exact, std::nullopt};
  }

  // One member of a class: its byte, or -1 for a shorthand (\d, \w, …: `wide`).
  int class_byte(bool& wide) {
    const char c = re_[pos_++];
    if (c != '\\') return static_cast<unsigned char>(c);
    if (at_end()) {
      fail();
      return -1;
    }
    const char e = re_[pos_++];
    if (std::string_view("dDwWsShHvVN").find(e) != std::string_view::npos) {
      wide = true;
      return -1;
    }
    int value = escaped_byte(e, true);
    if (value < 0) fail();
    return value;
  }

  std::string_view re_;
  size_t pos_ = 0;
  bool caseless_, extended_;
  bool failed_ = false;
  size_t groups_ = 0;         // capturing groups opened so far
  bool quantifiable_ = true;  // whether a quantifier may follow the item just read
};

// Whether some inline flag group turns on caseless matching: then every atom is
// caseless (a superset of the matches, so still sound).
bool inline_caseless(std::string_view re) {
  for (size_t p = re.find("(?"); p != std::string_view::npos; p = re.find("(?", p + 2)) {
    for (size_t q = p + 2; q < re.size() && std::isalpha(static_cast<unsigned char>(re[q])); ++q) {
      if (re[q] == 'i') return true;
    }
  }
  return false;
}

}  // namespace

std::optional<RequiredAtoms> required_atoms(std::string_view expression, bool caseless, bool extended) {
  if (expression.starts_with("(?x)")) {
    expression.remove_prefix(4);
    extended = true;
  }
  caseless = caseless || inline_caseless(expression);
  auto info = Reader(expression, caseless, extended).read();
  if (!info) return std::nullopt;
  auto atoms = as_required(*info);
  if (!atoms || atoms->size() > kMaxAtoms || shortest(*atoms) < kMinAtomLength) return std::nullopt;
  return RequiredAtoms{{atoms->begin(), atoms->end()}, caseless};
}

std::string atoms_expression(const RequiredAtoms& atoms) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = atoms.caseless ? "(?i)(?:" : "(?:";
  for (size_t i = 0; i < atoms.literals.size(); ++i) {
    if (i > 0) out += '|';
    for (unsigned char c : atoms.literals[i]) {
      if (std::isalnum(c)) {
        out += static_cast<char>(c);
      } else {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  }
  return out + ")";
}

}  // namespace mp::compiler
