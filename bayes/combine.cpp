// The arithmetic of the classifier: Robinson's per-token f(w) and Fisher's combining
// (the formulas are in bayes.h). Pure functions, no store.
#include <algorithm>
#include <cmath>

#include "bayes/bayes.h"

namespace mp::bayes {

double token_probability(Counts token, Counts totals, const Options& o) {
  const double n = token.spam + token.ham;
  if (n <= 0) return o.background;
  // Ratios of messages of each class that had the token, so that a corpus with more
  // ham than spam does not make every token look hammy.
  const double spam_ratio = token.spam / std::max(totals.spam, 1.0);
  const double ham_ratio = token.ham / std::max(totals.ham, 1.0);
  const double p = spam_ratio / (spam_ratio + ham_ratio);
  return (o.strength * o.background + n * p) / (o.strength + n);
}

double chi2_survival(double chi2, size_t dof) {
  if (chi2 <= 0 || dof < 2) return 1.0;
  // For even dof = 2k: Q = e^(-m) Σ_{i<k} m^i / i!, m = chi2 / 2. The terms are summed
  // in log space (log-sum-exp) since e^(-m) alone underflows for m > ~745.
  const double m = chi2 / 2;
  const size_t k = dof / 2;
  double log_term = -m;  // log of e^(-m) m^i / i!
  double max_log = log_term;
  std::vector<double> logs{log_term};
  for (size_t i = 1; i < k; ++i) {
    log_term += std::log(m) - std::log(static_cast<double>(i));
    logs.push_back(log_term);
    max_log = std::max(max_log, log_term);
  }
  double sum = 0;
  for (double l : logs) sum += std::exp(l - max_log);
  return std::min(1.0, std::exp(max_log + std::log(sum)));
}

double fisher_combine(std::span<const double> probabilities) {
  if (probabilities.empty()) return 0.5;
  double log_spam = 0, log_ham = 0;  // Σ ln f, Σ ln (1 − f)
  for (double f : probabilities) {
    f = std::clamp(f, 1e-9, 1 - 1e-9);
    log_spam += std::log(f);
    log_ham += std::log(1 - f);
  }
  const size_t dof = 2 * probabilities.size();
  // S: how strongly the tokens reject "all hammy" (their 1 − f are not uniform);
  // H: how strongly they reject "all spammy".
  const double s = 1 - chi2_survival(-2 * log_ham, dof);
  const double h = 1 - chi2_survival(-2 * log_spam, dof);
  return (1 + s - h) / 2;
}

}  // namespace mp::bayes
