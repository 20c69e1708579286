// Deduplicating tables of what conditions test: Hyperscan patterns (shared between
// rules when identical, as in Suricata's prefilter), hash sets and IP nets. The
// compiled databases are built from the pattern table once every rule is checked.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "compiler/regex_atoms.h"
#include "lang/diagnostics.h"
#include "vm/image.h"

namespace mp::compiler {

// retain(): the new id of each old one, kDropped for an entry not kept.
inline constexpr uint32_t kDropped = UINT32_MAX;

class PatternTable {
 public:
  // A literal test (contains / starts with / ends with) on a field.
  uint32_t add_literal(vm::FieldId field, std::string_view literal, bool anchored_start,
                       bool anchored_end, bool caseless, std::string header_filter,
                       std::string source, lang::Span span);
  // A regex test; flags are Hyperscan flags.
  uint32_t add_regex(vm::FieldId field, std::string expression, uint32_t hs_flags,
                     std::string header_filter, std::string source, lang::Span span);

  // Compiles the Hyperscan databases of each field. A regex Hyperscan refuses goes to
  // PCRE2 (PatternInfo::engine), behind a prefilter where Hyperscan can make one; one
  // neither engine compiles is E030 at the span of its first use.
  // assign_engines first: Hyperscan's analysis of each regex, no database built.
  void assign_engines(lang::Diagnostics& diagnostics);
  std::vector<vm::FieldDatabase> build(lang::Diagnostics& diagnostics);

  // Keeps the patterns with used[id] set, in order, and returns each old id's new one
  // (kDropped for the rest): a pattern no rule reads is then neither compiled nor
  // scanned. After assign_engines, so that every pattern written is still checked.
  std::vector<uint32_t> retain(const std::vector<bool>& used);

  const std::vector<vm::PatternInfo>& patterns() const { return patterns_; }
  lang::Span first_use(uint32_t id) const { return first_use_[id]; }

 private:
  struct Refusal {
    uint32_t id;
    std::string reason;  // Hyperscan's
  };
  uint32_t intern(vm::PatternInfo info, lang::Span span, std::string plain_literal);
  // What may find candidates for PCRE2 when Hyperscan cannot run a pattern.
  enum class Prefilters { Any, AtomsOnly, None };
  void demote(uint32_t id, const std::string& hyperscan_reason, Prefilters prefilters,
              lang::Diagnostics& diagnostics);
  void prefilter_by_atoms(uint32_t id, RequiredAtoms atoms);
  bool in_literal_group(uint32_t id) const {
    return !plain_literals_[id].empty() || !atoms_[id].literals.empty();
  }
  std::vector<std::vector<uint32_t>> groups() const;
  std::optional<vm::FieldDatabase> compile_group(std::vector<uint32_t> members,
                                                 std::vector<Refusal>& refused) const;

  std::vector<vm::PatternInfo> patterns_;
  std::vector<lang::Span> first_use_;
  std::vector<std::string> plain_literals_;  // the bytes of unanchored literals, "" for the rest
  // For a pattern PCRE2 decides behind its required text (PatternInfo::prefilter): the
  // literals, which go into the field's literal database.
  std::vector<RequiredAtoms> atoms_;
  std::map<std::tuple<vm::FieldId, std::string, uint32_t, std::string, std::string>, uint32_t> index_;
};

class SetTable {
 public:
  uint32_t add(vm::SetInfo set);
  std::vector<uint32_t> retain(const std::vector<bool>& used);  // as PatternTable's
  std::vector<vm::SetInfo> take() { return std::move(sets_); }
  const std::vector<vm::SetInfo>& sets() const { return sets_; }

 private:
  std::vector<vm::SetInfo> sets_;
  std::map<std::tuple<vm::FieldId, vm::Fold, std::string, std::vector<std::string>, std::string>, uint32_t> index_;
};

class NetTable {
 public:
  uint32_t add(vm::NetInfo net);
  std::vector<uint32_t> retain(const std::vector<bool>& used);  // as PatternTable's
  std::vector<vm::NetInfo> take() { return std::move(nets_); }
  const std::vector<vm::NetInfo>& nets() const { return nets_; }

 private:
  std::vector<vm::NetInfo> nets_;
  std::map<std::vector<std::string>, uint32_t> index_;
};

// "\x2e"-style escaping of every byte that is not a letter or digit, so any literal
// is a valid Hyperscan expression that matches exactly itself.
std::string escape_literal(std::string_view literal);

// The text of a literal pattern (PatternTable::add_literal: literal_length > 0), its
// anchors dropped: escape_literal's inverse. "" for a regex.
std::string literal_text(const vm::PatternInfo& pattern);

// Whether add_literal anchored the literal pattern at the start (`starts with`) or at
// the end (`ends with`).
inline bool is_prefix_pattern(const vm::PatternInfo& p) {
  return p.expression.starts_with("\\A");
}
inline bool is_suffix_pattern(const vm::PatternInfo& p) {
  return p.expression.ends_with("\\z");
}

}  // namespace mp::compiler
