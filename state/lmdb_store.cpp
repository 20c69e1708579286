// The embedded store: one LMDB file (MDB_NOSUBDIR; LMDB keeps its lock table in
// PATH-lock), shared by every process of the host that opens it, and within a process
// by every store opened on it (one environment). LMDB serialises
// writers across processes and commits atomically, so a crash loses at most the last
// transaction and never corrupts the file (MDB_NOMETASYNC: the data pages are synced at
// each commit, the meta page with the next one). Each value is stored behind an 8-byte
// expiry time (seconds since the epoch, a double; 0: never); an expired value reads as
// absent and is removed by purge_expired, or by the next write of its key.
#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "state/store_impl.h"

namespace mp::state {
namespace {

constexpr size_t kExpiryBytes = sizeof(double);

[[noreturn]] void fail(const std::string& what, int rc) {
  std::string why = mdb_strerror(rc);
  if (rc == MDB_MAP_FULL) why += " (raise the store's size: state.max_bytes)";
  throw StoreUnavailable("lmdb: " + what + ": " + why);
}

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) fail(what, rc);
}

MDB_val as_val(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view as_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

std::string encoded(std::string_view value, double expires) {
  std::string out(kExpiryBytes, '\0');
  std::memcpy(out.data(), &expires, kExpiryBytes);
  out.append(value);
  return out;
}

double expiry_of(std::string_view stored) {
  double expires = 0;
  if (stored.size() >= kExpiryBytes) std::memcpy(&expires, stored.data(), kExpiryBytes);
  return expires;
}

// A transaction that is aborted unless committed.
class Txn {
 public:
  Txn(MDB_env* env, bool write) {
    check(mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn_), "begin transaction");
  }
  ~Txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  MDB_txn* get() const { return txn_; }
  void commit() {
    const int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    check(rc, "commit");
  }

 private:
  MDB_txn* txn_ = nullptr;
};

class Cursor {
 public:
  Cursor(MDB_txn* txn, MDB_dbi dbi) { check(mdb_cursor_open(txn, dbi, &cursor_), "open cursor"); }
  ~Cursor() { mdb_cursor_close(cursor_); }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  // Moves to the first key ≥ `from` (MDB_SET_RANGE), then on with each call.
  bool next(MDB_val& key, MDB_val& value, std::string_view from = {}) {
    if (!started_) {
      started_ = true;
      key = as_val(from);
      return mdb_cursor_get(cursor_, &key, &value, from.empty() ? MDB_FIRST : MDB_SET_RANGE) == MDB_SUCCESS;
    }
    return mdb_cursor_get(cursor_, &key, &value, MDB_NEXT) == MDB_SUCCESS;
  }
  void erase_current() { check(mdb_cursor_del(cursor_, 0), "delete"); }

 private:
  MDB_cursor* cursor_ = nullptr;
  bool started_ = false;
};

// One LMDB environment per file and process: LMDB's locks are per process, so a file
// opened twice in one process (a policyd reload, two configs of an embedder) would lose
// them when either handle closed. Stores of one file share the environment.
struct Environment {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  Environment() = default;
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  ~Environment() {
    if (env != nullptr) mdb_env_close(env);
  }
};

// LMDB maps its lock file and writes its reader table through the map; on a full
// filesystem a page of a sparse lock file cannot be backed, and the first write to it
// is SIGBUS, not an error. So the lock file's blocks are allocated before LMDB maps it:
// a new one to the size LMDB gives its default 126 readers (8 KiB: a different size
// would give this process a reader table other processes do not see), an existing one
// to its own size. No room is a StoreUnavailable, as any other failure to open.
void reserve_lock_file(const std::string& lock) {
  constexpr off_t kNewLockBytes = 8192;
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return;  // mdb_env_open reports why
  struct stat st {};
  const off_t size = ::fstat(fd, &st) == 0 && st.st_size > 0 ? st.st_size : kNewLockBytes;
  const int rc = ::posix_fallocate(fd, 0, size);
  ::close(fd);
  // A filesystem that cannot preallocate (EOPNOTSUPP, EINVAL) is left to LMDB as before.
  if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL)
    throw StoreUnavailable("lmdb: reserve lock file " + lock + ": " + std::strerror(rc));
}

