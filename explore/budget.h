// explore-internal: the wall time a search may take (FuzzOptions::budget_seconds).
#pragma once

#include <algorithm>
#include <chrono>

namespace mp::explore {

class Budget {
 public:
  explicit Budget(double seconds) : seconds_(seconds), start_(std::chrono::steady_clock::now()) {}
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  bool over() const { return elapsed() > seconds_; }
  // A solver call's time limit: `timeout_ms`, or what is left of the budget when less
  // (at least 1 ms: Z3 reads 0 as no limit), so that no call runs past the budget.
  unsigned limit_ms(unsigned timeout_ms) const {
    double left = (seconds_ - elapsed()) * 1000;
    return left >= timeout_ms ? timeout_ms : static_cast<unsigned>(std::max(1.0, left));
  }

 private:
  double seconds_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mp::explore
