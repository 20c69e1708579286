// Hash slots, slot maps and redirections of a Redis Cluster (redis_cluster.h).
#include "state/redis_cluster.h"

#include <algorithm>

#include <charconv>

namespace mp::state {
namespace {

// CRC16-CCITT, polynomial 0x1021, initial 0, as the cluster specification defines it.
uint16_t crc16(std::string_view data) {
  uint16_t crc = 0;
  for (const char c : data) {
    crc ^= static_cast<uint16_t>(static_cast<uint8_t>(c) << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc =
          (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::optional<long long> number(std::string_view text) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

uint16_t key_slot(std::string_view key) {
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % kClusterSlots;
}

std::optional<SlotMap> parse_cluster_slots(const redisReply* reply, const std::string& seed_host) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return std::nullopt;
  SlotMap map;
  constexpr uint16_t kNone = UINT16_MAX;
  map.owner.assign(kClusterSlots, kNone);
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* range = reply->element[i];
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) return std::nullopt;
    const redisReply* master = range->element[2];
    if (range->element[0]->type != REDIS_REPLY_INTEGER || range->element[1]->type != REDIS_REPLY_INTEGER ||
        master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
        master->element[0]->type != REDIS_REPLY_STRING || master->element[1]->type != REDIS_REPLY_INTEGER)
      return std::nullopt;
    const long long first = range->element[0]->integer, last = range->element[1]->integer;
    if (first < 0 || last >= kClusterSlots || first > last) return std::nullopt;
    std::string host(master->element[0]->str, master->element[0]->len);
    if (host.empty() || host == "?") host = seed_host;
    const std::string name = host + ":" + std::to_string(master->element[1]->integer);
    size_t index = 0;
    while (index < map.nodes.size() && map.nodes[index] != name) ++index;
    if (index == map.nodes.size()) map.nodes.push_back(name);
    for (long long slot = first; slot <= last; ++slot)
      map.owner[static_cast<size_t>(slot)] = static_cast<uint16_t>(index);
  }
  for (const uint16_t owner : map.owner) {
    if (owner == kNone) return std::nullopt;
  }
  return map;
}

void SlotMap::move(uint16_t slot, const std::string& node) {
  auto known = std::find(nodes.begin(), nodes.end(), node);
  if (known == nodes.end()) known = nodes.insert(nodes.end(), node);
  owner[slot] = static_cast<uint16_t>(known - nodes.begin());
}

std::optional<Redirection> parse_redirection(std::string_view error) {
  Redirection out;
  if (error.starts_with("ASK ")) {
    out.ask = true;
    error.remove_prefix(4);
  } else if (error.starts_with("MOVED ")) {
    error.remove_prefix(6);
  } else {
    return std::nullopt;
  }
  const size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto slot = number(error.substr(0, space));
  if (!slot || *slot < 0 || *slot >= kClusterSlots) return std::nullopt;
  out.slot = static_cast<uint16_t>(*slot);
  out.node = std::string(error.substr(space + 1));
  if (!split_node_name(out.node)) return std::nullopt;
  return out;
}

std::optional<std::pair<std::string, int>> split_node_name(std::string_view name) {
  const size_t colon = name.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const auto port = number(name.substr(colon + 1));
  if (!port || *port <= 0 || *port > 65535) return std::nullopt;
  return std::pair{std::string(name.substr(0, colon)), static_cast<int>(*port)};
}

}  // namespace mp::state
