// IpTrie: nodes in one vector, indices instead of pointers (cheap to build, no
// per-node allocation). Node 0 is the IPv4 root, node 1 the IPv6 root.
#include "vm/ip_trie.h"

namespace mp::vm {

IpTrie::IpTrie() : nodes_(2) {}

void IpTrie::insert(const runtime::Cidr& prefix) {
  int32_t node = root(prefix.base.v6);
  for (int i = 0; i < prefix.prefix_len && !nodes_[node].terminal; ++i) {
    int bit = prefix.base.bit(i);
    if (nodes_[node].child[bit] < 0) {
      nodes_[node].child[bit] = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    node = nodes_[node].child[bit];
  }
  nodes_[node].terminal = true;
}

bool IpTrie::contains(const runtime::IpAddress& ip) const {
  int32_t node = root(ip.v6);
  for (int i = 0; node >= 0; ++i) {
    if (nodes_[node].terminal) return true;
    if (i == ip.bit_width()) return false;
    node = nodes_[node].child[ip.bit(i)];
  }
  return false;
}

}  // namespace mp::vm