std::shared_ptr<Environment> open_environment(const std::string& path, size_t max_bytes) {
  auto out = std::make_shared<Environment>();
  check(mdb_env_create(&out->env), "create environment");
  check(mdb_env_set_mapsize(out->env, max_bytes), "set size");
  // A file that is no LMDB database (a policy given as --store) is refused; the lock
  // file LMDB made next to it then goes too, unless it was there before.
  const std::string lock = path + "-lock";
  std::error_code ec;
  const bool had_lock = std::filesystem::exists(lock, ec);
  try {
    reserve_lock_file(lock);
  } catch (const StoreUnavailable&) {
    if (!had_lock) std::filesystem::remove(lock, ec);
    throw;
  }
  const int rc = mdb_env_open(out->env, path.c_str(), MDB_NOSUBDIR | MDB_NOTLS | MDB_NOMETASYNC, 0640);
  if (rc != MDB_SUCCESS && !had_lock) std::filesystem::remove(lock, ec);
  check(rc, ("open " + path).c_str());
  Txn txn(out->env, true);
  check(mdb_dbi_open(txn.get(), nullptr, 0, &out->dbi), "open database");
  txn.commit();
  return out;
}

std::shared_ptr<Environment> shared_environment(const std::string& path, size_t max_bytes) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<Environment>> open;
  std::error_code ec;
  const std::string key = std::filesystem::weakly_canonical(path, ec).string();
  std::lock_guard lock(mutex);
  if (auto existing = open[key].lock()) return existing;
  auto fresh = open_environment(path, max_bytes);
  open[key] = fresh;
  return fresh;
}

class LmdbStore final : public Store {
 public:
  LmdbStore(std::string path, size_t max_bytes, Clock clock)
      : path_(std::move(path)), clock_(std::move(clock)), shared_(shared_environment(path_, max_bytes)) {
    env_ = shared_->env;
    dbi_ = shared_->dbi;
  }
  LmdbStore(const LmdbStore&) = delete;
  LmdbStore& operator=(const LmdbStore&) = delete;

  std::optional<std::string> get(std::string_view key) override {
    Txn txn(env_, false);
    return live_value(txn, key);
  }

  std::vector<std::optional<std::string>> get_many(std::span<const std::string> keys) override {
    Txn txn(env_, false);
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    for (const std::string& key : keys) out.push_back(live_value(txn, key));
    return out;
  }

  void put(std::string_view key, std::string_view value, double ttl) override {
    Txn txn(env_, true);
    write(txn, key, value, ttl > 0 ? clock_() + std::min(ttl, kLongestTtl) : 0);
    txn.commit();
  }

