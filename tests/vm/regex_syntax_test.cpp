// class_end reads a character class where PCRE2 does: checked by hand on the cases
// that trip a naive scan, and against PCRE2's own compiler on random classes.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "vm/regex_syntax.h"

#include <gtest/gtest.h>
#include <pcre2.h>

#include <random>
#include <string>
#include <vector>

namespace mp::vm {
namespace {

constexpr size_t npos = std::string_view::npos;

TEST(ClassEnd, ReadsMembersThatLookLikeTheEnd) {
  EXPECT_EQ(class_end("[a]x", 0), 3u);
  EXPECT_EQ(class_end("[]a]x", 0), 4u);    // a leading ] is a member
  EXPECT_EQ(class_end("[^]a]x", 0), 5u);   // and after ^
  EXPECT_EQ(class_end("[a\\]]x", 0), 5u);  // an escaped ]
  EXPECT_EQ(class_end("x[a]", 1), 4u);
  EXPECT_EQ(class_end("[[:alpha:]]x", 0), 11u);  // a POSIX item's ] is its own
  EXPECT_EQ(class_end("[[:a]b:]x", 0), 5u);      // not an item: a ] comes first
  EXPECT_EQ(class_end("[[.a.]]", 0), 7u);
  EXPECT_EQ(class_end("[[=a=]]", 0), 7u);
  EXPECT_EQ(class_end("[[:]", 0), 4u);
}

TEST(ClassEnd, NposWhenTheClassDoesNotClose) {
  EXPECT_EQ(class_end("[", 0), npos);
  EXPECT_EQ(class_end("[]", 0), npos);
  EXPECT_EQ(class_end("[^]", 0), npos);
  EXPECT_EQ(class_end("[a\\]", 0), npos);
  EXPECT_EQ(class_end("[a\\", 0), npos);
}

// PCRE2's error code compiling `pattern`, 0 when it compiles.
int compile_error(const std::string& pattern) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* compiled =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0, &code, &offset, nullptr);
  if (!compiled) return code;
  pcre2_code_free(compiled);
  return 0;
}

// For a class `s`: cut at the end class_end names, PCRE2 finds it closed, and cut just
// before, unclosed. When class_end finds no end, PCRE2 refuses `s`. Pieces are drawn
// from the syntax that decides where a class ends, POSIX items among them.
TEST(ClassEnd, EndsWherePcre2EndsTheClass) {
  std::mt19937 random(20261203);
  const std::vector<std::string> pieces = {"[", "]",         "^",  ":",  ".",     "=",     "\\",
                                           "a", "[:alpha:]", "[:", ":]", "[.a.]", "[=a=]", "\\]"};
  int compared = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string s = "[";
    const size_t length = random() % 7;
    for (size_t i = 0; i < length; ++i) s += pieces[random() % pieces.size()];
    const size_t end = class_end(s, 0);
    SCOPED_TRACE(s);
    if (end == npos) {
      EXPECT_NE(compile_error(s), 0);
      continue;
    }
    const int whole = compile_error(s.substr(0, end));
    EXPECT_NE(whole, PCRE2_ERROR_MISSING_SQUARE_BRACKET);
    if (whole != 0) continue;  // an unknown POSIX name, a \ at the end: not where the class ends
    EXPECT_EQ(compile_error(s.substr(0, end - 1)), PCRE2_ERROR_MISSING_SQUARE_BRACKET);
    ++compared;
  }
  EXPECT_GT(compared, 3000);
}

}  // namespace
}  // namespace mp::vm
