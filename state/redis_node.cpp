// One Redis connection (redis_node.h). The context is made on first use and freed on
// any failure by the store, which then drops the node.
#include "state/redis_node.h"

#include <cerrno>
#include <stdexcept>

namespace mp::state {
namespace {

timeval as_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

std::vector<const char*> Command::argv() const {
  std::vector<const char*> out;
  for (const auto& w : words_) out.push_back(w.data());
  return out;
}

std::vector<size_t> Command::lengths() const {
  std::vector<size_t> out;
  for (const auto& w : words_) out.push_back(w.size());
  return out;
}

std::optional<std::string> string_of(const redisReply* reply) {
  if (reply->type == REDIS_REPLY_STRING) return std::string(reply->str, reply->len);
  return std::nullopt;
}

RedisNode::RedisNode(std::string host, int port, int db, std::chrono::milliseconds timeout,
                     RedisCredentials credentials)
    : host_(std::move(host)), port_(port), db_(db), timeout_(timeout), credentials_(std::move(credentials)) {}

// hiredis says a read that timed out with errno's text ("Resource temporarily
// unavailable"): say what happened instead.
std::string RedisNode::failure() const {
  if (context_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
    return "no answer within " + std::to_string(timeout_.count()) + " ms";
  return context_->errstr[0] != '\0' ? context_->errstr : "no answer";
}

void RedisNode::command(std::initializer_list<std::string_view> words) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (std::string_view w : words) {
    argv.push_back(w.data());
    lengths.push_back(w.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(
                     redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data())),
                 &freeReplyObject);
  if (!reply) throw NodeError(failure());
  if (reply->type == REDIS_REPLY_ERROR) throw NodeError(std::string(reply->str, reply->len));
}

RedisNode::~RedisNode() {
  if (context_ != nullptr) redisFree(context_);
}

std::string RedisNode::name() const {
  return port_ == 0 ? host_ : host_ + ":" + std::to_string(port_);
}

void RedisNode::connect() {
  if (context_ != nullptr) return;
  const timeval tv = as_timeval(timeout_);
  context_ = port_ == 0 ? redisConnectUnixWithTimeout(host_.c_str(), tv)
                        : redisConnectWithTimeout(host_.c_str(), port_, tv);
  if (context_ == nullptr) throw NodeError("cannot allocate a connection");
  if (context_->err != 0) throw NodeError(context_->errstr);
  if (redisSetTimeout(context_, tv) != REDIS_OK) throw NodeError(context_->errstr);
  if (!credentials_.password.empty()) {
    if (credentials_.user.empty())
      command({"AUTH", credentials_.password});
    else
      command({"AUTH", credentials_.user, credentials_.password});
  }
  if (db_ != 0) command({"SELECT", std::to_string(db_)});
}

void RedisNode::append(const Command& command) {
  connect();
  const auto argv = command.argv();
  const auto lengths = command.lengths();
  if (redisAppendCommandArgv(context_, command.argc(), const_cast<const char**>(argv.data()),
                             lengths.data()) != REDIS_OK)
    throw NodeError(context_->errstr);
}

void RedisNode::flush() {
  connect();
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) throw NodeError(failure());
  }
}

ReplyPtr RedisNode::read() {
  connect();
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) throw NodeError(failure());
  return ReplyPtr(static_cast<redisReply*>(raw), &freeReplyObject);
}

}  // namespace mp::state
