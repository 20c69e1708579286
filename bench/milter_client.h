// The MTA side of the milter protocol (version 6, as libmilter's mfdef.h defines it),
// only as much as the policyd benchmark needs: negotiate, then per message CONNECT …
// END-OF-BODY, reading policyd's modifications and its final answer. libmilter has
// only the filter side, and no Debian package offers a client that can time a message.
#pragma once

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace mp::bench {

class MilterClient {
 public:
  explicit MilterClient(const std::string& unix_path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, unix_path.c_str(), sizeof addr.sun_path - 1);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot connect to " + unix_path);
    // SMFIC_OPTNEG: version 6, every action, and what Postfix offers: no replies for
    // the steps before end of message, header values with their leading blank.
    std::string optneg = be32(6) + be32(0x1ff) + be32(kNoReplies | kLeadingSpace);
    send('O', optneg);
    auto [reply, data] = receive();
    if (reply != 'O' || data.size() < 12) throw std::runtime_error("no option negotiation reply");
    uint32_t steps = 0;
    std::memcpy(&steps, data.data() + 8, 4);
    steps_ = ntohl(steps);
    step('C', std::string("client.example.net") + '\0' + '4' + be16(25) + "192.0.2.44" + '\0', 0x1000);
    step('H', std::string("client.example.net") + '\0', 0x2000);
  }
  ~MilterClient() {
    send('Q', "");
    close(fd_);
  }

  // One transaction; returns the final answer ('a' accept, 'c' continue, 'r' reject,
  // 't' tempfail, 'd' discard, 'y' a reply code) after any modifications.
  char message(const std::string& raw) {
    step('M', std::string("<someone@example.net>") + '\0', 0x4000);
    step('R', std::string("<user@widget.com>") + '\0', 0x8000);
    size_t blank = raw.find("\r\n\r\n");
    size_t eol_size = 2;
    if (blank == std::string::npos) blank = raw.find("\n\n"), eol_size = 1;
    std::string head = raw.substr(0, blank == std::string::npos ? raw.size() : blank);
    const std::string blank_after_colon = (steps_ & kLeadingSpace) ? " " : "";
    for (const auto& [name, value] : fields(head))
      step('L', name + '\0' + blank_after_colon + value + '\0', 0x80);
    step('N', "", 0x40000);
    if (blank != std::string::npos) {
      std::string body = raw.substr(blank + 2 * eol_size);
      for (size_t i = 0; i < body.size(); i += 65535) step('B', body.substr(i, 65535), 0x80000);
    }
    send('E', "");
    for (;;) {
      char reply = receive().first;
      if (std::strchr("acrtdy", reply)) return reply;  // else a modification or progress
    }
  }

 private:
  static std::string be32(uint32_t v) {
    uint32_t n = htonl(v);
    return std::string(reinterpret_cast<const char*>(&n), 4);
  }
  static std::string be16(uint16_t v) {
    uint16_t n = htons(v);
    return std::string(reinterpret_cast<const char*>(&n), 2);
  }
  // Header fields as "name", "value" (continuation lines kept, as an MTA passes them).
  static std::vector<std::pair<std::string, std::string>> fields(const std::string& head) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t i = 0;
    while (i < head.size()) {
      size_t end = head.find('\n', i);
      std::string line = head.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end == std::string::npos ? head.size() : end + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if ((line.starts_with(" ") || line.starts_with("\t")) && !out.empty()) {
        out.back().second += "\n" + line;
      } else if (size_t colon = line.find(':'); colon != std::string::npos) {
        size_t start = line.find_first_not_of(' ', colon + 1);
        out.emplace_back(line.substr(0, colon), start == std::string::npos ? "" : line.substr(start));
      }
    }
    return out;
  }
  void send(char command, const std::string& data) {
    std::string packet = be32(static_cast<uint32_t>(data.size() + 1)) + command + data;
    for (size_t done = 0; done < packet.size();) {
      ssize_t n = ::write(fd_, packet.data() + done, packet.size() - done);
      if (n <= 0) throw std::runtime_error("milter connection lost");
      done += static_cast<size_t>(n);
    }
  }
  void read_exactly(char* out, size_t size) {
    for (size_t done = 0; done < size;) {
      ssize_t n = ::read(fd_, out + done, size - done);
      if (n <= 0) throw std::runtime_error("milter connection closed");
      done += static_cast<size_t>(n);
    }
  }
  std::pair<char, std::string> receive() {
    uint32_t length = 0;
    read_exactly(reinterpret_cast<char*>(&length), 4);
    length = ntohl(length);
    if (length == 0 || length > (1u << 24)) throw std::runtime_error("bad milter packet length");
    std::string packet(length, '\0');
    read_exactly(packet.data(), length);
    return {packet[0], packet.substr(1)};
  }
  // Sends a step and, unless the filter asked for no reply to it (`no_reply` bit, the
  // SMFIP_NR_* of mfdef.h), waits for its "continue".
  void step(char command, const std::string& data, uint32_t no_reply) {
    send(command, data);
    if (steps_ & no_reply) return;
    auto [reply, text] = receive();
    if (reply != 'c') throw std::runtime_error(std::string("step ") + command + " answered " + reply);
  }

  static constexpr uint32_t kNoReplies = 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x80 | 0x40000 | 0x80000;
  static constexpr uint32_t kLeadingSpace = 0x100000;  // SMFIP_HDR_LEADSPC
  int fd_ = -1;
  uint32_t steps_ = 0;  // what the filter chose of what we offered
};

}  // namespace mp::bench
