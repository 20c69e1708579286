// Obfuscated text (runtime/obfuscation.h): each finding from its trick, none from
// ordinary text in many scripts, and a bounded scan.
#include <gtest/gtest.h>

#include <string>

#include "runtime/obfuscation.h"

namespace mp::runtime {
namespace {

std::string found(std::string_view text, size_t max_bytes = SIZE_MAX) {
  const ObfuscationSet set = find_obfuscation(text, max_bytes);
  std::string names;
  for (size_t i = 0; i < kObfuscationCount; ++i) {
    if (set.test(i))
      names += (names.empty() ? "" : " ") + std::string(obfuscation_name(static_cast<Obfuscation>(i)));
  }
  return names;
}

TEST(Obfuscation, OrdinaryTextHidesNothing) {
  EXPECT_EQ(found("Your invoice for March is attached. Regards, Jane"), "");
  EXPECT_EQ(found("Здравствуйте, счёт во вложении. Ελληνικά κείμενα. café naïve"), "");
  EXPECT_EQ(found("Windows XP и Office 2003: цены снижены"), "");     // scripts in separate words
  EXPECT_EQ(found("日本語とEnglishのテキスト"), "");                  // kanji, kana, Latin
  EXPECT_EQ(found("ﻣﯽ‌ﺧﻮاﻫﻢ می‌خواهم"), "");  // ZWNJ inside Persian words
  EXPECT_EQ(found("family 👨‍👩‍👧 emoji"), "");            // ZWJ between emoji
  EXPECT_EQ(found("\xEF\xBB\xBFHello"), "");                          // a BOM at the start
  EXPECT_EQ(found("5 µg of vitamin"), "");                            // the micro sign
  EXPECT_EQ(found("hyphen\u00ADation"), "");                          // a soft hyphen
}

TEST(Obfuscation, ZeroWidthInsideAWord) {
  EXPECT_EQ(found("Verify your pay\u200Bpal account"), "zero_width");
  EXPECT_EQ(found("V\u200Ci\u200Da\u2060gra"), "zero_width");
  EXPECT_EQ(found("end\u200B of word"), "");  // before a space: not inside a word
}

TEST(Obfuscation, MixedScriptsInOneWord) {
  EXPECT_EQ(found("Your p\u0430ypal account"), "mixed_script");  // Cyrillic а
  EXPECT_EQ(found("\u0391pple ID"), "mixed_script");             // Greek Α
  EXPECT_EQ(found("p\u200B\u0430ypal"), "zero_width mixed_script");
}

TEST(Obfuscation, BidiOverride) {
  EXPECT_EQ(found("invoice\u202Efdp.exe"), "bidi_override");
}

TEST(Obfuscation, InvalidUtf8IsSkipped) {
  EXPECT_EQ(found("pay\xff\xfepal p\xd0"), "");
}

TEST(Obfuscation, OnlyTheFirstBytesAreExamined) {
  const std::string text = std::string(1000, 'a') + " p\u0430ypal";
  EXPECT_EQ(found(text, 1000), "");
  EXPECT_EQ(found(text), "mixed_script");
}

}  // namespace
}  // namespace mp::runtime
