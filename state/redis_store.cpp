// The Redis store, through hiredis's synchronous API: one connection, one command (or
// one pipeline) at a time under a mutex; each answer is waited for at most
// options.timeout. A failure (refused, timed out, an error reply) drops the connection
// and marks the store down for options.retry_after, during which every call throws at
// once: a dead or hung Redis costs a message nothing but the first timeout. Expiry
// is Redis's own (PX on SET, PEXPIRE after INCRBYFLOAT).
#include <hiredis/hiredis.h>

#include <cmath>
#include <mutex>

#include "state/store_impl.h"

namespace mp::state {
namespace {

using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

timeval as_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

long long milliseconds(double seconds) {
  return std::max(1LL, std::llround(seconds * 1000));
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

// A command as its words (binary-safe).
class Command {
 public:
  Command& operator<<(std::string_view word) {
    words_.emplace_back(word);
    return *this;
  }
  int argc() const { return static_cast<int>(words_.size()); }
  std::vector<const char*> argv() const {
    std::vector<const char*> out;
    for (const auto& w : words_) out.push_back(w.data());
    return out;
  }
  std::vector<size_t> lengths() const {
    std::vector<size_t> out;
    for (const auto& w : words_) out.push_back(w.size());
    return out;
  }

 private:
  std::vector<std::string> words_;
};

std::optional<std::string> string_of(const redisReply* reply) {
  if (reply->type == REDIS_REPLY_STRING) return std::string(reply->str, reply->len);
  return std::nullopt;
}

class RedisStore final : public Store {
 public:
  RedisStore(RedisAddress address, const StoreOptions& options)
      : address_(std::move(address)),
        timeout_(options.timeout),
        retry_after_(options.retry_after),
        clock_(options.clock ? options.clock : system_clock_now) {}
  ~RedisStore() override {
    if (context_ != nullptr) redisFree(context_);
  }
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

  std::vector<std::string> keys(std::string_view prefix, size_t limit) override {
    std::vector<std::string> out;
    std::string cursor = "0";
    do {
      Command c;
      c << "SCAN" << cursor << "MATCH" << match_prefix(prefix) << "COUNT"
        << "1000";
      const auto replies = run({c});
      const redisReply* reply = replies.front().get();
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) throw_down("SCAN: unexpected reply");
      cursor = string_of(reply->element[0]).value_or("0");
      const redisReply* found = reply->element[1];
      for (size_t i = 0; i < found->elements && out.size() < limit; ++i) {
        if (auto key = string_of(found->element[i])) out.push_back(std::move(*key));
      }
    } while (cursor != "0" && out.size() < limit);
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
  // Sends `commands` as one pipeline and returns their replies, in order. Throws
  // StoreUnavailable (and drops the connection) when any of them fails.
  std::vector<ReplyPtr> run(const std::vector<Command>& commands) {
    std::lock_guard lock(mutex_);
    connect();
    for (const Command& c : commands) {
      const auto argv = c.argv();
      const auto lengths = c.lengths();
      if (redisAppendCommandArgv(context_, c.argc(), const_cast<const char**>(argv.data()), lengths.data()) !=
          REDIS_OK) {
        throw_down(context_->errstr);
      }
    }
    std::vector<ReplyPtr> replies;
    for (size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) throw_down(context_->errstr);
      ReplyPtr reply(static_cast<redisReply*>(raw), &freeReplyObject);
      if (reply->type == REDIS_REPLY_ERROR) throw_down(std::string(reply->str, reply->len));
      replies.push_back(std::move(reply));
    }
    return replies;
  }

  void connect() {
    if (context_ != nullptr) return;
    const auto now = std::chrono::steady_clock::now();
    if (now < down_until_)
      throw StoreUnavailable(describe() + ": down (" + last_error_ + "); not asked again yet");
    const timeval tv = as_timeval(timeout_);
    context_ = address_.port == 0 ? redisConnectUnixWithTimeout(address_.host.c_str(), tv)
                                  : redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
    if (context_ == nullptr) throw_down("cannot allocate a connection");
    if (context_->err != 0) throw_down(context_->errstr);
    if (redisSetTimeout(context_, tv) != REDIS_OK) throw_down(context_->errstr);
    if (address_.db != 0) {
      ReplyPtr reply(static_cast<redisReply*>(redisCommand(context_, "SELECT %d", address_.db)),
                     &freeReplyObject);
      if (!reply || reply->type == REDIS_REPLY_ERROR) throw_down(reply ? reply->str : context_->errstr);
    }
  }

  [[noreturn]] void throw_down(const std::string& why) {
    last_error_ = why.empty() ? "no answer" : why;
    if (context_ != nullptr) redisFree(context_);
    context_ = nullptr;
    down_until_ = std::chrono::steady_clock::now() + retry_after_;
    throw StoreUnavailable(describe() + ": " + last_error_);
  }

  RedisAddress address_;
  std::chrono::milliseconds timeout_, retry_after_;
  Clock clock_;
  std::mutex mutex_;
  redisContext* context_ = nullptr;
  std::chrono::steady_clock::time_point down_until_{};
  std::string last_error_;
};

}  // namespace

std::unique_ptr<Store> open_redis_store(const RedisAddress& address, const StoreOptions& options) {
  return std::make_unique<RedisStore>(address, options);
}

}  // namespace mp::state
