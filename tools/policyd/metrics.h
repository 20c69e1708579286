// policyd's metrics in the Prometheus text exposition format (version 0.0.4), served
// over HTTP by libmicrohttpd at /metrics. Debian has no prometheus-cpp; the format is
// a few lines of text, so the registry is here and the HTTP server is the library's.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mp::policyd {

using Labels = std::vector<std::pair<std::string, std::string>>;  // name, value

class Metrics {
 public:
  Metrics();
  // counter NAME{labels} += by
  void count(const std::string& name, const Labels& labels, double by = 1);
  // gauge NAME{labels} = value
  void set(const std::string& name, const Labels& labels, double value);
  // gauge NAME = value for `labels` only: every other label set of NAME is dropped
  // (an info metric such as the image id in use)
  void replace(const std::string& name, const Labels& labels, double value);
  // observation of histogram NAME{labels} (seconds; buckets 0.0001 s … 30 s)
  void observe(const std::string& name, const Labels& labels, double seconds);
  // The whole registry in the text format, HELP and TYPE lines included.
  std::string text() const;

 private:
  struct Histogram {
    std::vector<double> counts;  // per bucket (not cumulative)
    double sum = 0;
    double count = 0;
  };
  struct Family {
    std::string type;                      // counter, gauge, histogram
    std::map<std::string, double> values;  // by rendered label set
    std::map<std::string, Histogram> histograms;
  };
  Family& family(const std::string& name, const char* type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

// Serves GET /metrics (the registry) and GET /health ("ok"), on a thread of
// libmicrohttpd's own, until destroyed.
class MetricsServer {
 public:
  // `address` is "HOST:PORT" (IPv4; port 0 picks one). Throws std::runtime_error when
  // it cannot listen.
  MetricsServer(const std::string& address, const Metrics& metrics);
  ~MetricsServer();
  int port() const { return port_; }

 private:
  struct Daemon;
  std::unique_ptr<Daemon> daemon_;
  int port_ = 0;
};

}  // namespace mp::policyd
