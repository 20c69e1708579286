// vm-internal: the lookup structures a Program builds from its image at load time.
#pragma once

#include <hs/hs.h>

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "vm/ip_trie.h"
#include "vm/vm.h"

namespace mp::vm {

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
using HsDatabase = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;

struct Program::Loaded {
  std::vector<std::unordered_set<std::string>> sets;
  std::vector<IpTrie> nets;
  std::vector<HsDatabase> field_db;   // by FieldId; null when the field has no patterns
  IpTrie sending_servers;
  std::unordered_set<std::string> org_domains;
};

// Checks every instruction's operands, jump targets and the rule table against the
// image (see opcodes.def). Throws ImageError on the first problem.
void verify(const ImageData& image);

}  // namespace mp::vm
