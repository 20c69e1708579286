// Private to state/: the two stores' constructors and what they share.
#pragma once

#include <string>

#include "state/redis_node.h"
#include "state/store.h"

namespace mp::state {

// Numbers are stored as decimal text, as Redis's INCRBYFLOAT keeps them: the shortest
// text that reads back as the same double. Text that is not a number reads as 0.
std::string format_number(double value);
double parse_number(std::string_view text);

std::unique_ptr<Store> open_lmdb_store(const std::string& path, const StoreOptions& options);

struct RedisAddress {
  std::string host;  // or the unix socket's path
  int port = 0;      // 0: a unix socket
  int db = 0;
  RedisCredentials credentials;  // redis://[USER]:PASSWORD@HOST:PORT: AUTH on connecting
};
std::unique_ptr<Store> open_redis_store(const RedisAddress& address, const StoreOptions& options);

}  // namespace mp::state
