// Comparing a spam score with a threshold. Scores add up in binary floating point,
// where 0.7 + 0.1 is 0.7999999999999999: a sum within kScoreTolerance of a threshold
// counts as meeting it, as the decimal sum of the scores written in the policy does.
// The VM's thresholds (spam.threshold.*), Bayes auto-learning and policyc fuzz's
// exact arithmetic agree through this.
#pragma once

namespace mp::runtime {

inline constexpr double kScoreTolerance = 1e-9;

// score ≥ threshold, up to the tolerance.
inline bool score_at_least(double score, double threshold) {
  return score >= threshold - kScoreTolerance;
}
// score ≤ threshold, up to the tolerance.
inline bool score_at_most(double score, double threshold) {
  return score <= threshold + kScoreTolerance;
}

}  // namespace mp::runtime
