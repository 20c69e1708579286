// MatchTable and MatchState: lazy per-field scanning and set lookups.
#include "vm/match_state.h"

#include <algorithm>
#include <chrono>

namespace mp::vm {

void MatchTable::reset(size_t ids) {
  if (bits_.size() != (ids + 63) / 64) bits_.assign((ids + 63) / 64, 0);
  for (const auto& r : records_) bits_[r.id / 64] = 0;
  records_.clear();
}

void MatchTable::mark(const MatchRecord& record) {
  bits_[record.id / 64] |= uint64_t{1} << (record.id % 64);
  records_.push_back(record);
}

const MatchRecord* MatchTable::find(uint32_t id, int64_t item) const {
  for (const auto& r : records_) {
    if (r.id == id && (item < 0 || r.item == item)) return &r;
  }
  return nullptr;
}

MatchState::MatchState(const Program& program, hs_scratch_t* scratch, MessageFields& fields,
                       MatchTable& patterns, MatchTable& sets)
    : im_(program.image()),
      loaded_(program.loaded()),
      scratch_(scratch),
      fields_(fields),
      patterns_(patterns),
      sets_(sets) {
  fields_.set_regex_work([this] { return finish_pcre2(); });
}

MatchState::~MatchState() {
  fields_.set_regex_work({});
}

bool MatchState::finish_pcre2() {
  for (const FieldId field : loaded_.pcre_message_fields) {
    if (!scanned_[static_cast<size_t>(field)]) scan(field);
  }
  return !gave_up_.empty();
}

int MatchState::on_match(unsigned int id, unsigned long long, unsigned long long to, unsigned int,
                         void* context) {
  auto* self = static_cast<MatchState*>(context);
  // A crafted database cannot index past the table or report another field's pattern.
  if (id >= self->im_.patterns.size() || self->im_.patterns[id].field != self->scan_field_) return 0;
  const PatternInfo& p = self->im_.patterns[id];
  if (!p.header_filter.empty() &&
      self->fields_.item_argument(p.field, self->scan_value_) != p.header_filter) {
    return 0;
  }
  if (p.engine == Engine::Prefilter) {
    self->candidates_.push_back(id);
  } else {
    self->patterns_.mark({id, self->scan_value_, self->scan_item_, to});
  }
  return 0;
}

void MatchState::confirm(uint32_t pattern, std::string_view value, uint32_t index, uint32_t item) {
  const auto note_gave_up = [&] {
    if (!pcre_gave_up(pattern)) gave_up_.push_back(pattern);
  };
  if (pcre_seconds_ * 1000 > im_.settings.regex_limits.budget_ms) return note_gave_up();
  if (!match_data_) match_data_ = make_match_data();
  const auto start = std::chrono::steady_clock::now();
  const Pcre2Result r =
      match_pcre2(loaded_.pcre[pattern].get(), match_data_.get(), value, loaded_.pcre_context.get());
  pcre_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (r.gave_up) note_gave_up();
  if (r.match) patterns_.mark({pattern, index, item, r.match->end, r.match->begin});
}

void MatchState::scan(FieldId field) {
  auto f = static_cast<size_t>(field);
  const auto& databases = loaded_.field_db[f];
  const auto& pcre_only = loaded_.pcre_only[f];
  const AffixIndex& affixes = loaded_.affixes[f];
  if (databases.empty() && pcre_only.empty() && affixes.empty()) {
    scanned_[f] = true;
    return;
  }
  // A fact that could not be computed throws here, and is not marked scanned: each
  // recipient's run reads it again and stops on it too (rather than read "no match").
  const FieldValues& field_values = fields_.values(field);
  scanned_[f] = true;
  const auto& values = field_values.text;
  scan_field_ = field;
  for (uint32_t i = 0; i < values.size(); ++i) {
    scan_value_ = i;
    scan_item_ = field_values.item_of(i);
    const auto scan_with = [&](const std::vector<HsDatabase>& dbs) {
      for (const auto& db : dbs) {
        hs_scan(db.get(), values[i].data(), static_cast<unsigned int>(values[i].size()), 0, scratch_,
                on_match, this);
      }
    };
    scan_with(databases.every_value);
    if (!databases.by_header.empty()) {
      auto it = databases.by_header.find(fields_.item_argument(field, i));
      if (it != databases.by_header.end()) scan_with(it->second);
    }
    for (const uint32_t id : candidates_) confirm(id, values[i], i, scan_item_);
    candidates_.clear();
    if (!affixes.empty()) look_up_affixes(affixes, values[i]);
    for (const uint32_t id : pcre_only) {
      const std::string& filter = im_.patterns[id].header_filter;
      if (filter.empty() || fields_.item_argument(field, i) == filter) confirm(id, values[i], i, scan_item_);
    }
  }
}

void MatchState::look_up_affixes(const AffixIndex& affixes, std::string_view value) {
  affixes.look_up(value, lowered_, [&](uint32_t id, uint64_t end) {
    const std::string& filter = im_.patterns[id].header_filter;
    if (filter.empty() || fields_.item_argument(scan_field_, scan_value_) == filter)
      patterns_.mark({id, scan_value_, scan_item_, end});
  });
}

void MatchState::look_up_value(const StringMap<std::vector<uint32_t>>& map, std::string_view value,
                               uint32_t index, uint32_t item) {
  auto it = map.find(value);
  if (it == map.end()) return;
  for (uint32_t id : it->second) {
    const std::string& filter = im_.sets[id].header_filter;
    if (filter.empty() || fields_.item_argument(im_.sets[id].field, index) == filter)
      sets_.mark({id, index, item, 0});
  }
}

void MatchState::look_up(FieldId field) {
  auto f = static_cast<size_t>(field);
  const FieldSetIndex& index = loaded_.field_sets[f];
  const FieldValues& field_values = fields_.values(field);  // may throw, as in scan()
  looked_up_[f] = true;
  const auto& values = field_values.text;
  for (uint32_t i = 0; i < values.size(); ++i) {
    const uint32_t item = field_values.item_of(i);
    if (!index.exact.empty()) look_up_value(index.exact, values[i], i, item);
    if (!index.lowercase.empty()) {
      lowered_.assign(values[i]);
      std::transform(lowered_.begin(), lowered_.end(), lowered_.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      look_up_value(index.lowercase, lowered_, i, item);
    }
  }
}

}  // namespace mp::vm
