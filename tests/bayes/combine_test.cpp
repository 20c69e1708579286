// The classifier's arithmetic with known answers: Robinson's f(w) from counts, the χ²
// survival function (closed forms for small degrees of freedom, no underflow for large
// arguments) and Fisher combining (one token gives itself back; symmetric evidence
// gives 0.5; extremes stay finite).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "bayes/bayes.h"

namespace mp::bayes {
namespace {

TEST(BayesMath, RobinsonTokenProbability) {
  EXPECT_DOUBLE_EQ(token_probability({0, 0}, {10, 10}), 0.5);  // never seen: x
  EXPECT_DOUBLE_EQ(token_probability({1, 0}, {1, 1}), 0.75);   // (1·0.5 + 1·1) / 2
  EXPECT_DOUBLE_EQ(token_probability({0, 1}, {1, 1}), 0.25);
  // Ratios, not counts: 3 of 10 spam and 1 of 20 ham. p = 0.3 / 0.35; n = 4.
  EXPECT_NEAR(token_probability({3, 1}, {10, 20}), (0.5 + 4 * (0.3 / 0.35)) / 5, 1e-12);
  // Strength 0: f is p itself.
  EXPECT_DOUBLE_EQ(token_probability({3, 1}, {10, 20}, {.strength = 0}), 0.3 / 0.35);
  // Many occurrences: f approaches p.
  EXPECT_NEAR(token_probability({1000, 0}, {1000, 1000}), 1.0, 1e-3);
  EXPECT_DOUBLE_EQ(token_probability({2, 0}, {0, 0}), (0.5 + 2) / 3);  // totals 0 read as 1
}

TEST(BayesMath, ChiSquareSurvival) {
  EXPECT_DOUBLE_EQ(chi2_survival(0, 2), 1.0);
  EXPECT_NEAR(chi2_survival(2, 2), std::exp(-1.0), 1e-12);      // e^(-m)
  EXPECT_NEAR(chi2_survival(4, 4), 3 * std::exp(-2.0), 1e-12);  // e^(-2)(1 + 2)
  EXPECT_NEAR(chi2_survival(6, 6), std::exp(-3.0) * (1 + 3 + 4.5), 1e-12);
  EXPECT_NEAR(chi2_survival(300, 300), 0.48, 0.02);  // near the median
  const double tiny = chi2_survival(5000, 300);      // e^(-2500) alone underflows
  EXPECT_GE(tiny, 0.0);
  EXPECT_LT(tiny, 1e-300);
  EXPECT_DOUBLE_EQ(chi2_survival(1e-3, 300), 1.0);
}

TEST(BayesMath, FisherCombining) {
  EXPECT_DOUBLE_EQ(fisher_combine({}), 0.5);
  const std::vector<double> one{0.75};
  EXPECT_NEAR(fisher_combine(one), 0.75, 1e-12);  // S = 0.75, H = 0.25
  const std::vector<double> balanced{0.9, 0.1, 0.8, 0.2};
  EXPECT_NEAR(fisher_combine(balanced), 0.5, 1e-12);
  const std::vector<double> spammy(150, 0.99), hammy(150, 0.01);
  EXPECT_GT(fisher_combine(spammy), 0.999999);
  EXPECT_LT(fisher_combine(hammy), 1e-6);
  // Certain tokens both ways: clamped, finite, undecided.
  const std::vector<double> extremes{1.0, 0.0};
  EXPECT_NEAR(fisher_combine(extremes), 0.5, 1e-9);
  // Mostly spammy with a little ham evidence is still spam, but less sure.
  const std::vector<double> mixed{0.95, 0.95, 0.95, 0.2};
  EXPECT_GT(fisher_combine(mixed), 0.5);
  EXPECT_LT(fisher_combine(mixed), fisher_combine(std::vector<double>{0.95, 0.95, 0.95}));
}

TEST(BayesAutoLearn, OnlyClearScoresAreLearned) {
  EXPECT_EQ(auto_learn_class(15), Class::Spam);
  EXPECT_EQ(auto_learn_class(12), Class::Spam);
  EXPECT_EQ(auto_learn_class(5), std::nullopt);
  EXPECT_EQ(auto_learn_class(0.1), Class::Ham);
  EXPECT_EQ(auto_learn_class(-3), Class::Ham);
  EXPECT_EQ(auto_learn_class(7, {.spam_score = 6, .ham_score = -1}), Class::Spam);
}

}  // namespace
}  // namespace mp::bayes
