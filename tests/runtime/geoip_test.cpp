// Tests for runtime/geoip.h against a small GeoIP2-Country database that
// tests/data/geoip/make_test_db.pl writes at test time (MaxMind::DB::Writer, from
// Debian's libmaxmind-db-writer-perl). Lookups skip when that Perl module is missing;
// the open() failure tests need no database and always run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "runtime/geoip.h"

namespace mp::runtime {
namespace {

namespace fs = std::filesystem;

IpAddress ip(std::string_view text) {
  const std::optional<IpAddress> parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(IpAddress{});
}

// A directory of this process's own, so parallel test processes never share files.
fs::path scratch_dir(std::string_view purpose) {
  const fs::path dir =
      fs::temp_directory_path() / ("mp-geoip-test-" + std::to_string(getpid()) + "-" + std::string(purpose));
  fs::create_directories(dir);
  return dir;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The message open() throws for `path`, or "" when it does not throw.
std::string open_error(const fs::path& path) {
  try {
    GeoIp::open(path.string());
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "";
}

bool database_writer_installed() {
  return std::system("perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null") == 0;
}

class GeoIpLookup : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!database_writer_installed()) return;
    database_path_ = scratch_dir("lookup") / "country.mmdb";
    const std::string command =
        std::string("perl ") + MP_SOURCE_DIR + "/tests/data/geoip/make_test_db.pl " + database_path_.string();
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    geoip_ = GeoIp::open(database_path_.string());
  }
  static void TearDownTestSuite() {
    geoip_.reset();
    if (!database_path_.empty()) fs::remove_all(database_path_.parent_path());
  }
  void SetUp() override {
    if (database_path_.empty())
      GTEST_SKIP() << "perl module MaxMind::DB::Writer::Tree not installed (scripts/setup)";
    ASSERT_NE(geoip_, nullptr);
  }

  static std::optional<std::string> country(std::string_view address) { return geoip_->country(ip(address)); }

  static inline fs::path database_path_;
  static inline std::unique_ptr<const GeoIp> geoip_;
};

TEST_F(GeoIpLookup, FindsIpv4NetworksInTheIpv6Tree) {
  EXPECT_EQ(country("192.0.2.1"), "US");
  EXPECT_EQ(country("192.0.2.255"), "US");
  EXPECT_EQ(country("198.51.100.7"), "DE");
}

TEST_F(GeoIpLookup, FindsIpv6Networks) {
  EXPECT_EQ(country("2001:db8::1"), "NL");
  EXPECT_EQ(country("2001:db8:ffff:ffff::25"), "NL");
}

TEST_F(GeoIpLookup, V4MappedAddressFindsTheIpv4Data) {
  // runtime keeps ::ffff:a.b.c.d as IPv6; the database's alias answers it as IPv4.
  EXPECT_EQ(country("::ffff:192.0.2.9"), "US");
  EXPECT_EQ(country("::ffff:198.51.100.9"), "DE");
}

TEST_F(GeoIpLookup, FallsBackToTheRegisteredCountry) {
  EXPECT_EQ(country("203.0.113.5"), "JP");
}

TEST_F(GeoIpLookup, EntryWithoutAnyCountryIsNotFound) {
  EXPECT_EQ(country("203.0.113.200"), std::nullopt);
}

TEST_F(GeoIpLookup, AddressesOutsideTheDataAreNotFound) {
  for (std::string_view address : {"10.0.0.1", "192.0.3.1", "198.51.99.255", "2001:db9::1", "::1", "::"}) {
    EXPECT_EQ(country(address), std::nullopt) << address;
  }
}

TEST_F(GeoIpLookup, CorruptSearchTreeThrowsOnLookup) {
  std::string bytes = read_file(database_path_);
  bytes.replace(0, 6, 6, '\xff');  // the root node's two 24-bit records now point past the file
  const fs::path corrupt = database_path_.parent_path() / "corrupt-tree.mmdb";
  write_file(corrupt, bytes);
  const std::unique_ptr<GeoIp> geoip = GeoIp::open(corrupt.string());
  try {
    geoip->country(ip("192.0.2.1"));
    FAIL() << "no exception";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("search tree is corrupt"), std::string::npos) << error.what();
  }
}

TEST(GeoIpOpen, MissingFileSaysWhy) {
  const std::string message = open_error("/nonexistent/GeoLite2-Country.mmdb");
  EXPECT_EQ(
      message,
      "cannot open GeoIP database /nonexistent/GeoLite2-Country.mmdb: Error opening the specified MaxMind DB "
      "file (No such file or directory)");
}

TEST(GeoIpOpen, FileThatIsNotADatabaseSaysWhy) {
  const fs::path dir = scratch_dir("open");
  const fs::path garbage = dir / "garbage.mmdb", empty = dir / "empty.mmdb";
  write_file(garbage, std::string(4096, 'x'));
  write_file(empty, "");
  EXPECT_EQ(open_error(garbage), "cannot open GeoIP database " + garbage.string() +
                                     ": The MaxMind DB file contains invalid metadata");
  EXPECT_THAT(open_error(empty),
              ::testing::StartsWith("cannot open GeoIP database " + empty.string() +
                                    ": An attempt to read data from the MaxMind DB file failed"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mp::runtime

// The codes a policy may compare `country(...)` with: ISO 3166-1 alpha-2 in upper case,
// with XK as MaxMind has it; the usual slips are not codes.
TEST(CountryCodes, AreIsoAlpha2InUpperCase) {
  for (const char* code : {"US", "DE", "GB", "GR", "XK", "EU", "KP", "CN"})
    EXPECT_TRUE(mp::runtime::is_country_code(code)) << code;
  for (const char* code : {"UK", "EL", "us", "USA", "ZZ", "", "U"})
    EXPECT_FALSE(mp::runtime::is_country_code(code)) << code;
}
