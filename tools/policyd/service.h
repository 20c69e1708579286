// What policyd does with a message, apart from the milter protocol: judge it with the
// current policy image (one shared program, a pool of evaluators), swap in a new image
// when it changes (verified first; a bad one is refused and the old one keeps serving),
// and account for every message in the JSON log and the metrics.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/mailpolicy.h"
#include "tools/policyd/config.h"
#include "tools/policyd/metrics.h"

namespace mp::policyd {

// One JSON object per line, to a file (appended, reopened on SIGHUP for log rotation)
// or stderr. Thread-safe.
class JsonLog {
 public:
  explicit JsonLog(std::string path);  // throws std::runtime_error when the file cannot be opened
  void write(nlohmann::json line);     // adds "time" (RFC 3339, UTC, milliseconds)
  // Opens the file again (after logrotate moved it). When it cannot be opened, the
  // old file stays in use and *error says why; returns success.
  bool reopen(std::string* error = nullptr);

 private:
  std::mutex mutex_;
  std::string path_;
  std::ofstream file_;
};

// The SMTP session as the milter saw it, for the evaluation and the log line.
struct Session {
  std::string queue_id;
  std::string client_ip, helo, sender, auth_user, tls_version;
  std::vector<std::string> recipients;
};

// Why a message was not judged; the milter then answers with `on_error`.
enum class Unjudged { No, TooLarge, TimeBudget, Overloaded, Internal };
const char* unjudged_name(Unjudged reason);  // "too_large", "time_budget", …

struct VerdictDeleter {
  void operator()(mp_verdict* v) const { mp_verdict_free(v); }
};
using VerdictPtr = std::unique_ptr<mp_verdict, VerdictDeleter>;

struct Judgement {
  VerdictPtr verdict;  // null when unjudged
  Unjudged unjudged = Unjudged::No;
  std::string error;  // why, for the log and the unjudged header
};

class Service {
 public:
  // Creates the library config from config.library; throws std::runtime_error on a
  // bad key or value, or when the first image cannot be loaded.
  Service(const Config& config, Metrics& metrics, JsonLog& log);
  ~Service();

  // Judges one message (`bytes` as received, header and body), logs it and counts it.
  // `oversized`: the milter stopped collecting at max_message_bytes.
  Judgement judge(const Session& session, const std::string& bytes, bool oversized);
  // Loads the image file again (SIGHUP, or `changed()`): the new program is verified
  // and swapped in for the next messages; messages in flight finish on the old one.
  // On failure the old program keeps serving and a log line says why (also put in
  // *error when given). Returns success.
  bool reload(const char* trigger, std::string* error = nullptr);
  // The class of `recipient` (mp_recipient_class) for the session's sender and client;
  // 0 when nothing depends on the recipient or it cannot be told. A RCPT whose class
  // differs from the first's is deferred (recipient_split = defer), and logged here.
  uint64_t recipient_class(const Session& session, const std::string& recipient);
  void record_deferred_recipient(const Session& session, const std::string& recipient);
  // True when the image file's identity (inode, size, mtime) differs from the one loaded.
  bool changed() const;
  const Config& config() const { return config_; }
  std::string program_id() const;
  int inflight() const { return inflight_; }

 private:
  struct Generation;
  std::shared_ptr<Generation> current() const;
  void record(const Session& session, const Judgement& judgement, double seconds, const std::string& program);

  Config config_;
  Metrics& metrics_;
  JsonLog& log_;
  mp_config* library_ = nullptr;  // shared by every generation (one DNS cache)
  mutable std::mutex mutex_;      // guards current_ and loaded_stat_
  std::shared_ptr<Generation> current_;
  struct stat loaded_stat_ {};
  std::atomic<int> inflight_{0};
};

}  // namespace mp::policyd
