// Resemblance: does a name or domain in a message *look like* one we know, although it
// is written differently? The `resembles` test of the policy language (docs/language.md,
// section 10) reduces both sides to a key, so that what a reader would take for the
// same name gives the same key, then compares keys allowing one slip of the keyboard.
//
// A key is the Unicode TR #39 confusable skeleton (ICU uspoof_getSkeleton) of the
// NFKC-casefolded text, so case, compatibility forms, invisible characters and
// look-alike letters from other scripts ("Jаne" with a Cyrillic а, "paypa1.com",
// "rnicrosoft.com") disappear. Names lose more first: bracketed remarks, titles
// ("Dr.", "Mr", "CEO"), initials and punctuation go, and "Last, First" becomes
// "First Last". Domains are compared in Unicode (punycode is decoded first).
#pragma once

#include <string>
#include <string_view>

namespace mp::runtime {

enum class ResembleKind {
  Name,     // a display name or any other text
  Domain,   // a domain name, Unicode or punycode ("xn--...")
  Address,  // local@domain
};

// The key of `text` (UTF-8) for `kind`; "" when nothing is left to compare (a name
// made only of titles and punctuation: "Dr.", "--"). Invalid UTF-8 is replaced, never
// an error. Thread-safe. A key is opaque (it holds the skeleton and the folded text);
// key_text gives the part a person can read.
std::string resemblance_key(std::string_view text, ResembleKind kind);
// The readable part of a key: the folded text ("jane widget", "widget.com").
std::string_view key_text(std::string_view key);

// Whether two keys (from resemblance_key, same kind) name the same thing to a reader:
// the same skeleton, or one edit apart (on the skeleton or on the folded text) (a letter added, dropped,
// replaced or two letters swapped) when both keys are long enough that one edit still leaves them
// recognisable: 6 code points for domains and addresses ("widget.co" vs "widget.com"), 8 for names
// ("jon smith" vs "john smith"). Empty keys resemble nothing.
bool keys_resemble(std::string_view a, std::string_view b, ResembleKind kind);

}  // namespace mp::runtime
