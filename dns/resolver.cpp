#include "dns/resolver.h"

#include <idn2.h>

#include <ares.h>
#include <arpa/nameser.h>
#include <poll.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace mp::dns {

std::string_view rr_type_name(RrType type) {
  switch (type) {
    case RrType::A:
      return "A";
    case RrType::Ns:
      return "NS";
    case RrType::Cname:
      return "CNAME";
    case RrType::Soa:
      return "SOA";
    case RrType::Ptr:
      return "PTR";
    case RrType::Mx:
      return "MX";
    case RrType::Txt:
      return "TXT";
    case RrType::Aaaa:
      return "AAAA";
  }
  return "?";
}

std::string_view status_name(Status status) {
  switch (status) {
    case Status::Ok:
      return "ok";
    case Status::NxDomain:
      return "nxdomain";
    case Status::TempError:
      return "temperror";
  }
  return "?";
}

std::string Record::text() const {
  switch (type) {
    case RrType::Txt: {
      std::string joined;
      for (const auto& s : strings) joined += s;
      return joined;
    }
    case RrType::A:
    case RrType::Aaaa:
      return ip.str();
    default:
      return name;
  }
}

namespace {

// What is wrong with a server as ResolverOptions::servers writes it ("ip", "ip:port",
// "[v6]:port"), "" when nothing: c-ares would take "127.0.0.1:99999" as port 34463.
std::string server_problem(const std::string& server) {
  std::string address = server, port;
  if (server.starts_with("[")) {
    size_t close = server.find(']');
    if (close == std::string::npos) return "no ] after the IPv6 address";
    address = server.substr(1, close - 1);
    if (close + 1 < server.size()) {
      if (server[close + 1] != ':') return "expected :PORT after ]";
      port = server.substr(close + 2);
    }
  } else if (std::count(server.begin(), server.end(), ':') == 1) {
    address = server.substr(0, server.find(':'));
    port = server.substr(server.find(':') + 1);
  }
  if (!runtime::IpAddress::parse(address)) return "`" + address + "` is not an IP address";
  if (!port.empty() || server.ends_with(":")) {
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) < 1 || std::stoi(port) > 65535)
      return "port `" + port + "` is not a number from 1 to 65535";
  }
  return {};
}

std::string cache_key(std::string_view name, RrType type) {
  std::string key;
  key.reserve(name.size() + 6);
  for (char c : name) key += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  while (!key.empty() && key.back() == '.') key.pop_back();
  key += '/';
  key += std::to_string(static_cast<int>(type));
  return key;
}

}  // namespace

// ---------------------------------------------------------------------------------
// Cache

struct Cache::Impl {
  struct Entry {
    Answer answer;
    std::chrono::steady_clock::time_point expires;
  };
  mutable std::mutex mutex;
  std::unordered_map<std::string, Entry> entries;
  size_t max_entries;

  // Called with the mutex held. Dropping everything when expiry alone does not make
  // room keeps the cache O(1) per operation; a resolver cache only needs to be warm.
  void make_room(std::chrono::steady_clock::time_point now) {
    if (entries.size() < max_entries) return;
    std::erase_if(entries, [now](const auto& kv) { return kv.second.expires <= now; });
    if (entries.size() >= max_entries) entries.clear();
  }
};

Cache::Cache(size_t max_entries) : impl_(std::make_unique<Impl>()) {
  impl_->max_entries = max_entries;
}
Cache::~Cache() = default;

bool Cache::lookup(std::string_view name, RrType type, Answer& out) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->entries.find(cache_key(name, type));
  if (it == impl_->entries.end()) return false;
  if (it->second.expires <= now) {
    impl_->entries.erase(it);
    return false;
  }
  out = it->second.answer;
  out.from_cache = true;
  return true;
}

void Cache::store(std::string_view name, RrType type, const Answer& answer, uint32_t ttl_seconds,
                  std::chrono::steady_clock::time_point asked) {
  auto now = std::chrono::steady_clock::now();
  auto expires = asked + std::chrono::seconds(ttl_seconds);
  if (answer.temp_error() || expires <= now) return;
  std::lock_guard lock(impl_->mutex);
  impl_->make_room(now);
  impl_->entries[cache_key(name, type)] = {answer, expires};
}

size_t Cache::size() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->entries.size();
}

