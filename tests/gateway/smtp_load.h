// A load generator for the gateway tests: many SMTP clients at once, each message
// with its own token, every final reply recorded, so that a run can be reconciled
// message by message (delivered, held, refused 5xx, deferred 4xx). Plain SMTP over
// TCP (RFC 5321): several transactions per connection, RSET-free (each transaction
// ends with its reply). Header-only, like the harness.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mp::gateway_test {

struct LoadResult {
  std::vector<int> code;  // final reply per message: 250, 4xx, 5xx; 0 = no reply (connection failed)
  std::vector<std::string> text;
};

class SmtpConnection {
 public:
  explicit SmtpConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{60, 0};  // a milter waiting on DNS is slow, never this slow
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && reply().first == 220 &&
          command("EHLO load.example.net").first == 250;
  }
  ~SmtpConnection() {
    if (ok_) command("QUIT");
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return ok_; }

  // One transaction; returns the reply that decided it (the first non-2xx/3xx, or
  // the reply to the final dot).
  std::pair<int, std::string> send(const std::string& from, const std::string& to, const std::string& data) {
    for (const std::string& c : {"MAIL FROM:<" + from + ">", "RCPT TO:<" + to + ">", std::string("DATA")}) {
      auto r = command(c);
      if (r.first >= 400 || r.first == 0) {
        if (r.first != 0 && c != "DATA") command("RSET");
        return r;
      }
    }
    return command(data + ".");
  }

 private:
  std::pair<int, std::string> command(const std::string& line) {
    std::string out = line + "\r\n";
    if (write_all(out) != out.size()) return {ok_ = false, "write failed"};
    return reply();
  }
  size_t write_all(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return done;
      done += static_cast<size_t>(n);
    }
    return done;
  }
  // A (multi-line) reply: code of its last line, and that line's text.
  std::pair<int, std::string> reply() {
    for (;;) {
      size_t eol = buffer_.find("\r\n");
      if (eol != std::string::npos) {
        std::string line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 2);
        if (line.size() >= 4 && line[3] == '-') continue;
        return {line.size() >= 3 ? std::atoi(line.substr(0, 3).c_str()) : 0, line};
      }
      char chunk[4096];
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return {ok_ = false, "connection closed"};
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  int fd_ = -1;
  bool ok_ = false;
  std::string buffer_;
};

// Sends `count` messages from `clients` threads, `per_connection` transactions per
// connection; message i is `make(i)` (with dot-stuffing and CRLF already applied).
// `progress(i)` runs after message i, from the thread that sent it.
inline LoadResult send_load(int port, int count, int clients, int per_connection,
                            const std::function<std::string(int)>& make, const std::string& to,
                            const std::function<void(int)>& progress = {}) {
  LoadResult result;
  result.code.assign(static_cast<size_t>(count), 0);
  result.text.assign(static_cast<size_t>(count), "");
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        SmtpConnection connection(port);
        for (int k = 0; k < per_connection; ++k) {
          int i = next++;
          if (i >= count) return;
          auto [code, text] = connection.ok() ? connection.send("load@example.net", to, make(i))
                                              : std::pair<int, std::string>{0, "no connection"};
          result.code[static_cast<size_t>(i)] = code;
          result.text[static_cast<size_t>(i)] = text;
          if (progress) progress(i);
          if (!connection.ok()) break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return result;
}

}  // namespace mp::gateway_test