  bool erase(std::string_view key) override {
    if (!storable(key)) return false;  // no such key can be there
    Txn txn(env_, true);
    MDB_val k = as_val(key);
    const int rc = mdb_del(txn.get(), dbi_, &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    check(rc, "delete");
    txn.commit();
    return true;
  }

  std::vector<double> add(std::span<const std::pair<std::string, double>> deltas, double ttl) override {
    Txn txn(env_, true);
    std::vector<double> out;
    out.reserve(deltas.size());
    const double now = clock_();
    for (const auto& [key, delta] : deltas) {
      const std::optional<std::string> old = live_value(txn, key);
      const double value = (old ? parse_number(*old) : 0) + delta;
      double expires = ttl > 0 ? now + std::min(ttl, kLongestTtl) : 0;
      if (ttl <= 0 && old) expires = stored_expiry(txn, key);  // keep the expiry it had
      write(txn, key, format_number(value), expires);
      out.push_back(value);
    }
    txn.commit();
    return out;
  }

  std::vector<std::string> keys(std::string_view prefix, size_t limit) override {
    std::vector<std::string> out;
    scan(prefix, limit, [&](std::string_view key, std::string_view, double) { out.emplace_back(key); });
    return out;
  }

  std::vector<Entry> entries(std::string_view prefix, size_t limit) override {
    std::vector<Entry> out;
    scan(prefix, limit, [&](std::string_view key, std::string_view value, double expires) {
      out.push_back({std::string(key), std::string(value), expires});
    });
    return out;
  }

  bool restore(const Entry& entry) override {
    if (entry.expires != 0 && entry.expires <= clock_()) return false;
    Txn txn(env_, true);
    write(txn, entry.key, entry.value, entry.expires);
    txn.commit();
    return true;
  }

  // Walks on from where the last call stopped, so that calls of a bounded size visit
  // the whole file in turn.
  size_t purge_expired(size_t limit) override {
    std::lock_guard lock(purge_mutex_);
    Txn txn(env_, true);
    const double now = clock_();
    size_t removed = 0, visited = 0;
    {
      // Closed before the commit: a committed write transaction frees its cursors.
      Cursor cursor(txn.get(), dbi_);
      MDB_val key, value;
      bool more = cursor.next(key, value, purge_from_);
      for (; more && visited < limit * 8 && removed < limit; more = cursor.next(key, value), ++visited) {
        const double expires = expiry_of(as_view(value));
        if (expires != 0 && expires <= now) {
          cursor.erase_current();
          ++removed;
        }
      }
      purge_from_ = more ? std::string(as_view(key)) : std::string();
    }
    txn.commit();
    return removed;
  }

  std::string describe() const override { return "lmdb:" + path_; }

 private:
  // A key LMDB cannot hold (empty, or longer than its largest key) is never there.
  static bool storable(std::string_view key) { return !key.empty() && key.size() <= kMaxKeyBytes; }

  std::optional<std::string> live_value(const Txn& txn, std::string_view key) const {
    if (!storable(key)) return std::nullopt;
    MDB_val k = as_val(key), v;
    const int rc = mdb_get(txn.get(), dbi_, &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    check(rc, "read");
    const std::string_view stored = as_view(v);
    const double expires = expiry_of(stored);
    if (stored.size() < kExpiryBytes || (expires != 0 && expires <= clock_())) return std::nullopt;
    return std::string(stored.substr(kExpiryBytes));
  }

  double stored_expiry(const Txn& txn, std::string_view key) const {
    MDB_val k = as_val(key), v;
    return storable(key) && mdb_get(txn.get(), dbi_, &k, &v) == MDB_SUCCESS ? expiry_of(as_view(v)) : 0;
  }

  void write(const Txn& txn, std::string_view key, std::string_view value, double expires) {
    if (!storable(key)) {
      throw StoreUnavailable("lmdb: a key must have 1 to " + std::to_string(kMaxKeyBytes) + " bytes");
    }
    const std::string bytes = encoded(value, expires);
    MDB_val k = as_val(key), v = as_val(bytes);
    check(mdb_put(txn.get(), dbi_, &k, &v, 0), "write");
  }

  template <class Visit>
  void scan(std::string_view prefix, size_t limit, Visit&& visit) {
    Txn txn(env_, false);
    Cursor cursor(txn.get(), dbi_);
    const double now = clock_();
    MDB_val key, value;
    size_t found = 0;
    for (bool more = cursor.next(key, value, prefix); more && found < limit; more = cursor.next(key, value)) {
      const std::string_view k = as_view(key), stored = as_view(value);
      if (!k.starts_with(prefix)) break;
      const double expires = expiry_of(stored);
      if (stored.size() < kExpiryBytes || (expires != 0 && expires <= now)) continue;
      visit(k, stored.substr(kExpiryBytes), expires);
      ++found;
    }
  }

  // LMDB's default largest key (mdb_env_get_maxkeysize).
  static constexpr size_t kMaxKeyBytes = 511;

  std::string path_;
  Clock clock_;
  std::shared_ptr<Environment> shared_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  std::mutex purge_mutex_;
  std::string purge_from_;
};

}  // namespace

std::unique_ptr<Store> open_lmdb_store(const std::string& path, const StoreOptions& options) {
  return std::make_unique<LmdbStore>(path, options.max_bytes,
                                     options.clock ? options.clock : system_clock_now);
}

}  // namespace mp::state
