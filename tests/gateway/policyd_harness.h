// policyd for the gateway tests: writes a configuration (docs/gateway.md), starts the
// built policyd on a unix socket in a scratch directory, and reads back its JSON log
// and its metrics. Header-only, like postfix_harness.h.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/gateway/postfix_harness.h"

namespace mp::gateway_test {

inline const fs::path kPolicyd = fs::path(MP_BIN_DIR) / "policyd";
inline const fs::path kPolicycBin = fs::path(MP_BIN_DIR) / "policyc";

// Compiles `source` (a policy text; list files relative to `dir`) into dir/NAME.pbc.
inline fs::path build_image(const fs::path& dir, const std::string& name, const std::string& source) {
  fs::path mp = dir / (name + ".mp"), pbc = dir / (name + ".pbc");
  mp::e2e::write_text(mp, source);
  RunResult r = mp::e2e::run_program({kPolicycBin.string(), "build", mp.string(), "-o", pbc.string()});
  EXPECT_EQ(r.status, 0) << mp::e2e::describe(r);
  return pbc;
}

class PolicydProcess {
 public:
  // `extra`: configuration lines after socket, image, log and metrics.
  PolicydProcess(const fs::path& image, std::vector<std::string> extra = {}) {
    image_ = image;
    std::string conf = "socket = unix:" + socket().string() +
                       "\nsocket.mode = 0666\nimage = " + image.string() + "\nlog = " + log_path().string() +
                       "\nmetrics = 127.0.0.1:0\nreload.poll_ms = 200\n";
    for (const auto& line : extra) conf += line + "\n";
    mp::e2e::write_text(config_path(), conf);
  }
  ~PolicydProcess() { stop(SIGKILL); }
  PolicydProcess(const PolicydProcess&) = delete;
  PolicydProcess& operator=(const PolicydProcess&) = delete;

  fs::path socket() const { return dir_.path() / "policyd.sock"; }
  fs::path config_path() const { return dir_.path() / "policyd.conf"; }
  fs::path log_path() const { return dir_.path() / "policyd.log"; }
  std::string milter() const { return "unix:" + socket().string(); }
  pid_t pid() const { return pid_; }

  // Starts policyd and waits until its socket and metrics listen. Again after stop(), as
  // a supervisor restarts it: the same configuration, socket and log.
  ::testing::AssertionResult start() {
    const size_t starts = events("start").size();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::string err = (dir_.path() / "stderr").string();
      freopen(err.c_str(), "a", stderr);
      execl(kPolicyd.c_str(), "policyd", "-c", config_path().c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    bool up = poll_until(10s, [&] { return events("start").size() > starts && fs::exists(socket()); });
    if (!up)
      return ::testing::AssertionFailure() << "policyd did not start:\n" << stderr_text() << log_text();
    return ::testing::AssertionSuccess();
  }

  // Sends `signal` and waits for the process to end (SIGKILL after 15 s).
  int stop(int signal = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void hangup() const { kill(pid_, SIGHUP); }

  std::string log_text() const { return mp::e2e::read_text(log_path()); }
  std::string stderr_text() const { return mp::e2e::read_text(dir_.path() / "stderr"); }
  // The log's JSON lines whose "event" is `event`.
  std::vector<nlohmann::json> events(const std::string& event) const {
    std::vector<nlohmann::json> out;
    for (const auto& line : mp::e2e::non_empty_lines(log_text())) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("event", "") == event) out.push_back(j);
    }
    return out;
  }
  // Waits until at least `count` lines of `event` were logged.
  bool wait_for_events(const std::string& event, size_t count,
                       std::chrono::milliseconds timeout = 10s) const {
    return poll_until(timeout, [&] { return events(event).size() >= count; });
  }

  // The port the metrics server took (from the last "start" log line), 0 before.
  int metrics_port() const {
    int port = 0;
    for (const auto& start : events("start")) {
      std::string address = start.value("metrics", "");
      size_t colon = address.rfind(':');
      if (colon != std::string::npos) port = std::atoi(address.c_str() + colon + 1);
    }
    return port;
  }
  // GET /metrics (curl): the Prometheus text.
  std::string metrics() const {
    return mp::e2e::run_shell("curl -s http://127.0.0.1:" + std::to_string(metrics_port()) + "/metrics").out;
  }
  // The value of one sample line, e.g. `mailpolicy_reloads_total{result="ok"}`; -1 when absent.
  double metric(const std::string& sample) const {
    for (const auto& line : mp::e2e::non_empty_lines(metrics())) {
      if (line.starts_with(sample + " ")) return std::stod(line.substr(sample.size() + 1));
    }
    return -1;
  }

 private:
  mp::e2e::TempDir dir_;
  fs::path image_;
  pid_t pid_ = -1;
};

// Postfix whose milter is a policyd serving a policy given as text: the fixture of the
// tests that look at what policyd did to the delivered mail.
class PolicydGatewayTest : public PostfixTest {
 protected:
  // `policyd_config`: extra lines of policyd's configuration.
  void start_with(const std::string& policy, PostfixOptions options = {},
                  std::vector<std::string> policyd_config = {}) {
    image_ = build_image(scratch_.path(), "policy", policy);
    policyd_ = std::make_unique<PolicydProcess>(image_, std::move(policyd_config));
    ASSERT_TRUE(policyd_->start());
    options.smtpd_milters = policyd_->milter();
    postfix_ = std::make_unique<PostfixInstance>(std::move(options));
    ASSERT_TRUE(postfix_->start());
  }
  // The one message delivered (waits for it); empty when none came.
  DeliveredMessage delivered_one() {
    EXPECT_TRUE(postfix_->wait_for_delivered(1)) << postfix_->log();
    auto all = postfix_->delivered();
    return all.empty() ? DeliveredMessage{} : all[0];
  }

  mp::e2e::TempDir scratch_;
  fs::path image_;
  std::unique_ptr<PolicydProcess> policyd_;
  std::unique_ptr<PostfixInstance> postfix_;
};

}  // namespace mp::gateway_test
