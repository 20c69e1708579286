// A binary prefix trie over IPv4 and IPv6 prefixes: membership of an address in a
// CIDR list costs at most 32 (v4) or 128 (v6) steps, whatever the list's size.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/ip.h"

namespace mp::vm {

class IpTrie {
 public:
  IpTrie();
  void insert(const runtime::Cidr& prefix);
  bool contains(const runtime::IpAddress& ip) const;
  // Whether no prefix was inserted.
  bool empty() const { return nodes_.size() == 2 && !nodes_[0].terminal && !nodes_[1].terminal; }

 private:
  struct Node {
    int32_t child[2] = {-1, -1};
    bool terminal = false;
  };
  int32_t root(bool v6) const { return v6 ? 1 : 0; }
  std::vector<Node> nodes_;
};

}  // namespace mp::vm
