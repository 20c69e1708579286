// Resemblance keys with ICU: NFKC, the TR #39 confusable skeleton (uspoof) and case
// folding; names are reduced to their words first. See resemble.h.
#include "runtime/resemble.h"

#include <idn2.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uspoof.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

namespace mp::runtime {

namespace {

struct SpoofCheckerDeleter {
  void operator()(USpoofChecker* checker) const { uspoof_close(checker); }
};

// ICU documents a configured checker as safe for concurrent skeleton calls.
const USpoofChecker* spoof_checker() {
  static const std::unique_ptr<USpoofChecker, SpoofCheckerDeleter> checker = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<USpoofChecker, SpoofCheckerDeleter> c(uspoof_open(&status));
    return U_SUCCESS(status) ? std::move(c) : nullptr;
  }();
  return checker.get();
}

icu::UnicodeString normalized(const icu::UnicodeString& text, bool casefold) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = casefold ? icu::Normalizer2::getNFKCCasefoldInstance(status)
                                       : icu::Normalizer2::getNFKCInstance(status);
  if (U_FAILURE(status)) return text;
  icu::UnicodeString out = n->normalize(text, status);
  return U_SUCCESS(status) ? out : text;
}

icu::UnicodeString skeleton(const icu::UnicodeString& text) {
  const USpoofChecker* checker = spoof_checker();
  if (checker == nullptr) return text;
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString out;
  uspoof_getSkeletonUnicodeString(checker, 0, text, out, &status);
  return U_SUCCESS(status) ? out : text;
}

// Invisible characters (zero-width space and joiners, soft hyphen, BOM) hide nothing
// from a reader, so they hide nothing from the key either.
icu::UnicodeString without_ignorables(const icu::UnicodeString& text) {
  icu::UnicodeString out;
  for (int32_t i = 0; i < text.length(); i = text.moveIndex32(i, 1)) {
    UChar32 c = text.char32At(i);
    if (!u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) out.append(c);
  }
  return out;
}

// A key is "SKELETON\nFOLDED". The skeleton (taken before folding, so that "BiII" with
// capital i keeps looking like "Bill"; folded and skeletonised again so that case and
// the first pass's capital prototypes, "0" → "O", do not matter) makes look-alike
// letters equal; the folded text is what a slip of the keyboard is measured on, since
// the skeleton spells some letters as two ("m" → "rn"). Empty when nothing is left.
std::string key_of(const icu::UnicodeString& text) {
  const icu::UnicodeString visible = without_ignorables(normalized(text, false));
  icu::UnicodeString folded = normalized(visible, true);
  if (folded.isEmpty()) return {};
  icu::UnicodeString s = normalized(skeleton(visible), true);
  s = normalized(skeleton(s), true);
  std::string out;
  s.toUTF8String(out);
  out += '\n';
  folded.toUTF8String(out);
  return out;
}

