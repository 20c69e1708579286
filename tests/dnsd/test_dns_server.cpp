#include "tests/dnsd/test_dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mp::testing {
namespace {

constexpr size_t kPlainUdpLimit = 512;

std::string lower_name(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

std::string owner_of(const ldns_rr* rr) {
  char* text = ldns_rdf2str(ldns_rr_owner(rr));
  std::string name = lower_name(text ? text : "");
  free(text);
  return name;
}

struct RrDeleter {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
using RrPtr = std::unique_ptr<ldns_rr, RrDeleter>;

struct Zone {
  std::multimap<std::string, RrPtr> records;  // by lowercase owner
  std::set<std::string> timeouts, servfails;

  bool exists(const std::string& name) const {
    if (records.count(name) || timeouts.count(name) || servfails.count(name)) return true;
    std::string suffix = "." + name;  // an empty non-terminal exists too
    return std::any_of(records.begin(), records.end(), [&](const auto& kv) {
      return kv.first.size() > suffix.size() && kv.first.ends_with(suffix);
    });
  }
};

Zone parse_zone(const std::string& text) {
  Zone zone;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#' || line[first] == ';') continue;
    std::istringstream words(line);
    std::string owner, keyword;
    words >> owner >> keyword;
    if (keyword == "TIMEOUT" || keyword == "SERVFAIL") {
      (keyword == "TIMEOUT" ? zone.timeouts : zone.servfails).insert(lower_name(owner));
      continue;
    }
    ldns_rr* rr = nullptr;
    ldns_status status = ldns_rr_new_frm_str(&rr, line.c_str(), 300, nullptr, nullptr);
    if (status != LDNS_STATUS_OK) {
      throw std::runtime_error("zone line " + std::to_string(number) + ": " +
                               ldns_get_errorstr_by_id(status) + ": " + line);
    }
    zone.records.emplace(owner_of(rr), RrPtr(rr));
  }
  return zone;
}

int bind_socket(int type, uint16_t port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);  // never inherited by the programs tests start
  if (fd < 0) throw std::runtime_error("socket() failed");
  // TCP only: a restarted server rebinds past TIME_WAIT. On UDP the option would let two
  // sockets share the port, and the restart in GatewayLoad must own it alone.
  int one = 1;
  if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

bool read_exact(int fd, uint8_t* buf, size_t n) {
  for (size_t done = 0; done < n;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0) return false;
    ssize_t got = read(fd, buf + done, n - done);
    if (got <= 0) return false;
    done += static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

struct TestDnsServer::Impl {
  std::mutex mutex;
  Zone zone;
  int udp = -1, tcp = -1;
  int wake[2] = {-1, -1};
  uint16_t port = 0;
  std::atomic<uint64_t> queries{0};
  std::atomic<int> delay_ms{0};
  std::thread thread;
  // UDP answers held back by the delay, by when they are due (serve()'s thread only).
  struct Held {
    sockaddr_storage to;
    socklen_t to_len;
    std::vector<uint8_t> reply;
  };
  std::multimap<std::chrono::steady_clock::time_point, Held> held;

  void serve();
  int send_due();  // sends what is due; returns ms until the next, or -1
  void answer_udp();
  void answer_tcp();
  // The wire response to a wire query, or empty when the question must time out.
  std::vector<uint8_t> respond(const uint8_t* query, size_t size, bool over_udp);
  void fill_answer(ldns_pkt* response, std::string name, ldns_rr_type type);
};

void TestDnsServer::Impl::fill_answer(ldns_pkt* response, std::string name, ldns_rr_type type) {
  for (int hops = 0; hops < 8; ++hops) {
    if (zone.servfails.count(name)) {
      ldns_pkt_set_rcode(response, LDNS_RCODE_SERVFAIL);
      return;
    }
    auto [begin, end] = zone.records.equal_range(name);
    const ldns_rr* cname = nullptr;
    bool answered = false;
    for (auto it = begin; it != end; ++it) {
      ldns_rr_type have = ldns_rr_get_type(it->second.get());
      if (have == type) {
        ldns_pkt_push_rr(response, LDNS_SECTION_ANSWER, ldns_rr_clone(it->second.get()));
        answered = true;
      } else if (have == LDNS_RR_TYPE_CNAME) {
        cname = it->second.get();
      }
    }
    if (answered || !cname) {
      if (!answered && !zone.exists(name) && hops == 0) ldns_pkt_set_rcode(response, LDNS_RCODE_NXDOMAIN);
      return;
    }
    ldns_pkt_push_rr(response, LDNS_SECTION_ANSWER, ldns_rr_clone(cname));
    char* target = ldns_rdf2str(ldns_rr_rdf(cname, 0));
    name = lower_name(target ? target : "");
    free(target);
  }
}

std::vector<uint8_t> TestDnsServer::Impl::respond(const uint8_t* query, size_t size, bool over_udp) {
  ldns_pkt* request = nullptr;
  if (ldns_wire2pkt(&request, query, size) != LDNS_STATUS_OK) return {};
  ++queries;
  ldns_pkt* response = ldns_pkt_new();
  ldns_pkt_set_id(response, ldns_pkt_id(request));
  ldns_pkt_set_qr(response, true);
  ldns_pkt_set_aa(response, true);
  ldns_pkt_set_rd(response, ldns_pkt_rd(request));
  ldns_rr_list* questions = ldns_pkt_question(request);
  bool silent = false;
  if (ldns_rr_list_rr_count(questions) == 1) {
    const ldns_rr* question = ldns_rr_list_rr(questions, 0);
    ldns_pkt_push_rr(response, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
    std::string name = owner_of(question);
    std::lock_guard lock(mutex);
    fill_answer(response, name, ldns_rr_get_type(question));
    // Silent when the name (or the end of its CNAME chain) is a TIMEOUT name with no
    // record of the asked type.
    std::string last = name;
    bool answered = false;
    for (size_t i = 0; i < ldns_pkt_ancount(response); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_answer(response), i);
      if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME || ldns_rr_get_type(question) == LDNS_RR_TYPE_CNAME) {
        answered = true;
        continue;
      }
      char* target = ldns_rdf2str(ldns_rr_rdf(rr, 0));
      last = lower_name(target ? target : "");
      free(target);
    }
    silent = !answered && zone.timeouts.count(last) > 0;
  } else {
    ldns_pkt_set_rcode(response, LDNS_RCODE_FORMERR);
  }
  std::vector<uint8_t> out;
  uint8_t* wire = nullptr;
  size_t wire_size = 0;
  if (!silent && ldns_pkt2wire(&wire, response, &wire_size) == LDNS_STATUS_OK) {
    size_t limit = ldns_pkt_edns(request) ? std::max<size_t>(ldns_pkt_edns_udp_size(request), kPlainUdpLimit)
                                          : kPlainUdpLimit;
    if (over_udp && wire_size > limit) {
      // Truncate: header + question only, TC set, so the client asks again over TCP.
      ldns_rr_list_deep_free(ldns_pkt_answer(response));
      ldns_pkt_set_answer(response, ldns_rr_list_new());
      ldns_pkt_set_ancount(response, 0);
      ldns_pkt_set_tc(response, true);
      free(wire);
      wire = nullptr;
      ldns_pkt2wire(&wire, response, &wire_size);
    }
    out.assign(wire, wire + wire_size);
  }
  free(wire);
  ldns_pkt_free(response);
  ldns_pkt_free(request);
  return out;
}

void TestDnsServer::Impl::answer_udp() {
  uint8_t buf[4096];
  sockaddr_storage from{};
  socklen_t from_len = sizeof from;
  ssize_t got = recvfrom(udp, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
  if (got <= 0) return;
  auto reply = respond(buf, static_cast<size_t>(got), true);
  if (reply.empty()) return;
  const auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms.load());
  held.emplace(due, Held{from, from_len, std::move(reply)});
}

int TestDnsServer::Impl::send_due() {
  const auto now = std::chrono::steady_clock::now();
  while (!held.empty() && held.begin()->first <= now) {
    const Held& h = held.begin()->second;
    sendto(udp, h.reply.data(), h.reply.size(), 0, reinterpret_cast<const sockaddr*>(&h.to), h.to_len);
    held.erase(held.begin());
  }
  if (held.empty()) return -1;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(held.begin()->first - now).count());
}

void TestDnsServer::Impl::answer_tcp() {
  int conn = accept4(tcp, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) return;
  uint8_t len_buf[2];
  while (read_exact(conn, len_buf, 2)) {
    std::vector<uint8_t> query(static_cast<size_t>(len_buf[0] << 8 | len_buf[1]));
    if (!read_exact(conn, query.data(), query.size())) break;
    auto reply = respond(query.data(), query.size(), false);
    if (reply.empty()) continue;  // a TIMEOUT name: the client gives up on its own
    // Held back in line: TCP (large answers) is rare enough here to wait serially.
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    uint8_t prefix[2] = {static_cast<uint8_t>(reply.size() >> 8), static_cast<uint8_t>(reply.size())};
    if (write(conn, prefix, 2) != 2 ||
        write(conn, reply.data(), reply.size()) != static_cast<ssize_t>(reply.size())) {
      break;
    }
  }
  close(conn);
}

void TestDnsServer::Impl::serve() {
  pollfd fds[3] = {{udp, POLLIN, 0}, {tcp, POLLIN, 0}, {wake[0], POLLIN, 0}};
  while (true) {
    if (poll(fds, 3, send_due()) < 0) continue;
    if (fds[2].revents) return;
    if (fds[0].revents & POLLIN) answer_udp();
    if (fds[1].revents & POLLIN) answer_tcp();
    send_due();
  }
}

TestDnsServer::TestDnsServer(const std::string& zone_text, uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->zone = parse_zone(zone_text);
  // UDP and TCP on the same port: pick the UDP port first, retry when TCP has it taken.
  for (int attempt = 0; attempt < 20 && impl_->tcp < 0; ++attempt) {
    if (impl_->udp >= 0) close(impl_->udp);
    impl_->udp = bind_socket(SOCK_DGRAM, port);
    if (impl_->udp < 0) throw std::runtime_error("cannot bind UDP 127.0.0.1:" + std::to_string(port));
    impl_->tcp = bind_socket(SOCK_STREAM, bound_port(impl_->udp));
  }
  if (impl_->tcp < 0 || listen(impl_->tcp, 16) != 0)
    throw std::runtime_error("cannot bind TCP for the test DNS server");
  impl_->port = bound_port(impl_->udp);
  if (pipe2(impl_->wake, O_CLOEXEC) != 0) throw std::runtime_error("pipe2() failed");
  impl_->thread = std::thread([impl = impl_.get()] { impl->serve(); });
}

TestDnsServer::~TestDnsServer() {
  if (write(impl_->wake[1], "x", 1) != 1) std::terminate();
  impl_->thread.join();
  for (int fd : {impl_->udp, impl_->tcp, impl_->wake[0], impl_->wake[1]}) close(fd);
}

void TestDnsServer::set_zone(const std::string& zone_text) {
  Zone zone = parse_zone(zone_text);
  std::lock_guard lock(impl_->mutex);
  impl_->zone = std::move(zone);
}

void TestDnsServer::set_delay(std::chrono::milliseconds delay) {
  impl_->delay_ms = static_cast<int>(delay.count());
}

uint16_t TestDnsServer::port() const {
  return impl_->port;
}
std::string TestDnsServer::address() const {
  return "127.0.0.1:" + std::to_string(impl_->port);
}
uint64_t TestDnsServer::queries() const {
  return impl_->queries;
}

}  // namespace mp::testing
