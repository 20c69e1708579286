// explore-internal: the wall time a search may take (FuzzOptions::budget_seconds).
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>

namespace mp::explore {

class Budget {
 public:
  explicit Budget(double seconds) : seconds_(seconds), start_(std::chrono::steady_clock::now()) {}
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  double seconds() const { return seconds_; }
  bool over() const { return elapsed() > end(); }
  // A solver call's time limit: `timeout_ms`, or what is left of the budget when less
  // (at least 1 ms: Z3 reads 0 as no limit), so that no call runs past the budget.
  unsigned limit_ms(unsigned timeout_ms) const {
    double left = (end() - elapsed()) * 1000;
    return left >= timeout_ms ? timeout_ms : static_cast<unsigned>(std::max(1.0, left));
  }
  // One goal's share: the budget ends `seconds` from now (or at its own end, if sooner)
  // until unshare(), so that one hard goal cannot keep the easy ones from being tried.
  void share(double seconds) { share_end_ = elapsed() + seconds; }
  void unshare() { share_end_.reset(); }
  bool share_spent() const { return share_end_ && elapsed() >= *share_end_; }

 private:
  double end() const { return share_end_ ? std::min(seconds_, *share_end_) : seconds_; }
  double seconds_;
  std::optional<double> share_end_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mp::explore