bool is_word_char(UChar32 c) {
  return u_isalnum(c) || (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0;
}

// Words that name a role or a form of address, not the person ("Dr. Jane Widget",
// "Jane Widget, CEO", "Widget Jr"), compared casefolded.
bool is_title(const icu::UnicodeString& folded_word) {
  static constexpr std::array<const char16_t*, 34> kTitles = {
      u"mr",  u"mrs",  u"ms",    u"miss", u"mx",   u"dr",        u"prof",     u"professor",
      u"sir", u"dame", u"madam", u"mme",  u"mlle", u"herr",      u"frau",     u"jr",
      u"sr",  u"ii",   u"iii",   u"iv",   u"phd",  u"md",        u"esq",      u"ceo",
      u"cfo", u"coo",  u"cto",   u"cio",  u"vp",   u"president", u"chairman", u"director"};
  return std::any_of(kTitles.begin(), kTitles.end(),
                     [&](const char16_t* t) { return folded_word == icu::UnicodeString(t); });
}

// Text outside (), [], {} and <>: "Jane Widget (via LinkedIn)" is Jane Widget.
icu::UnicodeString without_remarks(const icu::UnicodeString& text) {
  icu::UnicodeString out;
  int depth = 0;
  for (int32_t i = 0; i < text.length(); i = text.moveIndex32(i, 1)) {
    UChar32 c = text.char32At(i);
    if (c == '(' || c == '[' || c == '{' || c == '<') {
      ++depth;
    } else if ((c == ')' || c == ']' || c == '}' || c == '>') && depth > 0) {
      --depth;
      out.append(static_cast<UChar32>(' '));
    } else if (depth == 0) {
      out.append(c);
    }
  }
  return out;
}

// The words of one comma-separated part that name the person: no titles, no initials.
std::vector<icu::UnicodeString> name_words(const icu::UnicodeString& part) {
  std::vector<icu::UnicodeString> words;
  icu::UnicodeString word;
  auto flush = [&] {
    icu::UnicodeString folded = normalized(word, true);
    if (word.countChar32() > 1 && !is_title(folded)) words.push_back(word);
    word.remove();
  };
  for (int32_t i = 0; i < part.length(); i = part.moveIndex32(i, 1)) {
    UChar32 c = part.char32At(i);
    if (is_word_char(c)) {
      word.append(c);
    } else if (!u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) {
      flush();  // an invisible character inside a word does not split it
    }
  }
  flush();
  return words;
}

// "Widget, Jane" → "Jane Widget"; "Jane Widget, Finance" → "Jane Widget".
icu::UnicodeString name_text(const icu::UnicodeString& text) {
  std::vector<std::vector<icu::UnicodeString>> parts;
  icu::UnicodeString rest = without_remarks(normalized(text, false));
  while (true) {
    int32_t comma = rest.indexOf(u',');
    auto words = name_words(comma < 0 ? rest : icu::UnicodeString(rest, 0, comma));
    if (!words.empty()) parts.push_back(std::move(words));
    if (comma < 0) break;
    rest.remove(0, comma + 1);
  }
  if (parts.empty()) return {};
  std::vector<icu::UnicodeString> words = parts[0];
  if (parts.size() >= 2 && parts[0].size() == 1) {
    words = parts[1];
    words.push_back(parts[0][0]);
  }
  icu::UnicodeString out;
  for (const auto& w : words) {
    if (!out.isEmpty()) out.append(u' ');
    out.append(w);
  }
  return out;
}

std::string unicode_domain(std::string_view domain) {
  std::string input(domain);
  char* decoded = nullptr;
  if (idn2_to_unicode_8z8z(input.c_str(), &decoded, 0) == IDN2_OK && decoded != nullptr) {
    input = decoded;
  }
  idn2_free(decoded);
  while (!input.empty() && input.back() == '.') input.pop_back();
  return input;
}

std::string domain_key(std::string_view domain) {
  return key_of(icu::UnicodeString::fromUTF8(unicode_domain(domain)));
}

// Optimal string alignment distance over code points, capped: only "0, 1 or more"
// matters here.
int edit_distance(const icu::UnicodeString& a, const icu::UnicodeString& b) {
  std::vector<UChar32> x, y;
  for (int32_t i = 0; i < a.length(); i = a.moveIndex32(i, 1)) x.push_back(a.char32At(i));
  for (int32_t i = 0; i < b.length(); i = b.moveIndex32(i, 1)) y.push_back(b.char32At(i));
  if (x.size() > y.size() + 1 || y.size() > x.size() + 1) return 2;
  std::vector<std::vector<int>> d(x.size() + 1, std::vector<int>(y.size() + 1));
  for (size_t i = 0; i <= x.size(); ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= y.size(); ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= x.size(); ++i) {
    for (size_t j = 1; j <= y.size(); ++j) {
      const int cost = x[i - 1] == y[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[x.size()][y.size()];
}

}  // namespace

std::string resemblance_key(std::string_view text, ResembleKind kind) {
  switch (kind) {
    case ResembleKind::Name:
      return key_of(name_text(icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), text.size()))));
    case ResembleKind::Domain: return domain_key(text);
    case ResembleKind::Address: {
      const size_t at = text.rfind('@');
      if (at == std::string_view::npos) return domain_key(text);
      std::string local = key_of(icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), at)));
      return local + "@" + domain_key(text.substr(at + 1));
    }
  }
  return {};
}

std::string_view key_text(std::string_view key) {
  const size_t newline = key.find('\n');
  return newline == std::string_view::npos ? key : key.substr(newline + 1);
}

bool keys_resemble(std::string_view a, std::string_view b, ResembleKind kind) {
  if (a.empty() || b.empty()) return false;
  const size_t na = a.find('\n'), nb = b.find('\n');
  if (na == std::string_view::npos || nb == std::string_view::npos) return a == b;
  if (a.substr(0, na) == b.substr(0, nb)) return true;  // same skeleton
  const int32_t needed = kind == ResembleKind::Name ? 8 : 6;
  auto one_edit = [needed](std::string_view x, std::string_view y) {
    const auto ux = icu::UnicodeString::fromUTF8(icu::StringPiece(x.data(), x.size()));
    const auto uy = icu::UnicodeString::fromUTF8(icu::StringPiece(y.data(), y.size()));
    return std::min(ux.countChar32(), uy.countChar32()) >= needed && edit_distance(ux, uy) <= 1;
  };
  return one_edit(a.substr(0, na), b.substr(0, nb)) || one_edit(a.substr(na + 1), b.substr(nb + 1));
}

}  // namespace mp::runtime
