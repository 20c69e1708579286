// The RFC 7208 conformance suite (openspf.org, release 2014.04), driven through the
// production path: check_spf → dns::Resolver (c-ares) → a DNS server on 127.0.0.1
// serving each scenario's zone. TIMEOUT names are never answered, so those tests
// wait for a real resolver timeout.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <iostream>

#include "auth/spf.h"
#include "tests/dnsd/test_dns_server.h"

namespace mp::auth {
namespace {

const std::string kSuite = std::string(MP_CORPUS_DIR) + "/spf/rfc7208-tests.yml";

// A character-string in master-file syntax: quoted, anything unprintable as \DDD,
// split into pieces of at most 255 octets.
std::string quoted_strings(const std::string& value) {
  std::string out;
  for (size_t start = 0; start == 0 || start < value.size(); start += 255) {
    out += " \"";
    for (unsigned char c : value.substr(start, 255)) {
      if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
  }
  return out;
}

// A name in master-file syntax: anything but letters, digits, '.', '-' and '_' as \DDD
// (the suite has names with spaces, ':', '/' and '%').
std::string absolute(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\%03u", c);
      out += buf;
    }
  }
  return out.ends_with('.') ? out : out + ".";
}

std::string txt_data(const YAML::Node& value) {
  if (!value.IsSequence()) return quoted_strings(value.as<std::string>());
  std::string out;
  for (const auto& piece : value) out += quoted_strings(piece.as<std::string>());
  return out.empty() ? quoted_strings("") : out;  // a TXT record holds at least one string
}

// The suite's drivers publish every SPF-type record as TXT too, unless the name has
// TXT records of its own (only the "Selecting records" scenario tells them apart);
// "TXT: NONE" means no TXT at all. TIMEOUT: questions for types the name has no
// records of are never answered.
std::string zone_text(const YAML::Node& zonedata) {
  std::string zone;
  for (const auto& entry : zonedata) {
    std::string owner = absolute(entry.first.as<std::string>());
    bool has_txt = false;
    for (const auto& rr : entry.second) has_txt |= rr.IsMap() && rr.begin()->first.as<std::string>() == "TXT";
    for (const auto& rr : entry.second) {
      if (rr.IsScalar()) {  // "TIMEOUT"
        zone += owner + " " + rr.as<std::string>() + "\n";
        continue;
      }
      std::string type = rr.begin()->first.as<std::string>();
      YAML::Node value = rr.begin()->second;  // a handle: a reference would outlive the iterator
      std::string line = owner + " 300 IN ";
      if (type == "SPF") {
        zone += line + "SPF" + txt_data(value) + "\n";
        if (!has_txt) zone += line + "TXT" + txt_data(value) + "\n";
      } else if (type == "TXT") {
        if (!(value.IsScalar() && value.as<std::string>() == "NONE"))
          zone += line + "TXT" + txt_data(value) + "\n";
      } else if (type == "MX") {
        zone += line + "MX " + value[0].as<std::string>() + " " + absolute(value[1].as<std::string>()) + "\n";
      } else if (type == "PTR" || type == "CNAME") {
        zone += line + type + " " + absolute(value.as<std::string>()) + "\n";
      } else {
        zone += line + type + " " + value.as<std::string>() + "\n";
      }
    }
  }
  return zone;
}

bool expected(const YAML::Node& result, std::string_view got) {
  if (!result.IsSequence()) return result.as<std::string>() == got;
  for (const auto& r : result) {
    if (r.as<std::string>() == got) return true;
  }
  return false;
}

TEST(SpfSuite, Rfc7208TestSuitePassesThroughTheResolver) {
  if (!std::filesystem::exists(kSuite)) GTEST_SKIP() << kSuite << " not present";
  int total = 0, passed = 0;
  for (const auto& scenario : YAML::LoadAllFromFile(kSuite)) {
    mp::testing::TestDnsServer server(zone_text(scenario["zonedata"]));
    // A fresh resolver and cache per scenario: the zones reuse names.
    dns::Resolver resolver({.servers = {server.address()}, .timeout_ms = 300, .tries = 1, .cache = nullptr});
    for (const auto& test : scenario["tests"]) {
      ++total;
      std::string name = test.first.as<std::string>();
      YAML::Node t = test.second;
      SpfRequest request;
      request.ip = *runtime::IpAddress::parse(t["host"].as<std::string>());
      request.sender = t["mailfrom"].as<std::string>();
      request.helo = t["helo"].as<std::string>();
      auto outcome = check_spf(request, resolver, dns::Resolver::Clock::now() + std::chrono::seconds(5));
      bool ok = expected(t["result"], spf_result_name(outcome.result));
      if (ok && t["explanation"] && outcome.result == SpfResult::Fail) {
        std::string want = t["explanation"].as<std::string>();
        ok = want == "DEFAULT" ? outcome.explanation == kSpfDefaultExplanation : outcome.explanation == want;
      }
      EXPECT_TRUE(ok) << scenario["description"].as<std::string>() << " / " << name << ": got "
                      << spf_result_name(outcome.result) << " (" << outcome.problem << ") explanation '"
                      << outcome.explanation << "'";
      passed += ok;
    }
  }
  std::cout << "SPF suite: " << passed << "/" << total << " passed\n";
  EXPECT_EQ(total, 203);
}

}  // namespace
}  // namespace mp::auth
