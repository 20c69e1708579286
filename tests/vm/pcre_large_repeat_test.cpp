// A large group repeated a counted number of times, as SpamAssassin's ReplaceTags
// rules write them (`(?:<FF_YOUR><FF_ALL>…){5}`): PCRE2 copies the group per repeat and
// passes its compiled-size limit, so compile_pcre2 defines the group once and calls it
// for the other repeats. The texts matched are the same.
#include <gtest/gtest.h>

#include <hs/hs.h>

#include "tests/vm/interpreter_test_util.h"
#include "vm/pcre.h"

namespace mp::vm {
namespace {

// Word i of eight letters ("waaaaaaa", "wbaaaaaa", …) and the alternation of the
// first `count` of them, about 9 bytes each.
std::string word(int i) {
  std::string w = "w";
  for (int n = i, k = 0; k < 7; ++k, n /= 26) w += static_cast<char>('a' + n % 26);
  return w;
}

std::string words(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += (i ? "|" : "") + word(i);
  return out;
}

bool matches(const Pcre2Code& code, const std::string& text) {
  auto data = make_match_data();
  return match_pcre2(code.get(), data.get(), text).match.has_value();
}

TEST(PcreLargeRepeat, TooLargeAsWrittenCompilesWithTheGroupCalled) {
  const std::string group = "(?:(?:" + words(3000) + ")[ ,]+)";
  std::string error;
  // Written out five times, the same pattern is past PCRE2's limit: the limit is real.
  EXPECT_FALSE(compile_pcre2(group + group + group + group + group, 0, &error));
  EXPECT_NE(error.find("too large"), std::string::npos) << error;
  const Pcre2Code code = compile_pcre2(group + "{5}", 0, &error);
  ASSERT_TRUE(code) << error;
  const std::string five =
      word(1) + " " + word(2999) + ", " + word(7) + " " + word(7) + " " + word(100) + " ";
  EXPECT_TRUE(matches(code, "fill in: " + five));
  EXPECT_FALSE(matches(code, word(1) + " " + word(2) + " " + word(3) + " " + word(4) + " "));  // four
  EXPECT_FALSE(matches(code, word(1) + " " + word(2) + " nope " + word(3) + " " + word(4) + " " + word(5)));
}

TEST(PcreLargeRepeat, RangesAndLazyRepeatsKeepTheirBounds) {
  const std::string group = "(?:(?:" + words(3000) + ") )";
  std::string error;
  const Pcre2Code range = compile_pcre2("^" + group + "{6,7}$", 0, &error);
  ASSERT_TRUE(range) << error;
  std::string text;
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(matches(range, text), i >= 6 && i <= 7) << i << " words";
    text += word(i * 11) + " ";
  }
  const Pcre2Code open = compile_pcre2("^" + group + "{6,}?x", 0, &error);
  ASSERT_TRUE(open) << error;
  EXPECT_TRUE(matches(open, text + "x"));
  EXPECT_FALSE(matches(open, word(1) + " x"));
}

// A pattern that refers to its groups by number is not rewritten: a new group would
// renumber them. It stays an error, reported with PCRE2's reason.
TEST(PcreLargeRepeat, PatternsWithBackReferencesAreLeftAsWritten) {
  std::string error;
  EXPECT_FALSE(compile_pcre2("(a)(?:(?:" + words(3000) + ") \\1){5}", 0, &error));
  EXPECT_NE(error.find("too large"), std::string::npos) << error;
}

TEST(PcreLargeRepeat, ARuleWithSuchAPatternRuns) {
  const std::string regex = "/(?:(?:" + words(3000) + ")[ ,]+){5}/i";
  interpreter_test::Policy p("stage s {\n  rule form: if body matches " + regex +
                             " then quarantine \"form\"\n}\n");
  const std::string five = word(1) + " " + word(2) + " " + word(3) + " " + word(4) + " " + word(5) + " ";
  EXPECT_TRUE(p.fires("form", "From: a@b.example\n\nPlease send " + five + "now\n"));
  EXPECT_FALSE(p.fires("form", "From: a@b.example\n\nPlease send " + word(1) + " now\n"));
}

}  // namespace
}  // namespace mp::vm
