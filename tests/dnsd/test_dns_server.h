// An authoritative DNS server for tests, on 127.0.0.1 (UDP and TCP), written on ldns.
// It serves records from zone text and can be told to never answer a name (so that
// resolver timeouts are real timeouts) or to answer SERVFAIL, and to answer everything
// late (set_delay: a slow server).
//
// Zone text, one entry per line ('#' or ';' starts a comment):
//   example.com. 300 IN TXT "v=spf1 -all"      any record ldns can parse (master-file syntax)
//   slow.example.com. TIMEOUT                    never answer questions for this name for
//                                                types it has no records of (all, if none)
//   broken.example.com. SERVFAIL                 answer SERVFAIL
// CNAMEs are followed inside the zone; a name with no records of the asked type is
// NODATA when it (or a name below it) exists, else NXDOMAIN. Responses over 512
// octets to a query without EDNS are truncated (TC) so that clients retry over TCP.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace mp::testing {

class TestDnsServer {
 public:
  // Binds 127.0.0.1:port (0 picks a free port) and starts serving on a thread.
  // Throws std::runtime_error naming the line of zone text that ldns rejects.
  explicit TestDnsServer(const std::string& zone_text, uint16_t port = 0);
  ~TestDnsServer();
  TestDnsServer(const TestDnsServer&) = delete;
  TestDnsServer& operator=(const TestDnsServer&) = delete;

  void set_zone(const std::string& zone_text);  // replaces the served data
  // Every answer from now on leaves `delay` after its question came (a slow server,
  // not a dead one); UDP answers are held independently, TCP ones in line. 0: at once.
  void set_delay(std::chrono::milliseconds delay);
  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT", for --dns-server
  uint64_t queries() const;     // questions received so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mp::testing
