// The Redis store: a standalone server or a Redis Cluster, found out at connect (CLUSTER
// SLOTS answers, or is refused by a server without cluster support). Commands are
// pipelined: all on the one server, or for a cluster grouped by the node that serves
// each key's hash slot, every node's pipeline written before any reply is read; a
// MOVED reply re-reads the slot map and sends the command again, an ASK sends it once
// to the node named, after ASKING (redis_cluster.h). One command (or pipeline) at a
// time under a mutex; each answer is waited for at most options.timeout. A failure
// (refused, timed out, an error reply) drops every connection and marks the store
// down for options.retry_after, during which every call throws at once: a dead or hung
// Redis costs a message nothing but the first timeout. Expiry is Redis's own (PX on
// SET, PEXPIRE after INCRBYFLOAT).
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <type_traits>

#include "state/redis_cluster.h"
#include "state/redis_node.h"
#include "state/store_impl.h"

namespace mp::state {
namespace {

constexpr int kMaxRedirections = 5;

long long milliseconds(double seconds) {
  return std::max(1LL, std::llround(std::min(seconds, kLongestTtl) * 1000));
}

// Glob characters of a SCAN MATCH pattern, escaped so that a prefix matches itself.
std::string match_prefix(std::string_view prefix) {
  std::string out;
  for (const char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out + "*";
}

class RedisStore final : public Store {
 public:
  RedisStore(RedisAddress address, const StoreOptions& options)
      : address_(std::move(address)),
        timeout_(options.timeout),
        retry_after_(options.retry_after),
        clock_(options.clock ? options.clock : system_clock_now) {}
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  std::optional<std::string> get(std::string_view key) override {
    Command c;
    c << "GET" << key;
    return string_of(run({c}).front().get());
  }

  std::vector<std::optional<std::string>> get_many(std::span<const std::string> keys) override {
    std::vector<std::optional<std::string>> out;
    if (keys.empty()) return out;
    if (cluster()) {  // MGET takes the keys of one slot only: a GET each, pipelined per node
      std::vector<Command> commands;
      for (const auto& key : keys) commands.push_back(std::move(Command() << "GET" << key));
      for (const auto& reply : run(commands)) out.push_back(string_of(reply.get()));
      return out;
    }
    Command c;
    c << "MGET";
    for (const auto& key : keys) c << key;
    const auto replies = run({c});
    const redisReply* array = replies.front().get();
    for (size_t i = 0; i < array->elements; ++i) out.push_back(string_of(array->element[i]));
    return out;
  }

  void put(std::string_view key, std::string_view value, double ttl) override {
    Command c;
    c << "SET" << key << value;
    if (ttl > 0) c << "PX" << std::to_string(milliseconds(ttl));
    run({c});
  }

  bool erase(std::string_view key) override {
    Command c;
    c << "DEL" << key;
    return run({c}).front()->integer > 0;
  }

  std::vector<double> add(std::span<const std::pair<std::string, double>> deltas, double ttl) override {
    std::vector<Command> commands;
    for (const auto& [key, delta] : deltas) {
      Command incr;
      incr << "INCRBYFLOAT" << key << format_number(delta);
      commands.push_back(std::move(incr));
      if (ttl > 0) {
        Command expire;
        expire << "PEXPIRE" << key << std::to_string(milliseconds(ttl));
        commands.push_back(std::move(expire));
      }
    }
    const auto replies = run(commands);
    std::vector<double> out;
    for (size_t i = 0; i<replies.size(); i += ttl> 0 ? 2 : 1) {
      out.push_back(parse_number(string_of(replies[i].get()).value_or("0")));
    }
    return out;
  }

  // SCAN on the server, or on each node of a cluster in turn.
  std::vector<std::string> keys(std::string_view prefix, size_t limit) override {
    std::vector<std::string> out;
    for (const std::string& node : node_names()) {
      std::string cursor = "0";
      do {
        Command c;
        c << "SCAN" << cursor << "MATCH" << match_prefix(prefix) << "COUNT"
          << "1000";
        const ReplyPtr reply = run_on(node, c);
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) fail("SCAN: unexpected reply");
        cursor = string_of(reply->element[0]).value_or("0");
        const redisReply* found = reply->element[1];
        for (size_t i = 0; i < found->elements && out.size() < limit; ++i) {
          if (auto key = string_of(found->element[i])) out.push_back(std::move(*key));
        }
      } while (cursor != "0" && out.size() < limit);
    }
    return out;
  }

  std::vector<Entry> entries(std::string_view prefix, size_t limit) override {
    const std::vector<std::string> names = keys(prefix, limit);
    std::vector<Command> commands;
    for (const auto& key : names) {
      Command get, pttl;
      get << "GET" << key;
      pttl << "PTTL" << key;
      commands.push_back(std::move(get));
      commands.push_back(std::move(pttl));
    }
    const auto replies = run(commands);
    const double now = clock_();
    std::vector<Entry> out;
    for (size_t i = 0; i < names.size(); ++i) {
      auto value = string_of(replies[2 * i].get());
      const long long left = replies[2 * i + 1]->integer;  // -1: no expiry, -2: gone
      if (!value || left == -2) continue;
      out.push_back({names[i], std::move(*value), left >= 0 ? now + static_cast<double>(left) / 1000 : 0});
    }
    return out;
  }

  bool restore(const Entry& entry) override {
    const double left = entry.expires == 0 ? 0 : entry.expires - clock_();
    if (entry.expires != 0 && left <= 0) return false;
    put(entry.key, entry.value, left);
    return true;
  }

  size_t purge_expired(size_t) override { return 0; }

  std::string describe() const override {
    return address_.port == 0 ? "redis+unix:" + address_.host + "?db=" + std::to_string(address_.db)
                              : "redis://" + address_.host + ":" + std::to_string(address_.port) + "/" +
                                    std::to_string(address_.db);
  }

 private:
  // Sends `commands` and returns their replies, in order. Throws StoreUnavailable (and
  // drops every connection) when any of them fails.
  std::vector<ReplyPtr> run(const std::vector<Command>& commands) {
    return connected([&] { return route(commands); });
  }

  // One command to the node named (SCAN walks each node's keys).
  ReplyPtr run_on(const std::string& name, const Command& command) {
    return connected([&] {
      RedisNode& node = node_named(name);
      node.append(command);
      ReplyPtr reply = node.read();
      if (reply->type == REDIS_REPLY_ERROR) throw NodeError(std::string(reply->str, reply->len));
      return reply;
    });
  }

  bool cluster() {
    return connected([&] { return !slots_.empty(); });
  }

  std::vector<std::string> node_names() {
    return connected([&] { return slots_.empty() ? std::vector<std::string>{seed_} : slots_.nodes; });
  }

  // `work()` under the mutex, connected: a failure of any node marks the store down.
  template <class Work>
  std::invoke_result_t<Work&> connected(Work&& work) {
    std::lock_guard lock(mutex_);
    try {
      start();
      return work();
    } catch (const NodeError& e) {
      fail(e.what());
    }
  }

  // Each command to its node, all pipelines written before any is read; redirected
  // commands go round again, at most kMaxRedirections times.
  std::vector<ReplyPtr> route(const std::vector<Command>& commands) {
    std::vector<ReplyPtr> replies;
    for (size_t i = 0; i < commands.size(); ++i) replies.emplace_back(nullptr, &freeReplyObject);
    std::vector<size_t> pending(commands.size());
    std::iota(pending.begin(), pending.end(), 0);
    std::vector<std::string> asked(commands.size());  // the node an ASK named, for that command only
    for (int round = 0; !pending.empty(); ++round) {
      if (round > kMaxRedirections) throw NodeError("more than 5 cluster redirections for one command");
      std::vector<std::pair<RedisNode*, std::vector<size_t>>> batches;
      for (const size_t i : pending) {
        RedisNode* node = asked[i].empty() ? &node_for(commands[i]) : &node_named(asked[i]);
        auto batch =
            std::find_if(batches.begin(), batches.end(), [&](const auto& b) { return b.first == node; });
        if (batch == batches.end()) batch = batches.insert(batches.end(), {node, {}});
        batch->second.push_back(i);
        if (!asked[i].empty()) node->append(Command() << "ASKING");
        node->append(commands[i]);
      }
      for (auto& [node, indices] : batches) node->flush();
      pending.clear();
      std::vector<Redirection> moved;
      for (auto& [node, indices] : batches) {
        for (const size_t i : indices) {
          if (!asked[i].empty()) node->read();  // ASKING's +OK
          ReplyPtr reply = node->read();
          if (reply->type != REDIS_REPLY_ERROR) {
            replies[i] = std::move(reply);
            continue;
          }
          const std::string error(reply->str, reply->len);
          const auto redirection = parse_redirection(error);
          if (!redirection || slots_.empty()) throw NodeError(error);
          asked[i] = redirection->ask ? redirection->node : "";
          if (!redirection->ask) moved.push_back(*redirection);
          pending.push_back(i);
        }
      }
      // The whole map again, as the cluster spec advises after a MOVED; but the node
      // asked may not have heard of the move yet (the cluster bus is gossip), and a
      // MOVED is the freshest word on its slot, so it stands over the map.
      if (!moved.empty()) {
        read_slots(node_named(slots_.nodes.front()));
        for (const Redirection& r : moved)
          if (!slots_.empty()) slots_.move(r.slot, r.node);
      }
    }
    return replies;
  }

  // Connects to the address configured, or when it is down to another node of the
  // cluster it was part of, and learns whether it is a cluster.
  void start() {
    if (!nodes_.empty()) return;
    if (std::chrono::steady_clock::now() < down_until_)
      throw StoreUnavailable(describe() + ": down (" + last_error_ + "); not asked again yet");
    std::vector<std::string> others;
    for (const std::string& name : known_) {
      if (name != seed_) others.push_back(name);
    }
    auto seed = std::make_unique<RedisNode>(address_.host, address_.port, address_.db, timeout_,
                                            address_.credentials);
    seed_ = seed->name();
    nodes_.emplace(seed_, std::move(seed));
    for (size_t i = 0;; ++i) {
      try {
        return read_slots(i == 0 ? *nodes_.at(seed_) : node_named(others[i - 1]));
      } catch (const NodeError&) {
        if (i == others.size()) throw;
      }
    }
  }

  // CLUSTER SLOTS: the slot map, or none from a server without cluster support.
  void read_slots(RedisNode& node) {
    node.append(Command() << "CLUSTER"
                          << "SLOTS");
    const ReplyPtr reply = node.read();
    if (reply->type == REDIS_REPLY_ERROR) {
      if (!slots_.empty()) throw NodeError(std::string(reply->str, reply->len));
      return;  // not a cluster
    }
    auto map = parse_cluster_slots(reply.get(), address_.host);
    if (!map) throw NodeError("the cluster does not serve every hash slot (CLUSTER SLOTS)");
    slots_ = std::move(*map);
    known_ = slots_.nodes;
  }

  RedisNode& node_for(const Command& command) {
    return slots_.empty() ? *nodes_.at(seed_) : node_named(slots_.node_of(key_slot(command.key())));
  }

  RedisNode& node_named(const std::string& name) {
    auto found = nodes_.find(name);
    if (found != nodes_.end()) return *found->second;
    const auto address = split_node_name(name);
    if (!address) throw NodeError("a cluster node named '" + name + "'");
    auto node =
        std::make_unique<RedisNode>(address->first, address->second, 0, timeout_, address_.credentials);
    return *nodes_.emplace(name, std::move(node)).first->second;
  }

  [[noreturn]] void fail(const std::string& why) {
    last_error_ = why.empty() ? "no answer" : why;
    nodes_.clear();
    slots_ = {};
    down_until_ = std::chrono::steady_clock::now() + retry_after_;
    throw StoreUnavailable(describe() + ": " + last_error_);
  }

  RedisAddress address_;
  std::chrono::milliseconds timeout_, retry_after_;
  Clock clock_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<RedisNode>> nodes_;  // by name ("host:port")
  std::string seed_;                                         // the one configured
  SlotMap slots_;                                            // empty: not a cluster
  std::vector<std::string> known_;  // the cluster's nodes, kept while the store is down
  std::chrono::steady_clock::time_point down_until_{};
  std::string last_error_;
};

}  // namespace

std::unique_ptr<Store> open_redis_store(const RedisAddress& address, const StoreOptions& options) {
  return std::make_unique<RedisStore>(address, options);
}

}  // namespace mp::state
