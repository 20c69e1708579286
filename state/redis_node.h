// Private to state/: one connection to one Redis server, through hiredis's synchronous
// API, and the commands sent on it. The store (redis_store.cpp) pipelines commands on
// one node or, for a Redis Cluster, on each node that holds their keys.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::state {

using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

// A command as its words (binary-safe). The key it is routed by in a cluster is its
// second word (GET, SET, DEL, INCRBYFLOAT, PEXPIRE, PTTL all take one key first).
class Command {
 public:
  Command& operator<<(std::string_view word) {
    words_.emplace_back(word);
    return *this;
  }
  std::string_view key() const {
    return words_.size() > 1 ? std::string_view(words_[1]) : std::string_view();
  }
  int argc() const { return static_cast<int>(words_.size()); }
  std::vector<const char*> argv() const;
  std::vector<size_t> lengths() const;

 private:
  std::vector<std::string> words_;
};

// The text of a string reply (GET's value); nullopt for nil or any other type.
std::optional<std::string> string_of(const redisReply* reply);

// One server: "127.0.0.1", 6379 (port 0: host is a unix socket's path), database db.
// Every failure to talk to it throws NodeError with hiredis's reason; an error reply
// (MOVED, WRONGTYPE) is a reply, returned to the caller.
struct NodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What AUTH sends after connecting (Redis 6 ACL user, or only the password); nothing
// when the password is empty.
struct RedisCredentials {
  std::string user, password;
};

class RedisNode {
 public:
  RedisNode(std::string host, int port, int db, std::chrono::milliseconds timeout,
            RedisCredentials credentials = {});
  ~RedisNode();
  RedisNode(const RedisNode&) = delete;
  RedisNode& operator=(const RedisNode&) = delete;

  // "host:port" (or the socket's path): how a cluster's redirections name it.
  std::string name() const;
  // Queues the command on the connection (connecting first if need be).
  void append(const Command& command);
  // Writes everything queued, so that several nodes work on their pipelines at once.
  void flush();
  // The next reply, waited for at most the timeout.
  ReplyPtr read();

 private:
  void connect();

  std::string host_;
  int port_, db_;
  std::chrono::milliseconds timeout_;
  RedisCredentials credentials_;

  std::string failure() const;
  // Sends one command and waits for its reply; an error reply throws NodeError.
  void command(std::initializer_list<std::string_view> words);
  redisContext* context_ = nullptr;
};

}  // namespace mp::state
