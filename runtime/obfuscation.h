// Text written to slip past word filters while reading normally to a person: invisible
// characters inside words ("pay\u200Bpal"), words mixing look-alike letters of two
// scripts ("pаypal" with a Cyrillic а), and bidi overrides that show text in another
// order than it is stored. The policy language exposes the findings of a message
// (subject, display names, body text) as `message.obfuscation` (docs/language.md,
// section 7).
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mp::runtime {

enum class Obfuscation : uint8_t {
  ZeroWidth,     // a zero-width or invisible format character between two letters
  MixedScript,   // one word with letters of two of Latin, Cyrillic and Greek
  BidiOverride,  // U+202D / U+202E (left-to-right / right-to-left override)
};
inline constexpr size_t kObfuscationCount = 3;
using ObfuscationSet = std::bitset<kObfuscationCount>;

// "zero_width", "mixed_script", "bidi_override".
std::string_view obfuscation_name(Obfuscation kind);

// What `utf8` hides, looking at its first `max_bytes` bytes only (the work is linear
// and bounded on a huge body). Invalid UTF-8 is skipped, never an error. Scripts that
// join letters with invisible characters (ZWNJ in Persian, ZWJ in emoji) are not
// flagged: only letters of Latin, Cyrillic and Greek count on both sides.
ObfuscationSet find_obfuscation(std::string_view utf8, size_t max_bytes = SIZE_MAX);

}  // namespace mp::runtime
