// policyd --check-config: the example configuration is valid, and a bad file is
// refused with FILE:LINE and what is wrong — before policyd would serve anything.
// And what must not stop or confuse a running policyd: a log that cannot be reopened,
// a second policyd on its socket.
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
  // It checks that the log could be written without creating it: run as root by hand,
  // it must not leave a root-owned file the service's user cannot append to.
  EXPECT_FALSE(fs::exists(dir.path() / "policyd.log"));
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
      // The library's keys, checked by mp_config_set, name their line too.
      {"dns.timeout_ms = soon", "policyd.conf:3: dns.timeout_ms: `soon` is not a number from 1 to 60000"},
      {"dns.servers = 127.0.0.1:99999", "policyd.conf:3: dns.servers:"},
      {"socket.mode = 999", "socket.mode: `999` is not a number"},
      {"just words", "policyd.conf:3: expected `key = value`"},
      // What would only fail once serving (or make a socket named `policyd.sock` in
      // the working directory) is refused by --check-config already.
      {"socket = policyd.sock", "policyd.conf:3: socket: `policyd.sock` is not unix:/PATH, inet:PORT@HOST"},
      {"socket = unix:policyd.sock",
       "policyd.conf:3: socket: `unix:policyd.sock`: the path must be absolute"},
      {"socket = inet:milter@127.0.0.1", "policyd.conf:3: socket: the port of `inet:milter@127.0.0.1`"},
      {"socket = unix:/nonexistent-dir/policyd.sock",
       "socket: the directory /nonexistent-dir of unix:/nonexistent-dir/policyd.sock does not exist"},
      {"metrics = localhost:9187", "policyd.conf:3: metrics: `localhost:9187` is not IPv4-ADDRESS:PORT"},
      {"metrics = 127.0.0.1:91870", "policyd.conf:3: metrics: the port of `127.0.0.1:91870`"},
      {"log = /nonexistent-dir/policyd.log",
       "log: cannot open /nonexistent-dir/policyd.log for appending: No such file or directory"},
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

// logrotate's postrotate sends SIGHUP; when the log cannot be opened again (here a
// directory stands where the file was), policyd goes on judging with the old file,
// which says why, instead of ending (it used to die of an uncaught exception).
TEST(PolicydConfig, ALogThatCannotBeReopenedDoesNotStopPolicyd) {
  mp::e2e::TempDir dir;
  fs::path image = build_image(dir.path(), "policy", "if subject contains \"x\" then tag \"x\"\n");
  PolicydProcess policyd(image);
  ASSERT_TRUE(policyd.start());
  fs::path rotated = policyd.log_path().string() + ".1";
  fs::rename(policyd.log_path(), rotated);
  fs::create_directory(policyd.log_path());
  policyd.hangup();
  auto said_why = [&] {
    return mp::e2e::read_text(rotated).find("\"event\":\"reopen\"") != std::string::npos;
  };
  EXPECT_TRUE(poll_until(10s, said_why)) << mp::e2e::read_text(rotated) << policyd.stderr_text();
  EXPECT_NE(mp::e2e::read_text(rotated).find("cannot open " + policyd.log_path().string() + " for appending"),
            std::string::npos)
      << mp::e2e::read_text(rotated);
  EXPECT_TRUE(process_alive(policyd.pid()));
  EXPECT_EQ(policyd.stop(SIGTERM), 0) << policyd.stderr_text();
}

// A second policyd started on the socket of a running one (by hand, next to the
// service) is refused: libmilter would remove the socket file, so that Postfix could
// no longer reach the running policyd, and leave a dead socket when it ends.
TEST(PolicydConfig, ASecondPolicydDoesNotTakeOverARunningOnesSocket) {
  mp::e2e::TempDir dir;
  fs::path image = build_image(dir.path(), "policy", "if subject contains \"x\" then tag \"x\"\n");
  PolicydProcess first(image);
  ASSERT_TRUE(first.start());
  auto serve = [&](const std::string& name) {
    fs::path config =
        dir.write(name + ".conf", "socket = " + first.milter() + "\nimage = " + image.string() +
                                      "\nlog = " + (dir.path() / (name + ".log")).string() + "\n");
    return mp::e2e::run_shell("timeout -s TERM 3 " + kPolicyd.string() + " -c " + config.string() + " 2>&1");
  };
  RunResult r = serve("second");
  EXPECT_EQ(r.status, 1) << mp::e2e::describe(r);
  EXPECT_NE(r.out.find("socket: another process listens on " + first.socket().string()), std::string::npos)
      << r.out;
  EXPECT_TRUE(fs::exists(first.socket()));
  EXPECT_TRUE(process_alive(first.pid()));
  // The socket file of a policyd that is gone is taken over (timeout ends it: 124).
  first.stop(SIGKILL);
  ASSERT_TRUE(fs::exists(first.socket()));
  r = serve("third");
  EXPECT_EQ(r.status, 124) << mp::e2e::describe(r);
  EXPECT_NE(mp::e2e::read_text(dir.path() / "third.log").find("\"event\":\"start\""), std::string::npos)
      << mp::e2e::read_text(dir.path() / "third.log");
}

}  // namespace
}  // namespace mp::gateway_test
