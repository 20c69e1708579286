// GeoIp over libmaxminddb: addresses go in as sockaddrs (no text round trip), the
// country comes out of the data section by path ("country", "iso_code"). Missing
// keys are an ordinary miss; damaged data is an error worth surfacing, since a
// database that silently answers "unknown" would quietly disable country rules.
#include "runtime/geoip.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <unicode/locid.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

namespace mp::runtime {
namespace {

// For errors that come from the operating system, libmaxminddb's text ("Error
// opening the specified MaxMind DB file") does not say which; errno does.
std::string open_error_text(int status, int saved_errno) {
  std::string text = MMDB_strerror(status);
  if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) && saved_errno != 0) {
    text += std::string(" (") + std::strerror(saved_errno) + ")";
  }
  return text;
}

sockaddr_storage to_sockaddr(const IpAddress& ip) {
  sockaddr_storage storage{};
  if (ip.v6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    v6->sin6_family = AF_INET6;
    std::memcpy(&v6->sin6_addr, ip.bytes.data(), sizeof v6->sin6_addr);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    v4->sin_family = AF_INET;
    std::memcpy(&v4->sin_addr, ip.bytes.data(), sizeof v4->sin_addr);
  }
  return storage;
}

// A key that is absent, or present with another shape, is a miss; anything else is damage.
bool is_missing_path(int status) {
  return status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || status == MMDB_INVALID_LOOKUP_PATH_ERROR;
}

}  // namespace

void GeoIp::CloseDatabase::operator()(MMDB_s* database) const {
  MMDB_close(database);
  delete database;
}

GeoIp::GeoIp(std::unique_ptr<MMDB_s, CloseDatabase> database, std::string path)
    : database_(std::move(database)), path_(std::move(path)) {}

std::unique_ptr<GeoIp> GeoIp::open(const std::string& path) {
  auto database = std::make_unique<MMDB_s>();
  errno = 0;
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, database.get());
  const int saved_errno = errno;
  if (status != MMDB_SUCCESS) {
    // MMDB_open has released everything itself; the struct alone is freed here.
    throw std::runtime_error("cannot open GeoIP database " + path + ": " +
                             open_error_text(status, saved_errno));
  }
  return std::unique_ptr<GeoIp>(new GeoIp(std::unique_ptr<MMDB_s, CloseDatabase>(database.release()), path));
}

std::optional<std::string> GeoIp::country(const IpAddress& ip) const {
  const sockaddr_storage address = to_sockaddr(ip);
  int status = MMDB_SUCCESS;
  MMDB_lookup_result_s result =
      MMDB_lookup_sockaddr(database_.get(), reinterpret_cast<const sockaddr*>(&address), &status);
  if (status == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) return std::nullopt;
  if (status != MMDB_SUCCESS) {
    throw std::runtime_error("GeoIP database " + path_ + ", looking up " + ip.str() + ": " +
                             MMDB_strerror(status));
  }
  if (!result.found_entry) return std::nullopt;

  for (const char* located : {"country", "registered_country"}) {
    MMDB_entry_data_s data{};
    status = MMDB_get_value(&result.entry, &data, located, "iso_code", nullptr);
    if (status != MMDB_SUCCESS && !is_missing_path(status)) {
      throw std::runtime_error("GeoIP database " + path_ + ", reading " + located + " of " + ip.str() + ": " +
                               MMDB_strerror(status));
    }
    if (data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING && data.data_size > 0) {
      return std::string(data.utf8_string, data.data_size);
    }
  }
  return std::nullopt;
}

bool is_country_code(std::string_view code) {
  static const std::set<std::string, std::less<>> codes = [] {
    std::set<std::string, std::less<>> all = {"EU", "AP", "XK"};
    for (const char* const* c = icu::Locale::getISOCountries(); *c != nullptr; ++c) all.insert(*c);
    return all;
  }();
  return codes.contains(code);
}

}  // namespace mp::runtime
