// policyd: mailpolicy in the SMTP conversation, as a milter (docs/gateway.md).
//
//   policyd -c /etc/mailpolicy/policyd.conf            serve
//   policyd -c /etc/mailpolicy/policyd.conf --check-config
//
// Threads and signals. libmilter runs in its own thread (smfi_main) and starts a
// signal thread that sigwaits for SIGHUP, SIGTERM and SIGINT — and *stops the milter*
// on SIGHUP. So SIGHUP is unblocked in the main thread only, with a handler: Linux
// delivers a process-directed signal to the thread-group leader whenever that thread
// does not block it, so a reload request reaches us and never libmilter. SIGTERM and
// SIGINT stay blocked here and reach libmilter's thread: smfi_main returns, we wait
// for the evaluations in flight, and exit.
#include <fcntl.h>
#include <libmilter/mfapi.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "tools/policyd/config.h"
#include "tools/policyd/metrics.h"
#include "tools/policyd/milter.h"
#include "tools/policyd/service.h"

namespace mp::policyd {

namespace {

int g_wake[2] = {-1, -1};  // self-pipe: the SIGHUP handler and the milter thread wake main
volatile sig_atomic_t g_hangup = 0;

void on_sighup(int) {
  g_hangup = 1;
  ssize_t ignored = write(g_wake[1], "h", 1);
  (void)ignored;
}

void block_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a peer gone mid-write is an error return, not a death
}

void accept_sighup_here() {
  struct sigaction action {};
  action.sa_handler = on_sighup;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGHUP, &action, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

// Until the milter stops: SIGHUP reopens the log and reloads the image; every
// reload.poll_ms the image file is checked for a change.
void supervise(Service& service, JsonLog& log, const std::atomic<bool>& stopped) {
  const int poll_ms = service.config().reload_poll_ms;
  while (!stopped) {
    pollfd fd{g_wake[0], POLLIN, 0};
    int ready = poll(&fd, 1, poll_ms > 0 ? poll_ms : -1);
    if (ready > 0) {
      char drain[64];
      while (read(g_wake[0], drain, sizeof drain) > 0) {
      }
    }
    if (g_hangup) {
      g_hangup = 0;
      // A log that cannot be opened again (its directory gone, a permission) is no
      // reason to stop judging mail: the old file stays in use and says why.
      if (std::string error; !log.reopen(&error)) {
        log.write({{"event", "reopen"}, {"result", "failed"}, {"error", error}});
        std::cerr << "policyd: " << error << "\n";
      }
      service.reload("SIGHUP");
    } else if (poll_ms > 0 && !stopped && service.changed()) {
      service.reload("file changed");
    }
  }
}

// Whether the log could be opened for appending, without creating it (--check-config
// may run as another user than the service).
void check_log_writable(const std::string& path) {
  if (path == "-") return;
  std::string directory = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  struct stat st {};
  bool exists = stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) errno = EISDIR;
  if ((exists && S_ISDIR(st.st_mode)) ||
      access(exists ? path.c_str() : directory.c_str(), exists ? W_OK : W_OK | X_OK) != 0)
    throw std::runtime_error("log: cannot open " + path + " for appending: " + std::strerror(errno));
}

int check_config(const std::string& path) {
  try {
    Config config = read_config(path);
    // What serving would stumble on next: the log file and the socket's directory.
    check_log_writable(config.log);
    check_socket_directory(config);
    Metrics metrics;
    JsonLog log("-");
    Service service(config, metrics, log);
    std::cout << path << ": ok: image " << config.image << " (" << service.program_id() << "), socket "
              << config.socket << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "policyd: " << e.what() << "\n";
    return 1;
  }
}

int serve(const std::string& path) {
  block_signals();  // before any thread: every thread inherits the mask
  Config config = read_config(path);
  JsonLog log(config.log);
  Metrics metrics;
  Service service(config, metrics, log);
  std::unique_ptr<MetricsServer> http;
  if (!config.metrics.empty()) http = std::make_unique<MetricsServer>(config.metrics, metrics);
  register_milter(service);
  if (pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
  log.write(
      {{"event", "start"},
       {"socket", config.socket},
       {"image", service.program_id()},
       {"metrics",
        http ? config.metrics.substr(0, config.metrics.rfind(':') + 1) + std::to_string(http->port()) : ""}});
  std::atomic<bool> stopped = false;
  int milter_status = MI_SUCCESS;
  std::thread milter([&] {
    milter_status = smfi_main();
    stopped = true;
    ssize_t ignored = write(g_wake[1], "s", 1);
    (void)ignored;
  });
  accept_sighup_here();
  supervise(service, log, stopped);
  milter.join();
  // Sessions still being judged finish before the process ends (their replies reach
  // the MTA); 30 s at most.
  for (int i = 0; i < 300 && service.inflight() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  log.write({{"event", "stop"}, {"status", milter_status == MI_SUCCESS ? "ok" : "libmilter failed"}});
  return milter_status == MI_SUCCESS ? 0 : 1;
}

}  // namespace

}  // namespace mp::policyd

int main(int argc, char** argv) {
  CLI::App app{"policyd: mailpolicy as a milter for Postfix and Sendmail (docs/gateway.md)"};
  std::string config_path = "/etc/mailpolicy/policyd.conf";
  bool check = false;
  app.add_option("-c,--config", config_path, "Configuration file")->capture_default_str();
  app.add_flag("--check-config", check,
               "Read the configuration, load and verify the image, then exit (0: ok)");
  app.set_version_flag("--version", std::string("policyd ") + MP_VERSION);
  CLI11_PARSE(app, argc, argv);
  if (check) return mp::policyd::check_config(config_path);
  try {
    return mp::policyd::serve(config_path);
  } catch (const std::exception& e) {
    std::cerr << "policyd: " << e.what() << "\n";
    return 1;
  }
}
