// libFuzzer target: SPF records (auth/spf.cpp: record syntax, macros, every mechanism
// and modifier, the lookup limits) through the real resolver. The server on
// 127.0.0.1 (fuzz/udp_responder.h) builds proper answers, so that the input is the
// record text and not DNS framing:
//   TXT      the input's first record line for the sender's domain, example.org (and
//            the HELO name), its second line (else the first) for every other name:
//            include:, redirect= and exp= targets; cut in 255-octet strings
//   A, AAAA  192.0.2.1, 2001:db8::1 (so a, mx, ptr and exists can match)
//   MX       10 mx.example.org;  PTR  mail.example.org (which resolves back)
// A name whose first label starts with "nx" is NXDOMAIN, "void" NODATA, "tmp"
// SERVFAIL: the void-lookup limit and temperror are reachable from the record text.
// An optional first line starting with '!' holds flags: '6' asks for client
// 2001:db8::1 instead of 192.0.2.1, 'h' for the null sender (the HELO identity).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/spf.h"
#include "fuzz/udp_responder.h"

namespace {

using mp::fuzz::DnsRecord;

mp::fuzz::CurrentInput g_records;  // the record lines, flags line removed

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string txt_rdata(const std::string& question) {
  std::vector<std::string> records = lines(g_records.get());
  const std::string& record =
      question == "example.org" || question == "mail.example.org" || records.size() < 2 ? records[0]
                                                                                        : records[1];
  std::string rdata;
  for (size_t i = 0; i == 0 || i < record.size(); i += 255) {
    std::string piece = record.substr(i, 255);
    rdata += static_cast<char>(piece.size());
    rdata += piece;
  }
  return rdata;
}

std::vector<DnsRecord> answers(const mp::fuzz::DnsQuestion& q) {
  switch (static_cast<mp::dns::RrType>(q.type)) {
    case mp::dns::RrType::A: return {{q.type, std::string("\xc0\x00\x02\x01", 4)}};
    case mp::dns::RrType::Aaaa:
      return {{q.type, std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x01"}};
    case mp::dns::RrType::Mx:
      return {{q.type, std::string("\x00\x0a", 2) + mp::fuzz::wire_name("mx.example.org")}};
    case mp::dns::RrType::Ptr: return {{q.type, mp::fuzz::wire_name("mail.example.org")}};
    case mp::dns::RrType::Txt: return {{q.type, txt_rdata(q.name)}};
    default: return {};
  }
}

std::vector<std::string> reply(std::string_view query) {
  mp::fuzz::DnsQuestion q;
  if (!mp::fuzz::parse_question(query, q)) return {};
  if (q.name.starts_with("nx")) return {mp::fuzz::dns_response(q, 3, {})};
  if (q.name.starts_with("tmp")) return {mp::fuzz::dns_response(q, 2, {})};
  if (q.name.starts_with("void")) return {mp::fuzz::dns_response(q, 0, {})};
  return {mp::fuzz::dns_response(q, 0, answers(q))};
}

mp::auth::SpfRequest request(const std::string& flags) {
  mp::auth::SpfRequest r;
  const bool v6 = flags.find('6') != std::string::npos;
  r.ip = mp::runtime::IpAddress::parse(v6 ? "2001:db8::1" : "192.0.2.1").value();
  r.sender = flags.find('h') != std::string::npos ? "" : "user@example.org";
  r.helo = "mail.example.org";
  r.receiver = "mx.receiver.example";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mp::fuzz::UdpResponder server(reply);
  // A record of 2 KB already takes 9 strings; more would only outgrow a datagram.
  if (size > 2048) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string flags;
  if (text.starts_with("!")) {
    const size_t end = text.find('\n');
    flags = text.substr(0, end);
    text = end == std::string::npos ? "" : text.substr(end + 1);
  }
  g_records.set(std::move(text));
  mp::dns::Resolver resolver({.servers = {server.server()}, .timeout_ms = 200, .tries = 1});
  mp::auth::check_spf(request(flags), resolver,
                      mp::dns::Resolver::Clock::now() + std::chrono::milliseconds(300));
  return 0;
}
