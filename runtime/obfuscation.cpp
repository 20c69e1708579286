// Obfuscated text: one forward pass over the code points, keeping only the state of
// the current word. See obfuscation.h.
#include "runtime/obfuscation.h"

#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace mp::runtime {

namespace {

constexpr std::array<std::string_view, kObfuscationCount> kNames = {"zero_width", "mixed_script",
                                                                    "bidi_override"};

// The scripts whose letters look alike (а/a, о/o, Α/A): a word mixing them is a
// disguise. Other scripts are written mixed legitimately (kanji with kana) or do not
// pass for Latin.
enum ScriptBit : uint8_t { kOther = 0, kLatin = 1, kCyrillic = 2, kGreek = 4 };

uint8_t script_bit(UChar32 c) {
  if (c < 0x80) return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? kLatin : kOther;
  if (!u_isalpha(c)) return kOther;
  UErrorCode status = U_ZERO_ERROR;
  switch (uscript_getScript(c, &status)) {
    case USCRIPT_LATIN: return kLatin;
    case USCRIPT_CYRILLIC: return kCyrillic;
    case USCRIPT_GREEK: return kGreek;
    default: return kOther;
  }
}

// Characters that show nothing: zero-width space, non-joiner, joiner, word joiner,
// invisible operators, BOM, Mongolian vowel separator, combining grapheme joiner. The
// soft hyphen is left out: hyphenation hints in long words are ordinary HTML.
bool invisible(UChar32 c) {
  return (c >= 0x200B && c <= 0x200D) || (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF || c == 0x180E ||
         c == 0x034F;
}

bool bidi_override(UChar32 c) {
  return c == 0x202D || c == 0x202E;
}

bool combining_mark(UChar32 c) {
  return c >= 0x80 && (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0;
}

class WordScanner {
 public:
  void next(UChar32 c) {
    if (bidi_override(c)) found_.set(static_cast<size_t>(Obfuscation::BidiOverride));
    if (invisible(c)) {
      hidden_ = hidden_ || previous_ != kOther;
      return;
    }
    if (combining_mark(c)) return;  // belongs to the letter before it
    const uint8_t bit = script_bit(c);
    if (bit == kOther) return end_word();
    if (hidden_) found_.set(static_cast<size_t>(Obfuscation::ZeroWidth));
    word_ |= bit;
    if ((word_ & (word_ - 1)) != 0) found_.set(static_cast<size_t>(Obfuscation::MixedScript));
    previous_ = bit;
    hidden_ = false;
  }
  void end_word() {
    word_ = kOther;
    previous_ = kOther;
    hidden_ = false;
  }
  ObfuscationSet found() const { return found_; }

 private:
  ObfuscationSet found_;
  uint8_t word_ = kOther;      // the scripts of the current word's letters
  uint8_t previous_ = kOther;  // the script of the letter just before, kOther if none
  bool hidden_ = false;        // an invisible character since that letter
};

}  // namespace

std::string_view obfuscation_name(Obfuscation kind) {
  return kNames[static_cast<size_t>(kind)];
}

ObfuscationSet find_obfuscation(std::string_view utf8, size_t max_bytes) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(utf8.data());
  const auto length = static_cast<int32_t>(std::min({utf8.size(), max_bytes, size_t{INT32_MAX}}));
  WordScanner scanner;
  for (int32_t i = 0; i < length && !scanner.found().all();) {
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) {
      scanner.end_word();
    } else {
      scanner.next(c);
    }
  }
  return scanner.found();
}

}  // namespace mp::runtime
