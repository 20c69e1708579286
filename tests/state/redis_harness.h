// A private redis-server for tests: no persistence, a unix socket in a scratch
// directory and a TCP port on 127.0.0.1, started by the test and killed with it
// (PR_SET_PDEATHSIG). Header-only: each test binary that needs Redis includes it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace mp::state_test {

inline const char* kRedisServer = "/usr/bin/redis-server";

class RedisProcess {
 public:
  explicit RedisProcess(std::string name = "redis")
      : dir_(std::filesystem::temp_directory_path() /
             ("mp_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++))) {}
  ~RedisProcess() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  // Starts redis-server and waits for its socket; false (reason in error()) when it is
  // not installed or does not come up within 10 s.
  bool start() {
    if (!std::filesystem::exists(kRedisServer))
      return fail("redis-server is not installed (scripts/setup installs it)");
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::freopen((dir_ / "redis.log").c_str(), "a", stdout);
      const std::string port = std::to_string(port_);
      ::execl(kRedisServer, "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--unixsocket",
              socket().c_str(), "--save", "", "--appendonly", "no", "--dir", dir_.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (std::filesystem::exists(socket())) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return fail("redis-server exited at start; see " + (dir_ / "redis.log").string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fail("redis-server did not create its socket within 10 s");
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

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string error_;
};

}  // namespace mp::state_test
