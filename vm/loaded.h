// vm-internal: the lookup structures a Program builds from its image at load time.
#pragma once

#include <hs/hs.h>

#include <memory>
#include <string>
#include <vector>

#include "vm/affix.h"
#include "vm/ip_trie.h"
#include "vm/pcre.h"
#include "vm/string_map.h"
#include "vm/vm.h"

namespace mp::vm {

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
using HsDatabase = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;

// What the rule loop needs of each rule, packed so that skipping thousands of rules
// walks one small array instead of the debug-heavy RuleInfo table.
struct RuleHot {
  uint32_t code_begin = 0;
  uint32_t code_end = 0;
  uint32_t guard = kNoGuard;
  GuardKind guard_kind = GuardKind::None;
  uint8_t directions = kAllDirections;
  FieldId guard_field = FieldId::Subject;
  // In a stage an earlier `allow` cannot skip (antivirus, attachment_defense).
  bool mandatory = false;
  bool scoped = false;  // for some users or groups only (RuleInfo::scope_users, scope_groups)
  double expires = 0;   // RuleInfo::expires
  bool reads_bayes = false;  // its score does not count towards Bayes auto-learning
  // The counting facts it reads (is_counting_fact), computed when the rule is reached.
  std::vector<FieldId> counts;
};

// Every set of one field, merged: value → ids of the sets that contain it, so a
// field's values are each looked up once per message for all of its sets.
struct FieldSetIndex {
  StringMap<std::vector<uint32_t>> exact;
  StringMap<std::vector<uint32_t>> lowercase;
  bool empty() const { return exact.empty() && lowercase.empty(); }
};

// A field's Hyperscan databases. Those whose patterns all test one header's values
// (`header "X" matches`: the compiler groups them so) are scanned only over that
// header's values, so that no Subject or From pattern reads the Received lines.
struct FieldDatabases {
  std::vector<HsDatabase> every_value;
  StringMap<std::vector<HsDatabase>> by_header;  // by lowercase header name
  bool empty() const { return every_value.empty() && by_header.empty(); }
};

struct Program::Loaded {
  std::vector<RuleHot> rules;
  // One past the last mandatory rule (0 when there is none): an `allow` decided before
  // it waits for the mandatory rules up to here (lang::kMandatoryStages).
  uint32_t mandatory_end = 0;
  // The first rule that depends on the recipient (scoped, or reading sender_list);
  // rules.size() when none does. A message with several recipients is evaluated once
  // up to it, then once per recipient from it (interpreter.cpp).
  uint32_t split_rule = 0;
  std::vector<FieldSetIndex> field_sets;  // by FieldId
  std::vector<IpTrie> nets;
  std::vector<FieldDatabases> field_db;  // by FieldId
  std::vector<AffixIndex> affixes;       // by FieldId: its Engine::Affix patterns
  IpTrie sending_servers;
  IpTrie trusted_relays;
  StringSet org_domains;
  std::vector<FactUse> facts_used;  // every fact some instruction reads, for prefetch
  // PCRE2 for the patterns Hyperscan refuses (PatternInfo::engine), by pattern id (null
  // for Hyperscan's own); by FieldId, the ids PCRE2 runs alone on every value.
  std::vector<Pcre2Code> pcre;
  std::vector<std::vector<uint32_t>> pcre_only;
  Pcre2MatchContext pcre_context;  // regex.match_limit
  // The message's own fields (no fact) with a pattern PCRE2 runs on: all are matched
  // before message.defects is read, so that regex_limit_exceeded does not depend on
  // which rules ran first (MatchState::finish_pcre2).
  std::vector<FieldId> pcre_message_fields;
};

// Checks every instruction's operands, jump targets and the rule table against the
// image (see opcodes.def). Throws ImageError on the first problem.
void verify(const ImageData& image);

}  // namespace mp::vm
