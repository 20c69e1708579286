// dns/: the asynchronous resolver every DNS fact goes through (c-ares underneath).
//
//   mp::dns::Resolver resolver({.servers = {"127.0.0.1:5353"}, .timeout_ms = 1500});
//   resolver.query("example.com", RrType::Txt, [](const Answer& a) { ... });  // async
//   resolver.run_until_idle(deadline);      // drives every outstanding query
//   Answer a = resolver.resolve("example.com", RrType::Mx);  // sync: query + run
//
// Identical questions in flight are merged and answered once; answers are cached for
// their TTL (negative answers for the SOA minimum) in a Cache that several resolvers
// (one per thread) may share. A timeout, SERVFAIL or any other failure is an Answer
// with status TempError and a reason, never an exception.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/api_export.h"
#include "runtime/ip.h"

namespace mp::dns {

enum class RrType : uint16_t { A = 1, Ns = 2, Cname = 5, Soa = 6, Ptr = 12, Mx = 15, Txt = 16, Aaaa = 28 };
std::string_view rr_type_name(RrType type);

enum class Status : uint8_t {
  Ok,         // NOERROR; records may be empty (NODATA)
  NxDomain,   // the name does not exist
  TempError,  // timeout, SERVFAIL, REFUSED, no server reachable, budget exhausted
};
std::string_view status_name(Status status);

struct MP_API Record {
  RrType type = RrType::A;
  uint32_t ttl = 0;
  runtime::IpAddress ip;             // A, AAAA
  std::string name;                  // MX exchange, PTR / CNAME / NS target (no final dot)
  uint16_t preference = 0;           // MX
  std::vector<std::string> strings;  // TXT character-strings, as sent
  std::string text() const;          // TXT strings joined (RFC 7208 3.3), else name / ip
};

struct Answer {
  Status status = Status::TempError;
  std::vector<Record> records;  // only records of the type asked for
  std::string reason;           // for TempError: "timeout", "SERVFAIL", "query budget exhausted"…
  bool from_cache = false;

  bool ok() const { return status == Status::Ok; }
  bool temp_error() const { return status == Status::TempError; }
  bool empty() const { return records.empty(); }
};

// Answers by (name, type), expiring with their TTL. Thread-safe; shared by resolvers.
class MP_API Cache {
 public:
  explicit Cache(size_t max_entries = 50000);
  ~Cache();
  // True and `out` set (from_cache) when an unexpired answer is held.
  bool lookup(std::string_view name, RrType type, Answer& out);
  // Holds `answer` until `asked` + ttl_seconds: `asked` is when the question was sent,
  // since the answer is at least that old (RFC 1035 3.2.1: the TTL is the time it may be
  // cached). A TempError, or an answer already expired, is not held.
  void store(std::string_view name, RrType type, const Answer& answer, uint32_t ttl_seconds,
             std::chrono::steady_clock::time_point asked = std::chrono::steady_clock::now());
  size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ResolverOptions {
  // "ip", "ip:port", "[v6]:port". Empty: the system's /etc/resolv.conf.
  std::vector<std::string> servers;
  int timeout_ms = 2000;  // per try, per server
  int tries = 2;
  std::shared_ptr<Cache> cache{};  // null: a private cache
};

class MP_API Resolver {
 public:
  using Callback = std::function<void(const Answer&)>;
  using Clock = std::chrono::steady_clock;

  explicit Resolver(ResolverOptions options = {});  // throws std::runtime_error on bad options
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Starts a query, or answers at once from the cache (the callback then runs inside
  // this call). A query for a name that is not a valid DNS name (empty label, label
  // over 63 octets, name over 253) is answered NxDomain without asking.
  void query(std::string_view name, RrType type, Callback callback);
  // Drives outstanding queries until none is left or the deadline passes; at the
  // deadline every one still outstanding is answered TempError "timeout".
  void run_until_idle(Clock::time_point deadline);
  // query() + run_until(answered or deadline). Other outstanding queries progress too.
  // A deadline already past sends nothing: the cached answer, NXDOMAIN for a name that
  // cannot be asked, or else TempError "timeout (deadline passed before asking)".
  Answer resolve(std::string_view name, RrType type, Clock::time_point deadline);
  Answer resolve(std::string_view name, RrType type);  // deadline: timeout × tries × servers

  // A per-message budget: after `max_queries` more queries on the wire, further
  // questions not in the cache are answered TempError "query budget exhausted".
  // 0 lifts the limit.
  void set_query_budget(uint32_t max_queries);

  size_t outstanding() const;
  // Queries actually sent on the wire (cache hits and merged questions excluded).
  uint64_t queries_sent() const;
  const ResolverOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "1.2.0.192.in-addr.arpa" / nibble form under ip6.arpa (RFC 3596), for PTR queries.
std::string reverse_name(const runtime::IpAddress& ip);
// The same reversed form without the arpa suffix, for DNSBL queries (RFC 5782).
std::string reverse_labels(const runtime::IpAddress& ip);
// Checks the DNS length limits of a name (labels 1..63 octets, whole name ≤ 253).
bool valid_dns_name(std::string_view name);
// The name as it goes on the wire: every non-ASCII label converted to its A-label
// (IDNA 2008 non-transitional, libidn2: "пример.рф" -> "xn--e1afmkfd.xn--p1ai", RFC
// 7208 4.3, RFC 5890); ASCII labels, underscores included ("_dmarc"), unchanged.
// nullopt when a label is not a valid IDN. Resolver::query applies it to every name,
// so every name the product builds (SPF with macros, DKIM, DMARC, MX, PTR, HELO
// checks, DNS lists) is asked as A-labels.
std::optional<std::string> a_label_name(std::string_view name);

}  // namespace mp::dns
