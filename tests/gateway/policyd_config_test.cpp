// policyd --check-config: the example configuration is valid, and a bad file is
// refused with FILE:LINE and what is wrong — before policyd would serve anything.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "tests/gateway/policyd_harness.h"

namespace mp::gateway_test {
namespace {

RunResult check(const fs::path& config) {
  return mp::e2e::run_program({kPolicyd.string(), "-c", config.string(), "--check-config"});
}

// examples/gateway/policyd.conf with its paths moved into `dir`.
std::string example_config(const fs::path& dir) {
  std::string text = mp::e2e::read_text(fs::path(MP_SOURCE_DIR) / "examples" / "gateway" / "policyd.conf");
  text = std::regex_replace(text, std::regex("/etc/mailpolicy/policy.pbc"), (dir / "policy.pbc").string());
  text = std::regex_replace(text, std::regex("/run/mailpolicy/"), dir.string() + "/");
  return std::regex_replace(text, std::regex("/var/log/mailpolicy/"), dir.string() + "/");
}

TEST(PolicydConfig, TheExampleConfigurationIsValid) {
  mp::e2e::TempDir dir;
  build_image(dir.path(), "policy", "if subject contains \"x\" then tag \"x\"\n");
  fs::path config = dir.write("policyd.conf", example_config(dir.path()));
  RunResult r = check(config);
  EXPECT_EQ(r.status, 0) << mp::e2e::describe(r);
  EXPECT_NE(r.out.find(": ok: image "), std::string::npos) << r.out;
}

TEST(PolicydConfig, MistakesAreRefusedWithTheirLine) {
  mp::e2e::TempDir dir;
  fs::path image = build_image(dir.path(), "policy", "if subject contains \"x\" then tag \"x\"\n");
  const std::string head =
      "socket = unix:" + (dir.path() / "s.sock").string() + "\nimage = " + image.string() + "\n";
  struct Case {
    std::string line, expected;
  } cases[] = {
      {"on_eror = accept", "policyd.conf:3: unknown key `on_eror`"},
      {"on_error = maybe", "policyd.conf:3: on_error: `maybe` is not one of tempfail | accept"},
      {"limits.max_inflight = 0",
       "policyd.conf:3: limits.max_inflight: `0` is not a number from 1 to 100000"},
      {"headers = x-policy, spam",
       "policyd.conf:3: headers: `spam` is not x-policy, authentication-results or none"},
      {"dns.timeout_ms = soon", "dns.timeout_ms: `soon` is not a number from 1 to 60000"},
      {"dns.servers = 127.0.0.1:99999", "dns.servers:"},
      {"socket.mode = 999", "socket.mode: `999` is not a number"},
      {"just words", "policyd.conf:3: expected `key = value`"},
  };
  for (const Case& c : cases) {
    fs::path config = dir.write("policyd.conf", head + c.line + "\n");
    RunResult r = check(config);
    EXPECT_EQ(r.status, 1) << c.line;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.line << "\n" << r.err;
  }
  fs::path no_image = dir.write(
      "policyd.conf", "socket = unix:/tmp/x.sock\nimage = " + (dir.path() / "missing.pbc").string() + "\n");
  RunResult r = check(no_image);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;
  mp::e2e::write_text(dir.path() / "corrupt.pbc", std::string("MPOLICY\0 not really", 20));
  fs::path corrupt = dir.write(
      "policyd.conf", "socket = unix:/tmp/x.sock\nimage = " + (dir.path() / "corrupt.pbc").string() + "\n");
  r = check(corrupt);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("corrupt.pbc"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mp::gateway_test