// ---------------------------------------------------------------------------------
// Answer decoding. c-ares's typed parsers (ares_parse_txt_reply…) drop the TTL, which
// the cache needs, so the resource records are walked here; names and strings are
// still decoded by c-ares (ares_expand_name handles compression pointers and loops).

namespace {

constexpr uint32_t kDefaultNegativeTtl = 60;

class Reader {
 public:
  Reader(const unsigned char* buf, int len) : buf_(buf), len_(len) {}
  bool has(int n) const { return pos_ + n <= len_; }
  uint16_t u16() {
    uint16_t v = static_cast<uint16_t>(buf_[pos_] << 8 | buf_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  uint32_t u32() {
    uint32_t hi = u16();
    return hi << 16 | u16();
  }
  bool name(std::string* out) {
    char* decoded = nullptr;
    long used = 0;
    if (pos_ >= len_ || ares_expand_name(buf_ + pos_, buf_, len_, &decoded, &used) != ARES_SUCCESS)
      return false;
    if (out) *out = decoded;
    ares_free_string(decoded);
    pos_ += static_cast<int>(used);
    return true;
  }
  int pos() const { return pos_; }
  void seek(int pos) { pos_ = pos; }
  const unsigned char* at(int pos) const { return buf_ + pos; }
  const unsigned char* buffer() const { return buf_; }
  int length() const { return len_; }

 private:
  const unsigned char* buf_;
  int len_;
  int pos_ = 0;
};

bool decode_rdata(Reader& r, RrType type, int end, Record& rec) {
  switch (type) {
    case RrType::A:
    case RrType::Aaaa: {
      int size = type == RrType::A ? 4 : 16;
      if (end - r.pos() != size) return false;
      rec.ip.v6 = type == RrType::Aaaa;
      std::copy_n(r.at(r.pos()), size, rec.ip.bytes.begin());
      return true;
    }
    case RrType::Mx:
      if (end - r.pos() < 3) return false;
      rec.preference = r.u16();
      return r.name(&rec.name);
    case RrType::Txt:
      for (int p = r.pos(); p < end;) {
        int n = *r.at(p);
        if (p + 1 + n > end) return false;
        rec.strings.emplace_back(reinterpret_cast<const char*>(r.at(p + 1)), n);
        p += 1 + n;
      }
      return true;
    case RrType::Soa:
      return true;
    default:
      return r.name(&rec.name);
  }
}

struct Decoded {
  Answer answer;
  uint32_t ttl = kDefaultNegativeTtl;
};

// The SOA in the authority section bounds how long a negative answer may be cached
// (RFC 2308: the smaller of its TTL and its MINIMUM field).
uint32_t negative_ttl(Reader& r, int nscount) {
  for (int i = 0; i < nscount; ++i) {
    if (!r.name(nullptr) || !r.has(10)) break;
    uint16_t type = r.u16();
    r.u16();
    uint32_t ttl = r.u32();
    uint16_t rdlen = r.u16();
    int end = r.pos() + rdlen;
    if (end > r.length()) break;
    if (type == static_cast<uint16_t>(RrType::Soa) && rdlen >= 20) {
      const unsigned char* m = r.at(end - 4);
      uint32_t minimum = uint32_t{m[0]} << 24 | uint32_t{m[1]} << 16 | uint32_t{m[2]} << 8 | m[3];
      return std::min(ttl, minimum);
    }
    r.seek(end);
  }
  return kDefaultNegativeTtl;
}

Decoded decode_answer(const unsigned char* buf, int len, RrType wanted, Status status) {
  Decoded out;
  out.answer.status = status;
  Reader r(buf, len);
  if (!r.has(12)) return out;
  r.seek(4);
  int qdcount = r.u16(), ancount = r.u16(), nscount = r.u16();
  r.seek(12);
  for (int i = 0; i < qdcount; ++i) {
    if (!r.name(nullptr) || !r.has(4)) return out;
    r.seek(r.pos() + 4);
  }
  uint32_t min_ttl = UINT32_MAX;
  for (int i = 0; i < ancount; ++i) {
    if (!r.name(nullptr) || !r.has(10)) break;
    auto type = static_cast<RrType>(r.u16());
    uint16_t rr_class = r.u16();
    uint32_t ttl = r.u32();
    uint16_t rdlen = r.u16();
    int end = r.pos() + rdlen;
    if (end > len) break;
    min_ttl = std::min(min_ttl, ttl);  // CNAMEs on the way count too
    Record rec;
    rec.type = type;
    rec.ttl = ttl;
    if (type == wanted && rr_class == ns_c_in && decode_rdata(r, type, end, rec)) {
      out.answer.records.push_back(std::move(rec));
    }
    r.seek(end);
  }
  out.ttl = out.answer.records.empty() ? negative_ttl(r, nscount) : min_ttl;
  return out;
}

std::string_view failure_reason(int status) {
  switch (status) {
    case ARES_ETIMEOUT:
      return "timeout";
    case ARES_ESERVFAIL:
      return "SERVFAIL";
    case ARES_EREFUSED:
      return "REFUSED";
    case ARES_ECONNREFUSED:
      return "connection refused";
    case ARES_EFORMERR:
      return "FORMERR";
    case ARES_EBADRESP:
      return "malformed response";
    case ARES_ECANCELLED:
      return "timeout (deadline)";
    case ARES_EDESTRUCTION:
      return "resolver shut down";
    default:
      return ares_strerror(status);
  }
}

struct LibraryInit {
  LibraryInit() { ares_library_init(ARES_LIB_INIT_ALL); }
};

}  // namespace

std::optional<std::string> a_label_name(std::string_view name) {
  const bool ascii =
      std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return std::string(name);
  std::string out;
  for (size_t start = 0; start <= name.size();) {
    const size_t dot = std::min(name.find('.', start), name.size());
    std::string label(name.substr(start, dot - start));
    if (std::any_of(label.begin(), label.end(),
                    [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
      char* converted = nullptr;
      const int rc = idn2_to_ascii_8z(label.c_str(), &converted, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
      std::unique_ptr<char, decltype(&idn2_free)> owner(converted, &idn2_free);
      if (rc != IDN2_OK) return std::nullopt;
      label = converted;
    }
    out += label;
    if (dot == name.size()) break;
    out += '.';
    start = dot + 1;
  }
  return out;
}

bool valid_dns_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    size_t end = dot == std::string_view::npos ? name.size() : dot;
    if (end == start || end - start > 63) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

std::string reverse_labels(const runtime::IpAddress& ip) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  if (!ip.v6) {
    for (int i = 3; i >= 0; --i) out += std::to_string(ip.bytes[i]) + (i ? "." : "");
    return out;
  }
  for (int i = 15; i >= 0; --i) {
    out += kHex[ip.bytes[i] & 0xF];
    out += '.';
    out += kHex[ip.bytes[i] >> 4];
    if (i) out += '.';
  }
  return out;
}

std::string reverse_name(const runtime::IpAddress& ip) {
  return reverse_labels(ip) + (ip.v6 ? ".ip6.arpa" : ".in-addr.arpa");
}

// ---------------------------------------------------------------------------------
// Resolver

struct Resolver::Impl {
  ResolverOptions options;
  ares_channel channel = nullptr;
  std::shared_ptr<Cache> cache;
  // Questions on the wire, by cache key, each with everyone waiting for it. `id` tells
  // this question from an earlier one for the same key that was given up (its answer,
  // should it still come, is dropped: see live()).
  struct Pending {
    std::string name;
    RrType type;
    std::vector<Callback> waiters;
    Clock::time_point asked;
    uint64_t id = 0;
  };
  std::unordered_map<std::string, Pending> pending;
  struct QueryContext {  // what c-ares hands back to on_answer
    Impl* impl;
    std::string key;
    uint64_t id;
  };
  uint64_t sent = 0;
  uint32_t budget = 0;
  uint64_t budget_base = 0;

  static void on_answer(void* arg, int status, int, unsigned char* buf, int len);
  void deliver(const std::string& key, const Answer& answer, uint32_t ttl);
  bool over_budget() const { return budget && sent - budget_base >= budget; }
  // A question no one drove to its end (its caller's deadline passed first) may have
  // its answer lying unread in the socket, long after it was sent: a later caller must
  // not be given that answer, so a question is merged only within the time c-ares
  // would give it (timeout × tries × servers) and is asked afresh after.
  bool live(const Pending& p) const {
    const int64_t servers = static_cast<int64_t>(std::max<size_t>(1, options.servers.size()));
    return Clock::now() - p.asked <
           std::chrono::milliseconds(int64_t{options.timeout_ms} * options.tries * servers);
  }
  void wait_for_io(Clock::time_point deadline);
  std::optional<Answer> known_answer(std::string_view unicode_name, RrType type, std::string& wire_name);
};

void Resolver::Impl::on_answer(void* arg, int status, int, unsigned char* buf, int len) {
  std::unique_ptr<QueryContext> ctx(static_cast<QueryContext*>(arg));
  auto it = ctx->impl->pending.find(ctx->key);
  if (it == ctx->impl->pending.end() || it->second.id != ctx->id) return;  // a question given up
  RrType type = it->second.type;
  Decoded decoded;
  switch (status) {
    case ARES_SUCCESS:
    case ARES_ENODATA:
      decoded = decode_answer(buf, len, type, Status::Ok);
      break;
    case ARES_ENOTFOUND:
      decoded = decode_answer(buf, len, type, Status::NxDomain);
      break;
    default:
      decoded.answer.status = Status::TempError;
      decoded.answer.reason = failure_reason(status);
      decoded.ttl = 0;
  }
  ctx->impl->deliver(ctx->key, decoded.answer, decoded.ttl);
}

void Resolver::Impl::deliver(const std::string& key, const Answer& answer, uint32_t ttl) {
  auto node = pending.extract(key);
  if (node.empty()) return;
  // The TTL counts from when the question was asked: the answer is at least that old.
  cache->store(node.mapped().name, node.mapped().type, answer, ttl, node.mapped().asked);
  // Waiters may start new queries (an SPF include, a CNAME target); the entry is
  // already out of the map, so they cannot attach to this finished one.
  for (auto& waiter : node.mapped().waiters) waiter(answer);
}

Resolver::Resolver(ResolverOptions options) : impl_(std::make_unique<Impl>()) {
  static LibraryInit init;
  impl_->options = std::move(options);
  impl_->cache = impl_->options.cache ? impl_->options.cache : std::make_shared<Cache>();
  ares_options opts{};
  opts.timeout = std::max(1, impl_->options.timeout_ms);
  opts.tries = std::max(1, impl_->options.tries);
  // Questions are asked exactly as given: no search list, no /etc/hosts. SERVFAIL
  // and REFUSED come back to us as such (NOCHECKRESP) instead of being retried and
  // reported as "connection refused", so a trace can say what the server said.
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
  opts.lookups = const_cast<char*>("b");
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_LOOKUPS;
  if (int rc = ares_init_options(&impl_->channel, &opts, mask); rc != ARES_SUCCESS) {
    throw std::runtime_error(std::string("DNS resolver: ") + ares_strerror(rc));
  }
  if (!impl_->options.servers.empty()) {
    std::string csv;
    for (const auto& s : impl_->options.servers) {
      if (std::string problem = server_problem(s); !problem.empty()) {
        ares_destroy(impl_->channel);
        throw std::runtime_error("DNS server '" + s + "': " + problem);
      }
      // c-ares takes "[v6]" only with a port: "[::1]" is written "::1".
      bool bare_v6 = s.starts_with("[") && s.ends_with("]");
      csv += (csv.empty() ? "" : ",") + (bare_v6 ? s.substr(1, s.size() - 2) : s);
    }
    if (int rc = ares_set_servers_ports_csv(impl_->channel, csv.c_str()); rc != ARES_SUCCESS) {
      ares_destroy(impl_->channel);
      throw std::runtime_error("DNS server list '" + csv + "': " + ares_strerror(rc));
    }
  }
}

Resolver::~Resolver() {
  // ares_destroy answers every outstanding query with ARES_EDESTRUCTION; the waiters
  // must not run against a half-destroyed resolver, so drop them first.
  impl_->pending.clear();
  ares_destroy(impl_->channel);
}

// The answer given without asking: NXDOMAIN for a name that cannot be asked, or the
// cached one. Otherwise nullopt and `wire_name` is the name to ask (A-labels).
std::optional<Answer> Resolver::Impl::known_answer(std::string_view unicode_name, RrType type,
                                                   std::string& wire_name) {
  Answer answer;
  const std::optional<std::string> name = a_label_name(unicode_name);
  if (!name || !valid_dns_name(*name)) {
    answer.status = Status::NxDomain;
    answer.reason = name ? "not a valid DNS name" : "not a valid internationalized domain name";
    return answer;
  }
  if (cache->lookup(*name, type, answer)) return answer;
  wire_name = *name;
  return std::nullopt;
}

void Resolver::query(std::string_view unicode_name, RrType type, Callback callback) {
  std::string name;
  if (std::optional<Answer> known = impl_->known_answer(unicode_name, type, name)) {
    callback(*known);
    return;
  }
  Answer answer;
  std::string key = cache_key(name, type);
  auto it = impl_->pending.find(key);
  if (it != impl_->pending.end() && impl_->live(it->second)) {
    it->second.waiters.push_back(std::move(callback));
    return;
  }
  if (impl_->over_budget()) {
    answer.reason = "query budget exhausted";
    callback(answer);
    return;
  }
  std::vector<Callback> waiters;
  if (it != impl_->pending.end()) waiters = std::move(it->second.waiters);  // a fresh answer for them too
  waiters.push_back(std::move(callback));
  const uint64_t id = ++impl_->sent;
  impl_->pending[key] = {name, type, std::move(waiters), Clock::now(), id};
  ares_query(impl_->channel, name.c_str(), ns_c_in, static_cast<int>(type), &Impl::on_answer,
             new Impl::QueryContext{impl_.get(), key, id});
}

void Resolver::Impl::wait_for_io(Clock::time_point deadline) {
  ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
  int bits = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
  pollfd fds[ARES_GETSOCK_MAXNUM];
  int count = 0;
  for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
    short events =
        (ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) | (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0);
    if (events) fds[count++] = {sockets[i], events, 0};
  }
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
  timeval max_wait{static_cast<time_t>(std::max<int64_t>(0, left.count()) / 1000000),
                   static_cast<suseconds_t>(std::max<int64_t>(0, left.count()) % 1000000)};
  timeval buf{};
  timeval* wait = ares_timeout(channel, &max_wait, &buf);
  int wait_ms = static_cast<int>(wait->tv_sec * 1000 + (wait->tv_usec + 999) / 1000);
  poll(fds, count, wait_ms);
  for (int i = 0; i < count; ++i) {
    ares_socket_t readable = fds[i].revents & (POLLIN | POLLERR | POLLHUP) ? fds[i].fd : ARES_SOCKET_BAD;
    ares_socket_t writable = fds[i].revents & POLLOUT ? fds[i].fd : ARES_SOCKET_BAD;
    if (readable != ARES_SOCKET_BAD || writable != ARES_SOCKET_BAD)
      ares_process_fd(channel, readable, writable);
  }
  // Lets c-ares notice per-try timeouts even when no socket was ready.
  ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

void Resolver::run_until_idle(Clock::time_point deadline) {
  while (!impl_->pending.empty() && Clock::now() < deadline) impl_->wait_for_io(deadline);
  if (!impl_->pending.empty()) ares_cancel(impl_->channel);  // answers them all TempError
}

Answer Resolver::resolve(std::string_view name, RrType type, Clock::time_point deadline) {
  if (Clock::now() >= deadline) {
    // No time to wait for an answer, so no question is sent: one nobody reads would
    // only load the server (a message past its facts budget asks on and on).
    std::string unused;
    if (std::optional<Answer> known = impl_->known_answer(name, type, unused)) return *known;
    Answer timed_out;
    timed_out.reason = "timeout (deadline passed before asking)";
    return timed_out;
  }
  auto result = std::make_shared<std::optional<Answer>>();
  query(name, type, [result](const Answer& a) { *result = a; });
  while (!*result && Clock::now() < deadline && !impl_->pending.empty()) impl_->wait_for_io(deadline);
  if (*result) return **result;
  // The question stays on the wire for other waiters and the cache; this caller
  // stops waiting.
  Answer timed_out;
  timed_out.reason = "timeout";
  return timed_out;
}

Answer Resolver::resolve(std::string_view name, RrType type) {
  size_t servers = std::max<size_t>(1, impl_->options.servers.size());
  auto limit = std::chrono::milliseconds(
      int64_t{impl_->options.timeout_ms} * impl_->options.tries * static_cast<int64_t>(servers) + 100);
  return resolve(name, type, Clock::now() + limit);
}

void Resolver::set_query_budget(uint32_t max_queries) {
  impl_->budget = max_queries;
  impl_->budget_base = impl_->sent;
}

size_t Resolver::outstanding() const {
  return impl_->pending.size();
}
uint64_t Resolver::queries_sent() const {
  return impl_->sent;
}
const ResolverOptions& Resolver::options() const {
  return impl_->options;
}

}  // namespace mp::dns
