#include "tools/policyd/metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace mp::policyd {

namespace {

const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};

// Label values escaped as the format asks: backslash, double quote, newline.
std::string escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string render(const Labels& labels, const std::string& extra = {}) {
  std::string out;
  for (const auto& [name, value] : labels)
    out += (out.empty() ? "" : ",") + name + "=\"" + escape(value) + "\"";
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

std::string with_extra(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

}  // namespace

Metrics::Metrics() = default;

Metrics::Family& Metrics::family(const std::string& name, const char* type) {
  Family& f = families_[name];
  if (f.type.empty()) f.type = type;
  return f;
}

void Metrics::count(const std::string& name, const Labels& labels, double by) {
  std::lock_guard lock(mutex_);
  family(name, "counter").values[render(labels)] += by;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  family(name, "gauge").values[render(labels)] = value;
}

void Metrics::replace(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, "gauge");
  f.values.clear();
  f.values[render(labels)] = value;
}

void Metrics::observe(const std::string& name, const Labels& labels, double seconds) {
  std::lock_guard lock(mutex_);
  Histogram& h = family(name, "histogram").histograms[render(labels)];
  if (h.counts.empty()) h.counts.assign(kBuckets.size(), 0);
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      h.counts[i] += 1;
      break;
    }
  }
  h.sum += seconds;
  h.count += 1;
}

std::string Metrics::text() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += fmt::format("# TYPE {} {}\n", name, f.type);
    for (const auto& [labels, value] : f.values) out += name + labels + " " + number(value) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      double cumulative = 0;
      for (size_t i = 0; i < kBuckets.size(); ++i) {
        cumulative += h.counts[i];
        out += name + "_bucket" + with_extra(labels, "le=\"" + number(kBuckets[i]) + "\"") + " " +
               number(cumulative) + "\n";
      }
      out += name + "_bucket" + with_extra(labels, "le=\"+Inf\"") + " " + number(h.count) + "\n";
      out += name + "_sum" + labels + " " + number(h.sum) + "\n";
      out += name + "_count" + labels + " " + number(h.count) + "\n";
    }
  }
  return out;
}

struct MetricsServer::Daemon {
  MHD_Daemon* daemon = nullptr;
  const Metrics* metrics = nullptr;
  ~Daemon() {
    if (daemon) MHD_stop_daemon(daemon);
  }
};

namespace {

MHD_Result answer(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                  const char*, size_t*, void**) {
  const auto* metrics = static_cast<const Metrics*>(cls);
  std::string body;
  unsigned status = MHD_HTTP_OK;
  const char* type = "text/plain; version=0.0.4; charset=utf-8";
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
    status = MHD_HTTP_METHOD_NOT_ALLOWED, body = "GET only\n";
  } else if (std::strcmp(url, "/metrics") == 0) {
    body = metrics->text();
  } else if (std::strcmp(url, "/health") == 0) {
    body = "ok\n";
  } else {
    status = MHD_HTTP_NOT_FOUND, body = "not found: /metrics and /health are served\n";
  }
  MHD_Response* response = MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(response, "Content-Type", type);
  MHD_Result result = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return result;
}

sockaddr_in parse_address(const std::string& address) {
  size_t colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  int port = -1;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(address.substr(colon + 1));
    } catch (...) {
      port = -1;
    }
  }
  if (colon == std::string::npos || port < 0 || port > 65535 ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1)
    throw std::runtime_error("metrics: `" + address + "` is not IPv4-ADDRESS:PORT");
  sa.sin_port = htons(static_cast<uint16_t>(port));
  return sa;
}

}  // namespace

MetricsServer::MetricsServer(const std::string& address, const Metrics& metrics)
    : daemon_(std::make_unique<Daemon>()) {
  sockaddr_in sa = parse_address(address);
  daemon_->metrics = &metrics;
  // The port is given too (MHD_OPTION_SOCK_ADDR decides) so that libmicrohttpd's own
  // error message names it.
  daemon_->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, ntohs(sa.sin_port),
                                     nullptr, nullptr, &answer, const_cast<Metrics*>(&metrics),
                                     MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
  if (daemon_->daemon == nullptr) throw std::runtime_error("metrics: cannot listen on " + address);
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_->daemon, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info ? info->port : ntohs(sa.sin_port);
}

MetricsServer::~MetricsServer() = default;

}  // namespace mp::policyd
