// The clamd client: one connection per scan, non-blocking I/O against one deadline,
// so a clamd that is down, stuck or slow costs at most the timeout and never a hang.
#include "av/clamd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

namespace mp::av {
namespace {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  bool unix_socket = false;
  std::string path;        // unix
  std::string host, port;  // TCP
  std::string problem;
};

Endpoint parse_address(std::string_view address) {
  Endpoint e;
  if (address.starts_with("unix:") || address.starts_with("/")) {
    e.unix_socket = true;
    e.path = std::string(address.starts_with("unix:") ? address.substr(5) : address);
    if (e.path.empty() || e.path.size() >= sizeof(sockaddr_un::sun_path))
      e.problem = "not a unix socket path";
    return e;
  }
  std::string_view rest = address.starts_with("inet:") ? address.substr(5) : address;
  size_t colon = std::string_view::npos;
  if (rest.starts_with("[")) {
    const size_t close = rest.find(']');
    if (close != std::string_view::npos) {
      e.host = std::string(rest.substr(1, close - 1));
      colon = close + 1 < rest.size() && rest[close + 1] == ':' ? close + 1 : std::string_view::npos;
    }
  } else {
    colon = rest.rfind(':');
    if (colon != std::string_view::npos) e.host = std::string(rest.substr(0, colon));
  }
  if (colon != std::string_view::npos) e.port = std::string(rest.substr(colon + 1));
  const bool numeric =
      !e.port.empty() && e.port.size() <= 5 && e.port.find_first_not_of("0123456789") == std::string::npos;
  if (e.host.empty() || !numeric || std::stoi(e.port) < 1 || std::stoi(e.port) > 65535) {
    e.problem = "expected unix:PATH, /PATH, inet:HOST:PORT or HOST:PORT";
  }
  return e;
}

class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Socket& operator=(Socket&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits until `fd` is ready for `events`; false (with `error`) at the deadline.
bool wait_ready(int fd, short events, Clock::time_point deadline, std::string& error) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n < 0 && errno == EINTR) continue;
    error = n == 0 ? "timed out" : std::string("poll: ") + std::strerror(errno);
    return false;
  }
}

bool connect_fd(int fd, const sockaddr* address, socklen_t length, Clock::time_point deadline,
                std::string& error) {
  if (::connect(fd, address, length) == 0) return true;
  if (errno != EINPROGRESS && errno != EAGAIN) {
    error = std::strerror(errno);
    return false;
  }
  if (!wait_ready(fd, POLLOUT, deadline, error)) return false;
  int status = 0;
  socklen_t size = sizeof status;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &status, &size);
  if (status == 0) return true;
  error = std::strerror(status);
  return false;
}

Socket connect_unix(const Endpoint& e, Clock::time_point deadline, std::string& error) {
  Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, e.path.c_str(), e.path.size() + 1);
  if (s.fd() < 0 ||
      !connect_fd(s.fd(), reinterpret_cast<sockaddr*>(&address), sizeof address, deadline, error)) {
    if (s.fd() < 0) error = std::strerror(errno);
    error = "connect " + e.path + ": " + error;
    return Socket();
  }
  return s;
}

Socket connect_tcp(const Endpoint& e, Clock::time_point deadline, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(e.host.c_str(), e.port.c_str(), &hints, &found); rc != 0) {
    error = "resolve " + e.host + ": " + ::gai_strerror(rc);
    return Socket();
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, ::freeaddrinfo);
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    Socket s(::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (s.fd() >= 0 && connect_fd(s.fd(), a->ai_addr, a->ai_addrlen, deadline, error)) return s;
  }
  error = "connect " + e.host + ":" + e.port + ": " + error;
  return Socket();
}

bool send_all(int fd, const char* data, size_t size, Clock::time_point deadline, std::string& error) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(fd, POLLOUT, deadline, error)) return false;
      continue;
    }
    error = std::string("send: ") + std::strerror(errno);
    return false;
  }
  return true;
}

// clamd's answer: up to its terminating NUL (z-commands) or the end of the stream.
std::string read_answer(int fd, Clock::time_point deadline, std::string& error) {
  std::string answer;
  char buffer[512];
  while (answer.size() < 4096) {
    if (!wait_ready(fd, POLLIN, deadline, error)) return {};
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
    if (answer.find('\0') != std::string::npos) break;
  }
  answer = answer.substr(0, answer.find('\0'));
  while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
  if (answer.empty() && error.empty()) error = "clamd closed the connection without an answer";
  return answer;
}

std::string chunk_header(size_t size) {
  const uint32_t length = htonl(static_cast<uint32_t>(size));
  return std::string(reinterpret_cast<const char*>(&length), 4);
}

bool send_stream(int fd, std::string_view data, const ClamdOptions& options, Clock::time_point deadline,
                 std::string& error) {
  static constexpr char kCommand[] = "zINSTREAM";  // sent with its NUL
  if (!send_all(fd, kCommand, sizeof kCommand, deadline, error)) return false;
  const size_t chunk = std::max<size_t>(options.chunk_bytes, 1);
  for (size_t at = 0; at < data.size(); at += chunk) {
    const std::string_view piece = data.substr(at, chunk);
    const std::string header = chunk_header(piece.size());
    if (!send_all(fd, header.data(), header.size(), deadline, error) ||
        !send_all(fd, piece.data(), piece.size(), deadline, error)) {
      return false;
    }
  }
  const std::string end = chunk_header(0);
  return send_all(fd, end.data(), end.size(), deadline, error);
}

// "stream: OK", "stream: NAME FOUND", "… ERROR" (clamd(8)).
ScanResult judge_answer(const std::string& answer) {
  ScanResult r;
  std::string_view text = answer;
  if (text.starts_with("stream: ")) text.remove_prefix(8);
  if (text == "OK") {
    r.status = ScanResult::Status::Clean;
  } else if (text.ends_with(" FOUND")) {
    r.status = ScanResult::Status::Infected;
    r.signature = std::string(text.substr(0, text.size() - 6));
  } else {
    r.detail = "clamd: " + answer;
  }
  return r;
}

}  // namespace

ScanResult scan(std::string_view data, const ClamdOptions& options) {
  const auto start = Clock::now();
  const auto deadline = start + options.timeout;
  ScanResult result;
  const Endpoint endpoint = parse_address(options.address);
  std::string error;
  if (!endpoint.problem.empty()) {
    result.detail = "clamd address `" + options.address + "`: " + endpoint.problem;
  } else if (Socket s = endpoint.unix_socket ? connect_unix(endpoint, deadline, error)
                                             : connect_tcp(endpoint, deadline, error);
             s.fd() < 0) {
    result.detail = "clamd: " + error;
  } else {
    const bool sent = send_stream(s.fd(), data, options, deadline, error);
    // clamd may answer early (size limit) and close: its answer says more than EPIPE.
    std::string read_error;
    const std::string answer = read_answer(s.fd(), deadline, read_error);
    if (!answer.empty()) {
      result = judge_answer(answer);
    } else {
      result.detail = "clamd: " + (sent ? read_error : error);
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

std::string address_problem(std::string_view address) {
  return parse_address(address).problem;
}

std::string_view status_name(ScanResult::Status status) {
  switch (status) {
    case ScanResult::Status::Clean: return "clean";
    case ScanResult::Status::Infected: return "infected";
    case ScanResult::Status::Error: return "error";
  }
  return "error";
}

}  // namespace mp::av
