// Program::load: image bytes → verified, ready-to-run program. Everything that can
// be prepared once per image (hash sets, IP tries, Hyperscan databases) is built
// here so that evaluation only looks things up.
#include <cmath>

#include "vm/loaded.h"

namespace mp::vm {

namespace {

HsDatabase deserialize(const FieldDatabase& db) {
  hs_database_t* out = nullptr;
  if (hs_deserialize_database(db.serialized.data(), db.serialized.size(), &out) != HS_SUCCESS) {
    throw ImageError("the pattern database for field '" +
                     std::string(field_info(db.field).name) + "' does not deserialise");
  }
  return HsDatabase(out);
}

}  // namespace

Program::~Program() = default;

ProgramPtr Program::load(std::span<const uint8_t> bytes) {
  if (hs_valid_platform() != HS_SUCCESS) throw ImageError("Hyperscan does not support this CPU");
  std::shared_ptr<Program> program(new Program());
  program->image_ = read_image(bytes);
  verify(program->image_);

  auto loaded = std::make_unique<Loaded>();
  const ImageData& im = program->image_;
  for (const auto& set : im.sets) {
    loaded->sets.emplace_back(set.entries.begin(), set.entries.end());
  }
  for (const auto& net : im.nets) {
    IpTrie trie;
    for (const auto& prefix : net.prefixes) trie.insert(prefix);
    loaded->nets.push_back(std::move(trie));
  }
  loaded->field_db.resize(kFieldCount);
  for (const auto& db : im.databases) {
    loaded->field_db[static_cast<size_t>(db.field)] = deserialize(db);
  }
  for (const auto& prefix : im.settings.sending_servers) loaded->sending_servers.insert(prefix);
  loaded->org_domains.insert(im.settings.org_domains.begin(), im.settings.org_domains.end());
  program->loaded_ = std::move(loaded);
  return program;
}

std::string_view direction_name(Direction d) {
  switch (d) {
    case Direction::Inbound: return "inbound";
    case Direction::Outbound: return "outbound";
    case Direction::Internal: return "internal";
  }
  return "?";
}

}  // namespace mp::vm
