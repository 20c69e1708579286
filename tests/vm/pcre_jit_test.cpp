// The VM's PCRE2 (compile_pcre2: JIT-compiled) finds what PCRE2's interpreter finds.
// PCRE2 10.42's JIT missed matches of a pattern with `^` as an alternative in a group
// (`(?:b|^)x*[a-c1]` on "b_"): such patterns are compiled without start optimizations.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <gtest/gtest.h>
#include <hs/hs.h>
#include <pcre2.h>

#include <array>
#include <random>

#include "vm/pcre.h"

namespace mp::vm {
namespace {

// The interpreter's answer, PCRE2 as it is (no JIT): 1 match, 0 none, -1 error.
int interpreted(const std::string& pattern, uint32_t options, const std::string& value) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  Pcre2Code compiled(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                                   &code, &offset, nullptr));
  if (!compiled) return -1;
  Pcre2MatchData data = make_match_data();
  int rc = pcre2_match(compiled.get(), reinterpret_cast<PCRE2_SPTR>(value.data()), value.size(), 0, 0,
                       data.get(), nullptr);
  return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

// The VM's answer for the same pattern and flags.
int vm_says(const std::string& pattern, uint32_t hs_flags, const std::string& value) {
  Pcre2Code code = compile_pcre2(pattern, hs_flags, nullptr);
  if (!code) return -1;
  Pcre2MatchData data = make_match_data();
  Pcre2Result r = match_pcre2(code.get(), data.get(), value);
  return r.gave_up ? -1 : r.match ? 1 : 0;
}

TEST(PcreJit, AnAnchorAmongAlternativesMatchesAsTheInterpreterDoes) {
  for (const char* pattern :
       {"(?:b|^).*[a-c1]", "(?:b|\\A).*[a-c1]", "(?:b|^)x*[a-c1]", "(b|^).*?([a-c1]){1,2}"}) {
    EXPECT_EQ(interpreted(pattern, 0, "b_"), 1) << pattern;
    EXPECT_EQ(vm_says(pattern, 0, "b_"), 1) << pattern;
  }
}

// Random patterns with anchors in groups and the usual atoms: the VM agrees with the
// interpreter on each value. A fixed seed, so that a failure names a pattern.
TEST(PcreJit, RandomPatternsAgreeWithTheInterpreter) {
  std::mt19937 rng(20261203);
  auto pick = [&](std::initializer_list<const char*> items) {
    return std::string(*(items.begin() + std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng)));
  };
  auto atoms = [&] {
    std::string out;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n; ++i)
      out += pick({"a", "b", ".", "\\d", "\\w", "\\s", "[ab]", "[^a]", "[a-c1]", "x", "\\b"}) +
             pick({"", "", "*", "+", "?", "*?", "{1,2}"});
    return out;
  };
  const std::array<std::pair<uint32_t, uint32_t>, 4> flags = {{{0, 0},
                                                               {HS_FLAG_CASELESS, PCRE2_CASELESS},
                                                               {HS_FLAG_DOTALL, PCRE2_DOTALL},
                                                               {HS_FLAG_MULTILINE, PCRE2_MULTILINE}}};
  std::vector<std::string> values;
  for (int i = 0; i < 30; ++i) {
    std::string v;
    for (int j = 0, n = static_cast<int>(rng() % 6); j < n; ++j)
      v += pick({"a", "b", "c", "1", "_", " ", "\n", "x"});
    values.push_back(v);
  }
  int compared = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string p = pick({"", "^", "(?:b|^)", "(^|a)", "(?:\\s|\\A)", "(x|^|\\d)"}) + atoms() +
                    pick({"", "$", "(?:a|$)", "(\\b|$)"});
    if (rng() % 4 == 0) p += "|" + pick({"^", ""}) + atoms();
    const auto [hs, options] = flags[rng() % flags.size()];
    for (const auto& v : values) {
      const int expected = interpreted(p, options, v);
      if (expected < 0) break;
      ASSERT_EQ(vm_says(p, hs, v), expected) << "/" << p << "/ flags " << hs << " on \"" << v << "\"";
      ++compared;
    }
  }
  EXPECT_GT(compared, 50000);
}

}  // namespace
}  // namespace mp::vm
