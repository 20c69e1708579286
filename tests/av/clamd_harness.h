// A private clamd for tests: its own config, socket (unix and TCP on 127.0.0.1) and a
// signature database made here with `sigtool --md5` from test payloads (no official
// database offline, so EICAR is not detected: these payloads are). Started once per
// process by the suites that need it and killed at exit.
//
// Header-only: each test binary that scans includes it.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace mp::av_test {

inline const char* kClamd = "/usr/sbin/clamd";

// Bytes clamd reports as infected (their MD5 is in the test database), with the name
// sigtool gives them: "<file name>.UNOFFICIAL".
inline const std::string kVirusPayload = "MP-TEST-VIRUS-PAYLOAD-0001: this file is a test signature target\n";
inline const std::string kVirusName = "mp-test-virus.bin.UNOFFICIAL";

class ClamdProcess {
 public:
  ClamdProcess()
      : dir_(std::filesystem::temp_directory_path() / ("mp_clamd_" + std::to_string(::getpid()))) {}
  ~ClamdProcess() { stop(); }
  ClamdProcess(const ClamdProcess&) = delete;
  ClamdProcess& operator=(const ClamdProcess&) = delete;

  // Starts clamd and waits until it answers; false (with the reason in `error()`)
  // when clamd is not installed or does not come up within 60 s.
  bool start() {
    if (!std::filesystem::exists(kClamd)) return fail("clamd is not installed (scripts/setup installs it)");
    std::filesystem::create_directories(dir_ / "db");
    std::ofstream(dir_ / "mp-test-virus.bin", std::ios::binary) << kVirusPayload;
    const std::string sigtool = "cd " + dir_.string() + " && sigtool --md5 mp-test-virus.bin > db/local.hdb";
    if (std::system(sigtool.c_str()) != 0) return fail("sigtool failed");
    // The port is free when chosen but another test process (a Redis node, a client
    // socket) can take it before clamd binds; clamd then runs on with its unix socket
    // only and logs the failed bind, so a new port is tried.
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (start_on(free_port())) return true;
      if (!tcp_bind_failed()) return false;
      stop();
    }
    return fail("clamd could not bind a TCP port in 5 attempts");
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  std::string socket() const { return (dir_ / "clamd.sock").string(); }

  // A connected socket to clamd's unix socket or TCP port, -1 when it refuses.
  int unix_socket() const {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket().c_str());
    return connected(AF_UNIX, reinterpret_cast<sockaddr*>(&address), sizeof address);
  }
  int tcp_socket() const {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connected(AF_INET, reinterpret_cast<sockaddr*>(&address), sizeof address);
  }
  static int connected(int family, sockaddr* address, socklen_t length) {
    const int fd = ::socket(family, SOCK_STREAM, 0);
    if (fd >= 0 && ::connect(fd, address, length) == 0) return fd;
    if (fd >= 0) ::close(fd);
    return -1;
  }
  // Sends zPING on `fd` (closing it) and whether clamd answered PONG.
  static bool answers_ping(int fd) {
    if (fd < 0) return false;
    timeval wait{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char reply[16] = {};
    const bool sent = ::write(fd, "zPING", 6) == 6;
    const bool pong =
        sent && ::read(fd, reply, sizeof reply - 1) >= 4 && std::string(reply).starts_with("PONG");
    ::close(fd);
    return pong;
  }
  std::string unix_address() const { return "unix:" + socket(); }
  std::string tcp_address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& error() const { return error_; }

 private:
  // A TCP port on 127.0.0.1 that the kernel reports free now.
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    ::close(fd);
    return ntohs(address.sin_port);
  }

  // Whether clamd logged that its TCP socket could not be bound ("Cannot bind").
  bool tcp_bind_failed() const {
    std::ifstream log(dir_ / "clamd.log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    return text.find("Cannot bind") != std::string::npos;
  }

  bool start_on(int port) {
    port_ = port;
    std::filesystem::remove(dir_ / "clamd.log");
    std::filesystem::remove(socket());  // a killed attempt's
    std::ofstream(dir_ / "clamd.conf")
        << "Foreground yes\nLocalSocket " << socket() << "\nTCPSocket " << port_
        << "\nTCPAddr 127.0.0.1\nDatabaseDirectory " << (dir_ / "db").string() << "\nLogFile "
        << (dir_ / "clamd.log").string() << "\nUser root\nStreamMaxLength 1M\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      // clamd in the foreground also logs to its stdout: keep the test output clean.
      std::freopen((dir_ / "clamd.out").c_str(), "a", stdout);
      std::freopen((dir_ / "clamd.out").c_str(), "a", stderr);
      const std::string config = "--config-file=" + (dir_ / "clamd.conf").string();
      ::execl(kClamd, "clamd", config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready when both sockets answer PING: the unix socket's file appears at bind(),
    // before clamd listens, and a scan then was refused now and then.
    for (int i = 0; i < 600; ++i) {
      if (answers_ping(unix_socket()) && answers_ping(tcp_socket())) return true;
      if (tcp_bind_failed()) return fail("clamd could not bind 127.0.0.1:" + std::to_string(port_));
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return fail("clamd exited at start; see " + (dir_ / "clamd.log").string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fail("clamd did not answer PING within 60 s");
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

// The one clamd of this test process, started on first use.
inline ClamdProcess& shared_clamd() {
  static ClamdProcess clamd;
  static const bool started = clamd.start();
  if (!started) ADD_FAILURE() << "clamd: " << clamd.error();
  return clamd;
}

}  // namespace mp::av_test
