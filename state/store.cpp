// Choosing a store from its address, and what both stores share.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <variant>

#include <fmt/format.h>
#include <openssl/sha.h>

#include "state/store_impl.h"

namespace mp::state {
namespace {

constexpr std::string_view kLmdb = "lmdb:", kRedis = "redis://", kRedisUnix = "redis+unix:";
constexpr size_t kKeptBytes = 64, kHashHexDigits = 32;  // key_part of a long value

std::optional<int> whole_number(std::string_view text, int max) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > max) return std::nullopt;
  return value;
}

// "HOST:PORT[/DB]", "[V6]:PORT[/DB]", or for a unix socket "PATH[?db=N]".
std::variant<RedisAddress, std::string> redis_address(std::string_view rest, bool unix_socket) {
  RedisAddress out;
  const size_t db_at = rest.rfind(unix_socket ? "?db=" : "/");
  if (db_at != std::string_view::npos) {
    auto db = whole_number(rest.substr(db_at + (unix_socket ? 4 : 1)), 1 << 20);
    if (!db) return std::string("the database number is not a number");
    out.db = *db;
    rest = rest.substr(0, db_at);
  }
  if (unix_socket) {
    if (!rest.starts_with('/'))
      return std::string("a unix socket is an absolute path: redis+unix:/run/redis.sock");
    out.host = std::string(rest);
    return out;
  }
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    const size_t colon = credentials.find(':');
    if (colon == std::string_view::npos || colon + 1 == credentials.size())
      return std::string("credentials are [USER]:PASSWORD@: redis://:PASSWORD@HOST:PORT");
    out.credentials = {std::string(credentials.substr(0, colon)), std::string(credentials.substr(colon + 1))};
    rest = rest.substr(at + 1);
  }
  if (rest.starts_with('[') && rest.find(']') == std::string_view::npos)
    return std::string("an IPv6 address is closed by `]`: redis://[::1]:6379");
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || (rest.starts_with('[') && colon < rest.find(']')))
    return std::string("no port: redis://HOST:PORT");
  auto port = whole_number(rest.substr(colon + 1), 65535);
  if (!port || *port == 0) return std::string("the port is not a port number");
  std::string_view host = rest.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host.empty()) return std::string("no host: redis://HOST:PORT");
  out.host = std::string(host);
  out.port = *port;
  return out;
}

// "redis:…", "foo:bar": a word and a colon first, as a URL's scheme (RFC 3986, 3.1) —
// a mistyped store address rather than a file name (`./foo:bar` is one).
bool has_scheme(std::string_view address) {
  const size_t colon = address.find(':');
  if (colon == std::string_view::npos || colon == 0 || !std::isalpha(static_cast<unsigned char>(address[0])))
    return false;
  return std::all_of(address.begin(), address.begin() + static_cast<long>(colon), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

}  // namespace

std::string redacted(std::string_view address) {
  const size_t at = address.rfind('@');
  const size_t scheme = address.find("://");
  if (at == std::string_view::npos || scheme == std::string_view::npos || at < scheme)
    return std::string(address);
  return std::string(address.substr(0, scheme + 3)) + "…@" + std::string(address.substr(at + 1));
}

double system_clock_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string format_number(double value) {
  return fmt::format("{}", value);
}

double parse_number(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(value) ? value : 0;
}

double Store::add(std::string_view key, double delta, double ttl) {
  const std::pair<std::string, double> one{std::string(key), delta};
  return add(std::span(&one, 1), ttl).front();
}

std::string key_part(std::string_view value) {
  if (value.size() <= kMaxKeyPart) return std::string(value);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(value.data()), value.size(), digest);
  std::string out(value.substr(0, kKeptBytes));
  out += '~';
  for (size_t i = 0; i < kHashHexDigits / 2; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

bool is_hashed_key_part(std::string_view part) {
  if (part.size() != kKeptBytes + 1 + kHashHexDigits || part[kKeptBytes] != '~') return false;
  const std::string_view hex = part.substr(kKeptBytes + 1);
  return hex.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string address_problem(std::string_view address) {
  if (address.empty()) return "no store address: lmdb:PATH, redis://HOST:PORT or redis+unix:PATH";
  if (address.starts_with(kRedis) || address.starts_with(kRedisUnix)) {
    const bool unix_socket = address.starts_with(kRedisUnix);
    auto parsed = redis_address(address.substr(unix_socket ? kRedisUnix.size() : kRedis.size()), unix_socket);
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : std::string();
  }
  if (address.find("://") != std::string_view::npos || (has_scheme(address) && !address.starts_with(kLmdb)))
    return "unknown kind of store: lmdb:PATH, redis://HOST:PORT or redis+unix:PATH (a file whose name has "
           "a colon: lmdb:PATH)";
  if (address.starts_with(kLmdb) && address.size() == kLmdb.size()) return "lmdb: needs a file path";
  return {};
}

std::unique_ptr<Store> open_store(const StoreOptions& options) {
  const std::string_view address = options.address;
  if (std::string problem = address_problem(address); !problem.empty()) {
    throw std::invalid_argument("state store `" + redacted(address) + "`: " + problem);
  }
  if (address.starts_with(kRedis) || address.starts_with(kRedisUnix)) {
    const bool unix_socket = address.starts_with(kRedisUnix);
    auto parsed = redis_address(address.substr(unix_socket ? kRedisUnix.size() : kRedis.size()), unix_socket);
    return open_redis_store(std::get<RedisAddress>(parsed), options);
  }
  const std::string path(address.starts_with(kLmdb) ? address.substr(kLmdb.size()) : address);
  return open_lmdb_store(path, options);
}

}  // namespace mp::state
