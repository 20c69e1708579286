// AffixIndex: reading an anchored literal back out of its Hyperscan expression.
#include "vm/affix.h"

#include <hs/hs.h>

#include <algorithm>
#include <optional>

namespace mp::vm {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The bytes of an escape_literal() text: letters and digits as they are, every other
// byte as \xHH; nullopt for anything else.
std::optional<std::string> unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (ascii_alnum(text[i])) {
      out += text[i];
      continue;
    }
    if (text.size() - i < 4 || text[i] != '\\' || text[i + 1] != 'x') return std::nullopt;
    const int high = hex_digit(text[i + 2]), low = hex_digit(text[i + 3]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 3;
  }
  return out;
}

}  // namespace

void AffixIndex::add(uint32_t id, const PatternInfo& p) {
  std::string_view text = p.expression;
  const bool start = text.starts_with("\\A"), end = text.ends_with("\\z");
  if (start) text.remove_prefix(2);
  if (end && !text.empty()) text.remove_suffix(2);
  std::optional<std::string> literal = unescape(text);
  const bool caseless = (p.hs_flags & HS_FLAG_CASELESS) != 0;
  if ((!start && !end) || !literal || literal->empty() || literal->size() != p.literal_length ||
      (p.hs_flags & ~HS_FLAG_CASELESS) != 0)
    throw ImageError("pattern " + std::to_string(id) + " is not an anchored literal");
  if (caseless) lower(std::string(*literal), *literal);
  Table& t = tables_[(start && end ? kWhole : start ? kStart : kEnd) * 2 + (caseless ? 1 : 0)];
  const auto length = static_cast<uint32_t>(literal->size());
  auto at = std::lower_bound(t.lengths.begin(), t.lengths.end(), length);
  if (at == t.lengths.end() || *at != length) t.lengths.insert(at, length);
  t.ids[*literal].push_back(id);
  empty_ = false;
}

std::string_view AffixIndex::lower(std::string_view value, std::string& out) {
  out.assign(value);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace mp::vm
