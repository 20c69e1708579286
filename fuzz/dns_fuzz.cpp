// libFuzzer target: DNS responses through the real resolver path (c-ares reads the
// datagram, dns/resolver.cpp decode_answer walks its records). A server on 127.0.0.1
// (fuzz/udp_responder.h) answers each query with the input as the whole response.
//
// Input: byte 0 picks the question type (RrType), the rest is the response; its first
// two bytes are replaced by the query's ID (c-ares drops a reply with another ID
// before reading anything) and it is padded to a 12-byte header. A fresh Resolver per
// input, so no answer comes from the cache.
//
// c-ares also drops a reply whose question differs from the query's, and would then
// wait for the timeout: most mutations would cost the whole timeout. So the server
// sends a second datagram after the input, a SERVFAIL for the right question, which
// ends the query at once when the first was dropped (and is ignored when it was not).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "dns/resolver.h"
#include "fuzz/udp_responder.h"

namespace {

using mp::dns::RrType;

constexpr std::array kTypes = {RrType::A,   RrType::Ns, RrType::Cname, RrType::Soa,
                               RrType::Ptr, RrType::Mx, RrType::Txt,   RrType::Aaaa};

mp::fuzz::CurrentInput g_response;

std::vector<std::string> reply(std::string_view query) {
  mp::fuzz::DnsQuestion q;
  if (!mp::fuzz::parse_question(query, q)) return {};
  std::string response = g_response.get();
  if (response.size() < 12) response.resize(12, '\0');
  response[0] = static_cast<char>(q.id >> 8);
  response[1] = static_cast<char>(q.id & 0xff);
  return {response, mp::fuzz::dns_response(q, 2, {})};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mp::fuzz::UdpResponder server(reply);
  if (size == 0) return 0;
  g_response.set(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  const RrType type = kTypes[data[0] % kTypes.size()];
  mp::dns::Resolver resolver({.servers = {server.server()}, .timeout_ms = 200, .tries = 1});
  mp::dns::Answer answer = resolver.resolve("fuzz.example.org", type,
                                            mp::dns::Resolver::Clock::now() + std::chrono::milliseconds(400));
  // Read what a caller reads.
  for (const mp::dns::Record& record : answer.records) record.text();
  return 0;
}
