// A private redis-server for tests: no persistence, a unix socket in a scratch
// directory and a TCP port on 127.0.0.1, started by the test and killed with it
// (PR_SET_PDEATHSIG). Header-only: each test binary that needs Redis includes it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mp::state_test {

inline const char* kRedisServer = "/usr/bin/redis-server";

class RedisProcess {
 public:
  // `cluster`: a node of a Redis Cluster (RedisCluster below), its slots not yet given.
  explicit RedisProcess(std::string name = "redis", bool cluster = false)
      : cluster_(cluster),
        dir_(std::filesystem::temp_directory_path() /
             ("mp_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++))) {}
  ~RedisProcess() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  // Starts redis-server and waits for its socket; false (reason in error()) when it is
  // not installed or does not come up within 10 s. Its ports are free when chosen, but
  // a test running beside may take one before redis-server binds it, and redis-server
  // then exits: it is started again on other ports (5 attempts).
  bool start() {
    if (!std::filesystem::exists(kRedisServer))
      return fail("redis-server is not installed (scripts/setup installs it)");
    std::filesystem::create_directories(dir_);
    for (int attempt = 1;; ++attempt) {
      exited_at_start_ = false;
      if (start_once()) return true;
      if (!exited_at_start_ || attempt == 5) return false;
    }
  }

  // One start of redis-server on ports free now.
  bool start_once() {
    port_ = free_port();
    bus_port_ = free_port();  // not port + 10000: that may be past 65535
    const std::string bus_port = std::to_string(bus_port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::freopen((dir_ / "redis.log").c_str(), "a", stdout);
      const std::string port = std::to_string(port_);
      const std::string nodes = (dir_ / "nodes.conf").string();
      ::execl(kRedisServer, "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--unixsocket",
              socket().c_str(), "--save", "", "--appendonly", "no", "--dir", dir_.c_str(),
              "--cluster-enabled", cluster_ ? "yes" : "no", "--cluster-config-file", nodes.c_str(),
              "--cluster-port", bus_port.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready when the unix socket accepts a connection: its file appears at bind(),
    // before redis-server listens (the TCP port listens before it).
    for (int i = 0; i < 100; ++i) {
      if (accepts(socket())) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exited_at_start_ = true;
        return fail("redis-server exited at start; see " + (dir_ / "redis.log").string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fail("redis-server did not accept on its socket within 10 s");
  }

  static bool accepts(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
      std::error_code ec;
      std::filesystem::remove(socket(), ec);
    }
  }
  // A hung Redis: the process stops answering but keeps its connections open.
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

  std::string socket() const { return (dir_ / "redis.sock").string(); }
  std::string unix_address() const { return "redis+unix:" + socket(); }
  std::string tcp_address() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  int bus_port() const { return bus_port_; }  // a cluster node's bus
  const std::string& error() const { return error_; }

 private:
  // A port nothing listens on now (the kernel's pick for an ephemeral bind).
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
    ::close(fd);
    return ntohs(addr.sin_port);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }

  bool cluster_ = false;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  bool exited_at_start_ = false;  // the last start_once ended with redis-server gone
  int port_ = 0;
  int bus_port_ = 0;
  std::string error_;
};

// A Redis Cluster of three masters on 127.0.0.1, the 16384 slots split between them
// (CLUSTER ADDSLOTSRANGE), each given its config epoch and the nodes introduced
// (CLUSTER MEET), as `redis-cli --cluster create` does without its one-second waits; start() waits until
// every node says cluster_state:ok.
class RedisCluster {
 public:
  static constexpr int kNodes = 3;

  bool start() {
    for (int i = 0; i < kNodes; ++i) {
      nodes_.push_back(std::make_unique<RedisProcess>("redis_cluster", true));
      if (!nodes_.back()->start()) return fail(nodes_.back()->error());
      const int first = 16384 * i / kNodes, last = 16384 * (i + 1) / kNodes - 1;
      if (on(i, "CLUSTER ADDSLOTSRANGE " + std::to_string(first) + " " + std::to_string(last)) != "OK\n")
        return fail("CLUSTER ADDSLOTSRANGE refused");
      // Distinct config epochs before the nodes meet, as redis-cli gives them: with all
      // at 0 the cluster settles the collision by gossip later, and a slot moved by
      // CLUSTER SETSLOT meanwhile can be claimed back by its old node.
      if (on(i, "CLUSTER SET-CONFIG-EPOCH " + std::to_string(i + 1)) != "OK\n")
        return fail("CLUSTER SET-CONFIG-EPOCH refused");
      if (i > 0)
        on(0, "CLUSTER MEET 127.0.0.1 " + std::to_string(node(i).port()) + " " +
                  std::to_string(node(i).bus_port()));
    }
    for (int tries = 0; tries < 200; ++tries) {
      int ready = 0;
      for (const auto& node : nodes_)
        ready += cli(command(*node, "CLUSTER INFO")).find("cluster_state:ok") != std::string::npos;
      if (ready == kNodes) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fail("the cluster did not reach cluster_state:ok within 20 s");
  }

  // The first node's address: a client finds the others from it.
  std::string address() const { return nodes_.front()->tcp_address(); }
  RedisProcess& node(int i) { return *nodes_[static_cast<size_t>(i)]; }
  // redis-cli ARGS against node i; its output.
  std::string on(int i, const std::string& args) { return cli(command(node(i), args)); }
  // redis-cli --cluster SUBCOMMAND against the first node (reshard, check, …).
  std::string cluster(const std::string& args) {
    return cli("/usr/bin/redis-cli --cluster " + args +
               " 127.0.0.1:" + std::to_string(nodes_.front()->port()));
  }
  const std::string& error() const { return error_; }

 private:
  static std::string command(const RedisProcess& node, const std::string& args) {
    return "/usr/bin/redis-cli -p " + std::to_string(node.port()) + " " + args;
  }
  static std::string cli(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return out;
    char buffer[4096];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    ::pclose(pipe);
    return out;
  }
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }

  std::vector<std::unique_ptr<RedisProcess>> nodes_;
  std::string error_;
};

}  // namespace mp::state_test
