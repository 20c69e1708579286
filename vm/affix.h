// vm-internal: the anchored literals of one field (`starts with`, `ends with`:
// Engine::Affix), found by hash lookups of the value's prefix and suffix of each length
// some literal has, instead of a Hyperscan scan. A field with 12,500 `ends with`
// domains needed 32 anchored-literal databases, each scanned over every value and
// each about 0.6 s to compile; looked up, a 20-byte domain costs about 20 lookups.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vm/image.h"
#include "vm/string_map.h"

namespace mp::vm {

class AffixIndex {
 public:
  // Adds pattern `id`, an Engine::Affix pattern: its expression is an escaped literal
  // (compiler's escape_literal) after `\A`, before `\z`, or both. Throws ImageError when
  // it is not (a damaged or foreign image).
  void add(uint32_t id, const PatternInfo& p);
  bool empty() const { return empty_; }

  // Calls found(id, end) for each pattern whose literal is value's prefix (end = the
  // literal's length), suffix or whole value (end = the value's length). `lowered` is
  // scratch for the ASCII-lowercased value, made only when a caseless literal exists.
  template <typename Found>
  void look_up(std::string_view value, std::string& lowered, const Found& found) const {
    for (size_t caseless = 0; caseless < 2; ++caseless) {
      if (caseless_empty(caseless)) continue;
      const std::string_view v = caseless ? lower(value, lowered) : value;
      for (size_t anchor = 0; anchor < kAnchors; ++anchor) {
        const Table& t = tables_[anchor * 2 + caseless];
        for (const uint32_t length : t.lengths) {
          if (length > v.size()) break;  // lengths ascend
          if (anchor == kWhole && length != v.size()) continue;
          const size_t at = anchor == kStart ? 0 : v.size() - length;
          auto it = t.ids.find(v.substr(at, length));
          if (it == t.ids.end()) continue;
          for (const uint32_t id : it->second) found(id, static_cast<uint64_t>(at + length));
        }
      }
    }
  }

 private:
  enum Anchor : size_t { kStart, kEnd, kWhole, kAnchors };
  struct Table {
    std::vector<uint32_t> lengths;  // ascending, each once
    StringMap<std::vector<uint32_t>> ids;
  };
  bool caseless_empty(size_t caseless) const {
    for (size_t anchor = 0; anchor < kAnchors; ++anchor)
      if (!tables_[anchor * 2 + caseless].ids.empty()) return false;
    return true;
  }
  static std::string_view lower(std::string_view value, std::string& out);

  std::array<Table, kAnchors * 2> tables_;  // [anchor * 2 + caseless]
  bool empty_ = true;
};

}  // namespace mp::vm
