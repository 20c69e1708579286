// vm-internal: what the message's fields matched, computed lazily per field and at
// most once per message. Hyperscan scans each value of a field once with the field's
// database (and its anchored literals by hash, vm/affix.h); set lookups look each value
// up once in the field's merged set index.
// Afterwards every pattern or set test is a bit test (any item) or a short scan of
// the match records (one bound item).
#pragma once

#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "vm/field_values.h"
#include "vm/loaded.h"

namespace mp::vm {

struct MatchRecord {
  static constexpr uint64_t kUnknown = UINT64_MAX;
  uint32_t id;     // pattern or set id
  uint32_t value;  // index of the value within its field
  uint32_t item;   // the item that value belongs to (FieldValues::item_of)
  uint64_t end;    // end offset of a pattern match (0 for sets)
  uint64_t begin = kUnknown;  // start offset, when the engine reports it (PCRE2)
};

class MatchTable {
 public:
  void reset(size_t ids);  // clears the bits set by the previous message only
  void mark(const MatchRecord& record);
  bool any(uint32_t id) const { return bits_[id / 64] >> (id % 64) & 1; }
  // The first record of `id` for `item` (any item when item < 0), or null: with
  // several values per item, the first of that item's values that matched.
  const MatchRecord* find(uint32_t id, int64_t item) const;

 private:
  std::vector<uint64_t> bits_;
  std::vector<MatchRecord> records_;
};

class MatchState {
 public:
  // Installs finish_pcre2 as `fields`'s regex work (MessageFields::set_regex_work)
  // until destroyed.
  MatchState(const Program& program, hs_scratch_t* scratch, MessageFields& fields, MatchTable& patterns,
             MatchTable& sets);
  ~MatchState();
  MatchState(const MatchState&) = delete;
  MatchState& operator=(const MatchState&) = delete;

  // `field` must be the pattern's (or set's) own field: the rule loop passes it from
  // its packed table so that no pattern metadata is touched for rules it skips.
  bool pattern_matched(FieldId field, uint32_t pattern) {
    if (!scanned_[static_cast<size_t>(field)]) scan(field);
    return patterns_.any(pattern);
  }
  bool set_matched(FieldId field, uint32_t set) {
    if (!looked_up_[static_cast<size_t>(field)]) look_up(field);
    return sets_.any(set);
  }
  const MatchRecord* pattern_record(FieldId field, uint32_t pattern, int64_t item) {
    return pattern_matched(field, pattern) ? patterns_.find(pattern, item) : nullptr;
  }
  // Whether PCRE2 gave up on some value for `pattern` (its backtracking limit, or the
  // message's PCRE2 time budget spent): the test read false without a true "no".
  bool pcre_gave_up(uint32_t pattern) const {
    return std::find(gave_up_.begin(), gave_up_.end(), pattern) != gave_up_.end();
  }
  const MatchRecord* set_record(FieldId field, uint32_t set, int64_t item) {
    return set_matched(field, set) ? sets_.find(set, item) : nullptr;
  }

  // Runs every PCRE2 pattern on the message's own fields not matched yet; whether PCRE2
  // gave up anywhere (regex.match_limit on a value, or regex.budget_ms, its wall time
  // for the whole message, spent: past it the remaining confirmations are not run, so a
  // crafted message with thousands of values cannot buy minutes of backtracking).
  bool finish_pcre2();

 private:
  void scan(FieldId field);
  void look_up(FieldId field);
  // The field's anchored literals (Engine::Affix) on the value being scanned.
  void look_up_affixes(const AffixIndex& affixes, std::string_view value);
  void look_up_value(const StringMap<std::vector<uint32_t>>& map, std::string_view value, uint32_t index,
                     uint32_t item);
  static int on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
                      void* context);
  // PCRE2 on value `index`: a prefilter's candidate, or a pattern PCRE2 runs alone.
  void confirm(uint32_t pattern, std::string_view value, uint32_t index, uint32_t item);

  const ImageData& im_;
  const Program::Loaded& loaded_;
  hs_scratch_t* scratch_;
  MessageFields& fields_;
  MatchTable& patterns_;
  MatchTable& sets_;
  std::array<bool, kFieldCount> scanned_{};
  std::array<bool, kFieldCount> looked_up_{};
  std::vector<uint32_t> candidates_;  // prefilter patterns Hyperscan reported for the value scanned
  Pcre2MatchData match_data_;         // made on the first PCRE2 match of the message
  double pcre_seconds_ = 0;           // spent in PCRE2 on this message
  std::vector<uint32_t> gave_up_;     // patterns PCRE2 gave up on (pcre_gave_up)
  FieldId scan_field_ = FieldId::Subject;
  uint32_t scan_value_ = 0;  // index of the value being scanned …
  uint32_t scan_item_ = 0;   // … and its item
  std::string lowered_;
};

}  // namespace mp::vm
