// PCRE2 compile and match (vm/pcre.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "vm/pcre.h"

#include <hs/hs.h>
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <new>
#include <optional>

#include "vm/regex_syntax.h"

namespace mp::vm {
namespace {

uint32_t pcre2_options(uint32_t hs_flags) {
  uint32_t options = 0;
  if (hs_flags & HS_FLAG_CASELESS) options |= PCRE2_CASELESS;
  if (hs_flags & HS_FLAG_DOTALL) options |= PCRE2_DOTALL;
  if (hs_flags & HS_FLAG_MULTILINE) options |= PCRE2_MULTILINE;
  // Field values may hold bytes that are not UTF-8 (a raw body): UTF mode is asked for
  // only with the flag, and then invalid sequences are no match rather than an error.
  if (hs_flags & HS_FLAG_UTF8) options |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (hs_flags & HS_FLAG_UCP) options |= PCRE2_UCP;
  return options;
}

// Whether `^` or `\A` stands anywhere but at the very start, as an alternative in a
// group (`(?:b|^)x*[a-c1]`). PCRE2 10.42's JIT then misses matches its interpreter
// finds (that pattern on "b_"); without start optimizations it finds them.
bool anchor_after_start(const std::string& e) {
  for (size_t i = 0; i < e.size();) {
    if (e[i] == '\\') {
      if (i + 1 < e.size() && e[i + 1] == 'A' && i > 0) return true;
      i += 2;
    } else if (e[i] == '[') {
      i = class_end(e, i);
      if (i == std::string::npos) return false;  // PCRE2 refuses the pattern
    } else if (e[i] == '^' && i > 0) {
      return true;
    } else {
      ++i;
    }
  }
  return false;
}

// Whether the expression refers to its groups by number or name (back-references,
// subroutine calls): a group added by with_called_repeats would renumber them.
bool refers_to_groups(const std::string& expression) {
  for (size_t i = 0; i + 1 < expression.size(); ++i) {
    if (expression[i] == '\\') {
      const char next = expression[i + 1];
      if ((next >= '1' && next <= '9') || next == 'g' || next == 'k') return true;
      ++i;
    } else if (expression.compare(i, 3, "(?P") == 0 || expression.compare(i, 3, "(?&") == 0 ||
               expression.compare(i, 3, "(?R") == 0 ||
               (expression.compare(i, 2, "(?") == 0 && i + 2 < expression.size() &&
                (std::isdigit(static_cast<unsigned char>(expression[i + 2])) || expression[i + 2] == '+' ||
                 expression[i + 2] == '-'))) {
      return true;
    }
  }
  return false;
}

// The end of the group opened at `open` (the index of its ')'), skipping escapes and
// character classes; npos when it is not closed.
size_t group_end(const std::string& e, size_t open) {
  int depth = 0;
  for (size_t i = open; i < e.size();) {
    if (e[i] == '\\') {
      i += 2;
      continue;
    }
    if (e[i] == '[') {
      i = class_end(e, i);
      if (i == std::string::npos) return i;
      continue;
    }
    if (e[i] == '(') ++depth;
    if (e[i] == ')' && --depth == 0) return i;
    ++i;
  }
  return std::string::npos;
}

// A counted repeat at `at`: `{n}`, `{n,}` or `{n,m}` (max nullopt for none).
struct CountedRepeat {
  size_t length = 0;
  unsigned min = 0;
  std::optional<unsigned> max;
  bool open = false;  // {n,}
};
std::optional<CountedRepeat> counted_repeat(const std::string& e, size_t at) {
  auto number = [&e](size_t& i) -> std::optional<unsigned> {
    const size_t start = i;
    while (i < e.size() && i - start < 5 && std::isdigit(static_cast<unsigned char>(e[i]))) ++i;
    if (i == start) return std::nullopt;
    return static_cast<unsigned>(std::stoul(e.substr(start, i - start)));
  };
  if (at >= e.size() || e[at] != '{') return std::nullopt;
  size_t i = at + 1;
  CountedRepeat r;
  const auto min = number(i);
  if (!min || i >= e.size()) return std::nullopt;
  r.min = *min;
  if (e[i] == ',') {
    ++i;
    r.max = number(i);
    r.open = !r.max;
  } else {
    r.max = r.min;
  }
  if (i >= e.size() || e[i] != '}' || r.min < 1 || (r.max && *r.max < r.min)) return std::nullopt;
  r.length = i + 1 - at;
  return r;
}

// PCRE2 copies a repeated group once per repeat, so `(?:X){5}` with a large X (as
// SpamAssassin's ReplaceTags rules write them) passes the compiled-size limit (64 KiB
// with Debian's 2-byte links). Defining X once and calling it for the other repeats,
// `(?<mp_r0>X)(?:(?&mp_r0)){4}`, matches the same texts (calls backtrack like the
// group since PCRE2 10.30) with one copy. Groups of 64 bytes or less are left as they
// are; nullopt when nothing was rewritten or the expression refers to its groups.
std::optional<std::string> with_called_repeats(const std::string& e) {
  if (refers_to_groups(e)) return std::nullopt;
  std::string out;
  int calls = 0;
  size_t i = 0;
  while (i < e.size()) {
    if (e[i] == '\\') {
      out.append(e, i, 2);
      i += 2;
      continue;
    }
    const size_t close = e.compare(i, 3, "(?:") == 0 ? group_end(e, i) : std::string::npos;
    const auto repeat = close == std::string::npos ? std::nullopt : counted_repeat(e, close + 1);
    if (!repeat || close - i <= 64) {
      out += e[i++];
      continue;
    }
    // {n} → X then {n-1} calls; {n,} → {n-1,}; {n,m} → {n-1,m-1}.
    const std::string name = "mp_r" + std::to_string(calls++);
    out += "(?<" + name + ">" + e.substr(i + 3, close - i - 3) + ")(?:(?&" + name + ")){" +
           std::to_string(repeat->min - 1) + (repeat->open ? "," : "") +
           (repeat->max && *repeat->max != repeat->min ? "," + std::to_string(*repeat->max - 1) : "") + "}";
    i = close + 1 + repeat->length;
  }
  if (calls == 0) return std::nullopt;
  return out;
}

}  // namespace

void Pcre2Deleter::operator()(pcre2_real_code_8* code) const {
  pcre2_code_free(code);
}
void Pcre2Deleter::operator()(pcre2_real_match_data_8* data) const {
  pcre2_match_data_free(data);
}
void Pcre2Deleter::operator()(pcre2_real_match_context_8* context) const {
  pcre2_match_context_free(context);
}

Pcre2Code compile_pcre2(const std::string& expression, uint32_t hs_flags, std::string* error) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options =
      pcre2_options(hs_flags) | (anchor_after_start(expression) ? PCRE2_NO_START_OPTIMIZE : 0);
  Pcre2Code compiled(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expression.data()), expression.size(),
                                   options, &code, &offset, nullptr));
  if (!compiled && code == PCRE2_ERROR_PATTERN_TOO_LARGE) {
    if (auto called = with_called_repeats(expression)) return compile_pcre2(*called, hs_flags, error);
  }
  if (!compiled) {
    if (error != nullptr) {
      PCRE2_UCHAR text[256];
      pcre2_get_error_message(code, text, sizeof text);
      *error = reinterpret_cast<const char*>(text) + std::string(" at offset ") + std::to_string(offset);
    }
    return compiled;
  }
  pcre2_jit_compile(compiled.get(), PCRE2_JIT_COMPLETE);  // without JIT (unsupported CPU) it interprets
  return compiled;
}

Pcre2MatchData make_match_data() {
  return Pcre2MatchData(pcre2_match_data_create(1, nullptr));
}

Pcre2MatchContext make_match_context(uint32_t match_limit) {
  Pcre2MatchContext context(pcre2_match_context_create(nullptr));
  if (!context) throw std::bad_alloc();
  pcre2_set_match_limit(context.get(), std::max<uint32_t>(1, match_limit));
  pcre2_set_depth_limit(context.get(), 10'000);
  return context;
}

Pcre2Result match_pcre2(const pcre2_real_code_8* code, pcre2_real_match_data_8* data, std::string_view value,
                        const pcre2_real_match_context_8* context) {
  static const Pcre2MatchContext default_context = make_match_context(RegexLimits{}.match_limit);
  // pcre2_match takes the context as non-const but only reads it.
  auto* limits = const_cast<pcre2_match_context*>(context ? context : default_context.get());
  const int rc =
      pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(value.data()), value.size(), 0, 0, data, limits);
  if (rc == PCRE2_ERROR_NOMATCH) return {};
  if (rc < 0) return {std::nullopt, true};
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
  return {Pcre2Match{ovector[0], ovector[1]}, false};
}

}  // namespace mp::vm
