// Reputation decay and rate windows on atomic additions (state/memory.h).
#include "state/memory.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace mp::state {
namespace {

constexpr double kEpochHalfLives = 32;
constexpr int kBuckets = 10;

double epoch_length(const ReputationOptions& o) {
  return kEpochHalfLives * o.half_life;
}

std::string reputation_key(std::string_view subject, long long epoch) {
  return fmt::format("rep:{}:{}", subject, epoch);
}

std::string bucket_key(std::string_view key, double window, long long bucket) {
  return fmt::format("rate:{}:{}:{}", key_part(key), static_cast<long long>(window), bucket);
}

double bucket_length(double window) {
  return std::max(1.0, window / kBuckets);
}

double sum(std::span<const std::optional<std::string>> values) {
  double total = 0;
  for (const auto& v : values) total += v ? std::strtod(v->c_str(), nullptr) : 0;
  return total;
}

// The keys of the buckets before the current one that the window still covers.
std::vector<std::string> earlier_buckets(std::string_view key, double window, double now) {
  const double length = bucket_length(window);
  const auto current = static_cast<long long>(std::floor(now / length));
  std::vector<std::string> keys;
  for (long long b = current - static_cast<long long>(std::ceil(window / length)) + 1; b < current; ++b) {
    keys.push_back(bucket_key(key, window, b));
  }
  return keys;
}

}  // namespace

std::string address_subject(const runtime::IpAddress& ip) {
  return "ip:" + ip.str();
}

std::string network_subject(const runtime::IpAddress& ip) {
  const int bits = ip.v6 ? 64 : 24;
  runtime::IpAddress network = ip;
  for (int i = bits / 8; i < 16; ++i) network.bytes[static_cast<size_t>(i)] = 0;
  return "net:" + network.str() + "/" + std::to_string(bits);
}

double reputation(Store& store, std::string_view subject, double now, const ReputationOptions& options) {
  const double period = epoch_length(options);
  const auto current = static_cast<long long>(std::floor(now / period));
  const std::vector<std::string> keys = {reputation_key(subject, current),
                                         reputation_key(subject, current - 1)};
  const auto values = store.get_many(keys);
  double score = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i]) continue;
    const double start = static_cast<double>(current - static_cast<long long>(i)) * period;
    score += std::strtod(values[i]->c_str(), nullptr) * std::exp2(-(now - start) / options.half_life);
  }
  return score < 1e-9 ? 0 : score;
}

void add_reputation(Store& store, std::span<const std::string> subjects, double hits, double now,
                    const ReputationOptions& options) {
  const double period = epoch_length(options);
  const auto epoch = static_cast<long long>(std::floor(now / period));
  const double start = static_cast<double>(epoch) * period;
  const double weight = hits * std::exp2((now - start) / options.half_life);
  std::vector<std::pair<std::string, double>> deltas;
  for (const auto& subject : subjects) deltas.emplace_back(reputation_key(subject, epoch), weight);
  // Kept while it can still count: to the end of the next epoch.
  store.add(deltas, start + 2 * period - now);
}

double count_event(Store& store, std::string_view key, double window, double now) {
  const std::string keys[] = {std::string(key)};
  return count_events(store, keys, window, now).front();
}

std::vector<double> count_events(Store& store, std::span<const std::string> keys, double window, double now) {
  const double length = bucket_length(window);
  const auto current = static_cast<long long>(std::floor(now / length));
  std::vector<std::pair<std::string, double>> deltas;
  std::vector<std::string> earlier;
  for (const std::string& key : keys) {
    deltas.emplace_back(bucket_key(key, window, current), 1);
    std::vector<std::string> buckets = earlier_buckets(key, window, now);
    earlier.insert(earlier.end(), buckets.begin(), buckets.end());
  }
  std::vector<double> counts = store.add(deltas, window + length);
  const std::vector<std::optional<std::string>> values = store.get_many(earlier);
  const size_t per_key = keys.empty() ? 0 : values.size() / keys.size();
  for (size_t k = 0; k < counts.size(); ++k) {
    counts[k] += sum(std::span(values).subspan(k * per_key, per_key));
  }
  return counts;
}

Surge count_surge(Store& store, std::string_view key, double window, double now, double baseline) {
  if (window * 2 > baseline) throw std::invalid_argument("surge window longer than half its baseline");
  const std::string surge_key = "surge:" + std::string(key);
  const auto add_one = [&](double span) {
    const double length = bucket_length(span);
    const std::pair<std::string, double> delta[] = {
        {bucket_key(surge_key, span, static_cast<long long>(std::floor(now / length))), 1}};
    return store.add(delta, span + length).front();
  };
  const double in_window = add_one(window);
  const double in_baseline = add_one(baseline);
  std::vector<std::string> keys = earlier_buckets(surge_key, window, now);
  const size_t window_keys = keys.size();
  const std::vector<std::string> baseline_keys = earlier_buckets(surge_key, baseline, now);
  keys.insert(keys.end(), baseline_keys.begin(), baseline_keys.end());
  const std::vector<std::optional<std::string>> values = store.get_many(keys);
  const auto earlier = std::span(values).subspan(window_keys);

  Surge surge;
  surge.count = in_window + sum(std::span(values).first(window_keys));
  // The history starts with the oldest baseline bucket that has events (or the current).
  const double length = bucket_length(baseline);
  double start = std::floor(now / length) * length;
  for (size_t i = 0; i < earlier.size(); ++i) {
    if (earlier[i] && std::strtod(earlier[i]->c_str(), nullptr) > 0) {
      start -= static_cast<double>(earlier.size() - i) * length;
      break;
    }
  }
  const double before = std::max(0.0, in_baseline + sum(earlier) - surge.count);
  surge.usual = before / std::max(1.0, (now - start - window) / window);
  return surge;
}

double event_count(Store& store, std::string_view key, double window, double now) {
  const double length = bucket_length(window);
  std::vector<std::string> keys = earlier_buckets(key, window, now);
  keys.push_back(bucket_key(key, window, static_cast<long long>(std::floor(now / length))));
  return sum(store.get_many(keys));
}

}  // namespace mp::state
