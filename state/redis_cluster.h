// Private to state/: what a client of a Redis Cluster needs to know of it, after the
// Redis Cluster specification (redis.io/docs/reference/cluster-spec): which of the
// 16384 hash slots a key is in, which node serves each slot (CLUSTER SLOTS), and the
// MOVED and ASK redirections a node answers for a slot it does not serve.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::state {

inline constexpr uint16_t kClusterSlots = 16384;

// The slot of `key`: CRC16 (XMODEM) of the key, or of its hash tag (the text between
// its first '{' and the next '}', when not empty), modulo 16384 (spec: "Keys hash tags").
uint16_t key_slot(std::string_view key);

// Which node serves each slot, by name ("host:port").
struct SlotMap {
  std::vector<std::string> nodes;  // names, each once
  std::vector<uint16_t> owner;     // per slot: index into nodes; empty when not a cluster
  bool empty() const { return owner.empty(); }
  const std::string& node_of(uint16_t slot) const { return nodes[owner[slot]]; }
  // `slot` is served by `node` now (a MOVED redirection), whatever the map said.
  void move(uint16_t slot, const std::string& node);
};

// The map from a CLUSTER SLOTS reply (an array of [first, last, [host, port, id], replicas…]);
// an empty host means `seed_host`, the one the client asked. nullopt when the reply is
// not such an array or leaves a slot without a node (the cluster is not ready).
std::optional<SlotMap> parse_cluster_slots(const redisReply* reply, const std::string& seed_host);

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381".
struct Redirection {
  bool ask = false;  // ASK: this one command only, after ASKING; MOVED: the slot moved
  uint16_t slot = 0;
  std::string node;  // "host:port"
};
std::optional<Redirection> parse_redirection(std::string_view error);

// "host:port" (the host may be an IPv6 address) split at its last colon.
std::optional<std::pair<std::string, int>> split_node_name(std::string_view name);

}  // namespace mp::state
