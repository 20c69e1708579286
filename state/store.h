// state/: what the gateway remembers between messages (reputation, Bayes token counts,
// rates, fingerprints, per-user lists) in one key/value store. Two implementations
// behind one interface: an embedded LMDB file by default (one file, crash-safe, shared
// by the processes of one host) and Redis for gateways on many machines. Keys and
// values are bytes; any key may expire, so that old state goes by itself. The key
// layout the facts use is in docs/state.md.
//
// A store that cannot answer throws StoreUnavailable; the callers (the state facts,
// policyc state) turn that into "no value" or an error message: a store that is down
// or slow never blocks mail (issue 12, "Stores").
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/api_export.h"

namespace mp::state {

// Seconds since the Unix epoch. Tests inject their own; the default reads the system
// clock. Expiry in the embedded store and every decay and window computed from stored
// times use it (Redis expires keys by its own clock: for Redis a TTL only bounds how
// long a key is kept).
using Clock = std::function<double()>;
MP_API double system_clock_now();

struct StoreOptions {
  // "lmdb:PATH" or a path (the embedded store: one file, created when missing);
  // "redis://[[USER]:PASSWORD@]HOST:PORT[/DB]" (TCP; AUTH with the credentials) or
  // "redis+unix:PATH[?db=N]" (a unix socket). Any other `word:` prefix names no store.
  std::string address;
  // Redis: connecting and each command. A store that does not answer in time throws
  // StoreUnavailable, and is not asked again for `retry_after` (so a dead Redis costs
  // each message nothing, not a timeout).
  std::chrono::milliseconds timeout{250};
  std::chrono::milliseconds retry_after{1000};
  // LMDB: the largest the file may grow (bytes; LMDB's map size).
  size_t max_bytes = size_t{1} << 30;
  Clock clock = system_clock_now;
};

// The longest a key is kept: a longer ttl (an expiry further away) is cut to it, so
// that no store turns a very long ttl into an overflow (100 years, seconds).
inline constexpr double kLongestTtl = 100 * 365.25 * 86400;

// The store could not answer: Redis refused, timed out or said ERR; the LMDB file
// could not be opened or is full. what() says which and why.
struct MP_API StoreUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One key's value and when it expires, for export and import.
struct Entry {
  std::string key;
  std::string value;
  double expires = 0;  // seconds since the epoch (the store's clock); 0: never
};

// All methods are safe to call from several threads at once. Every method may throw
// StoreUnavailable; none throws anything else but std::bad_alloc.
class MP_API Store {
 public:
  virtual ~Store() = default;

  // The value at `key`; nullopt when there is none or it has expired.
  virtual std::optional<std::string> get(std::string_view key) = 0;
  // The values of `keys`, in order (Redis: one MGET).
  virtual std::vector<std::optional<std::string>> get_many(std::span<const std::string> keys) = 0;
  // Sets `key`; `ttl` seconds from now it expires (0: never).
  virtual void put(std::string_view key, std::string_view value, double ttl = 0) = 0;
  // Removes `key`; false when there was none.
  virtual bool erase(std::string_view key) = 0;
  // Adds each delta to the number stored at its key (none or not a number: 0), as one
  // atomic step per key, and when `ttl` > 0 sets each key to expire `ttl` seconds from
  // now. Returns the new values, in order. Numbers are stored as decimal text.
  virtual std::vector<double> add(std::span<const std::pair<std::string, double>> deltas, double ttl = 0) = 0;
  // Keys that start with `prefix`, at most `limit` of them (LMDB: in byte order;
  // Redis: in SCAN order). Expired keys are left out.
  virtual std::vector<std::string> keys(std::string_view prefix, size_t limit) = 0;
  // Keys, values and expiry times of the keys that start with `prefix`, at most `limit`.
  virtual std::vector<Entry> entries(std::string_view prefix, size_t limit) = 0;
  // Puts an exported entry back with its expiry time (an entry already expired is
  // skipped; returns false then).
  virtual bool restore(const Entry& entry) = 0;
  // Removes up to `limit` expired keys; returns how many (Redis expires keys itself: 0).
  virtual size_t purge_expired(size_t limit) = 0;
  // "lmdb:/var/lib/mailpolicy/state.mdb", "redis://127.0.0.1:6379/0".
  virtual std::string describe() const = 0;

  // One key, for convenience.
  double add(std::string_view key, double delta, double ttl = 0);
};

// A part of a key taken from a message or a person (an address, a login, a list
// entry): itself when it has at most kMaxKeyPart bytes; longer, its first 64 bytes, `~`
// and the first 32 hex digits of its SHA-256. Every key then stays under LMDB's 511
// bytes and a long value still has a key of its own, the same on every store (a
// 700-byte sender is counted, not left without a value).
inline constexpr size_t kMaxKeyPart = 200;
MP_API std::string key_part(std::string_view value);
// Whether `part` is what key_part makes of a longer value.
MP_API bool is_hashed_key_part(std::string_view part);

// Opens the store at options.address. Throws std::invalid_argument for an address that
// names no store (address_problem says why) and StoreUnavailable when the store cannot
// be opened. A Redis store connects lazily: a Redis that is down now is tried again
// when asked, and opening does not fail for it.
MP_API std::unique_ptr<Store> open_store(const StoreOptions& options);

// `address` without its password (redis://…@HOST:PORT), for messages and logs.
MP_API std::string redacted(std::string_view address);

// Why `address` names no store, "" when open_store can use it.
MP_API std::string address_problem(std::string_view address);

}  // namespace mp::state
