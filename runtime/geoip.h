// The country of an IP address, from a MaxMind DB file (GeoIP2/GeoLite2 Country or
// City, or any database with the same `country` / `registered_country` layout),
// read through libmaxminddb:
//
//   std::unique_ptr<GeoIp> geoip = GeoIp::open("/var/lib/GeoIP/GeoLite2-Country.mmdb");
//   std::optional<std::string> code = geoip->country(client_ip);  // "DE"
//
// The file is memory-mapped and never written, so one GeoIp may be shared by every
// thread. libmaxminddb stays out of this header.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/api_export.h"
#include "runtime/ip.h"

struct MMDB_s;

namespace mp::runtime {

// Whether `code` is an ISO 3166-1 alpha-2 country code that a MaxMind database can
// return: ICU's list of ISO countries (icu::Locale::getISOCountries), which holds XK
// (Kosovo) as MaxMind does, plus EU and AP, which older databases gave for networks of
// a continent. Upper case only ("us" is not one). UK is not a code: the United
// Kingdom is GB.
MP_API bool is_country_code(std::string_view code);

class MP_API GeoIp {
 public:
  // Opens and maps the database; throws std::runtime_error naming the path and
  // libmaxminddb's reason (missing file, not a MaxMind DB, truncated…).
  static std::unique_ptr<GeoIp> open(const std::string& path);

  // ISO 3166-1 alpha-2 code of the country the address is located in, else of the
  // country its network is registered in; nullopt when the database has neither.
  // An IPv4 address is looked up in the IPv4 part of an IPv6 database; an IPv6 address
  // in an IPv4-only database is not found. Throws std::runtime_error when the lookup
  // runs into corrupt data (open() checks only the metadata).
  std::optional<std::string> country(const IpAddress& ip) const;

  GeoIp(const GeoIp&) = delete;
  GeoIp& operator=(const GeoIp&) = delete;

 private:
  struct CloseDatabase {
    void operator()(MMDB_s* database) const;
  };
  GeoIp(std::unique_ptr<MMDB_s, CloseDatabase> database, std::string path);

  std::unique_ptr<MMDB_s, CloseDatabase> database_;
  std::string path_;  // for error messages
};

}  // namespace mp::runtime
