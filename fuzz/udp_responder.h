// A DNS server on 127.0.0.1 for the fuzz targets that go through the real resolver
// (dns_fuzz, spf_fuzz): c-ares sends a query over UDP and the target's reply function
// decides the datagrams that go back. One thread, started once and never stopped
// (libFuzzer ends the process with exit(), so nothing may need joining).
//
// Header-only: each fuzz target is one .cpp file (fuzz/CMakeLists.txt).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mp::fuzz {

// ---- DNS wire format: just what the targets need -----------------------------------

struct DnsQuestion {
  uint16_t id = 0;
  std::string name;  // dotted, as asked (no final dot)
  uint16_t type = 0;
  std::string_view wire;  // the question section as sent (name, type, class)
};

// The first question of a query; false when the datagram is not one we can read.
// Queries come from c-ares, so no compression pointers are expected.
inline bool parse_question(std::string_view query, DnsQuestion& q) {
  if (query.size() < 12) return false;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(query[i]); };
  q.id = static_cast<uint16_t>(byte(0) << 8 | byte(1));
  size_t pos = 12;
  q.name.clear();
  while (pos < query.size() && byte(pos) != 0) {
    const size_t n = byte(pos);
    if (n > 63 || pos + 1 + n >= query.size()) return false;
    if (!q.name.empty()) q.name += '.';
    q.name.append(query.substr(pos + 1, n));
    pos += 1 + n;
  }
  if (pos + 5 > query.size()) return false;
  q.type = static_cast<uint16_t>(byte(pos + 1) << 8 | byte(pos + 2));
  q.wire = query.substr(12, pos + 5 - 12);
  return true;
}

inline void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

inline void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

// A name in wire form, without compression; labels over 63 octets are cut.
inline std::string wire_name(std::string_view name) {
  std::string out;
  while (!name.empty()) {
    const size_t dot = name.find('.');
    std::string_view label = name.substr(0, std::min<size_t>(dot, 63));
    out += static_cast<char>(label.size());
    out.append(label);
    name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  }
  out += '\0';
  return out;
}

// One answer record for the question's name (a pointer to offset 12, where the
// question's name is).
struct DnsRecord {
  uint16_t type = 0;
  std::string rdata;
};

// A response to `q`: recursion available, `rcode`, the question echoed, `answers`.
inline std::string dns_response(const DnsQuestion& q, uint8_t rcode, const std::vector<DnsRecord>& answers) {
  std::string out;
  put16(out, q.id);
  put16(out, static_cast<uint16_t>(0x8180 | (rcode & 0x0f)));
  put16(out, 1);
  put16(out, static_cast<uint16_t>(answers.size()));
  put16(out, 0);
  put16(out, 0);
  out.append(q.wire);
  for (const DnsRecord& r : answers) {
    put16(out, 0xc00c);
    put16(out, r.type);
    put16(out, 1);  // IN
    put32(out, 300);
    put16(out, static_cast<uint16_t>(r.rdata.size()));
    out += r.rdata;
  }
  return out;
}

// The input being run, which the server thread reads while the target waits for the
// resolver: set before each resolution.
class CurrentInput {
 public:
  void set(std::string bytes) {
    std::lock_guard lock(mutex_);
    bytes_ = std::move(bytes);
  }
  std::string get() const {
    std::lock_guard lock(mutex_);
    return bytes_;
  }

 private:
  mutable std::mutex mutex_;
  std::string bytes_;
};

// ---- The server --------------------------------------------------------------------

class UdpResponder {
 public:
  // The datagrams to send back for one query datagram, in order.
  using Reply = std::function<std::vector<std::string>(std::string_view query)>;

  // Binds 127.0.0.1 on a port the kernel picks; traps when it cannot (the target is
  // useless without it, and a trap shows at once).
  explicit UdpResponder(Reply reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      __builtin_trap();
    port_ = ntohs(addr.sin_port);
    std::thread([this] { serve(); }).detach();
  }
  UdpResponder(const UdpResponder&) = delete;
  UdpResponder& operator=(const UdpResponder&) = delete;

  // The server in ResolverOptions::servers form.
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    std::vector<char> buf(65536);
    for (;;) {
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      const ssize_t n = recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer), &len);
      if (n <= 0) continue;
      for (const std::string& datagram : reply_(std::string_view(buf.data(), static_cast<size_t>(n)))) {
        sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
      }
    }
  }

  Reply reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace mp::fuzz
