// Reputation that decays and rates in sliding windows, on every store, with time moved
// by hand (the functions take `now`): exact halving per half-life, a spamtrap's score
// neutral again after three days, networks apart from addresses, and window counts
// that forget what slid out.
#include <gtest/gtest.h>

#include <cmath>

#include "state/memory.h"
#include "tests/state/store_fixture.h"

namespace mp::state {
namespace {

class MemoryTest : public StoreFixture {
 protected:
  double t0 = 1'800'000'000.0;
};

constexpr double kHour = 3600;

TEST_P(MemoryTest, ReputationHalvesEveryHalfLife) {
  const std::vector<std::string> subject = {"ip:192.0.2.1"};
  add_reputation(*store_, subject, 8, t0);
  EXPECT_NEAR(reputation(*store_, "ip:192.0.2.1", t0), 8, 1e-9);
  EXPECT_NEAR(reputation(*store_, "ip:192.0.2.1", t0 + 12 * kHour), 4, 1e-9);
  EXPECT_NEAR(reputation(*store_, "ip:192.0.2.1", t0 + 24 * kHour), 2, 1e-9);
  add_reputation(*store_, subject, 2, t0 + 24 * kHour);  // hits add up, each with its age
  EXPECT_NEAR(reputation(*store_, "ip:192.0.2.1", t0 + 36 * kHour), 2, 1e-9);
  EXPECT_EQ(reputation(*store_, "ip:198.51.100.7", t0), 0);
}

TEST_P(MemoryTest, ASpamtrapHitIsNeutralAgainAfterThreeDays) {
  const auto ip = *runtime::IpAddress::parse("203.0.113.77");
  const std::vector<std::string> subjects = {address_subject(ip), network_subject(ip)};
  EXPECT_EQ(subjects[1], "net:203.0.113.0/24");
  add_reputation(*store_, subjects, 10, t0);
  EXPECT_NEAR(reputation(*store_, subjects[0], t0 + 60), 10, 0.01);
  EXPECT_GT(reputation(*store_, subjects[1], t0 + 24 * kHour), 1);
  EXPECT_LT(reputation(*store_, subjects[0], t0 + 72 * kHour), 0.2);  // 10 / 64
  // Another address of the network carries the network's score, not the address's.
  EXPECT_EQ(reputation(*store_, "ip:203.0.113.78", t0), 0);
  EXPECT_EQ(network_subject(*runtime::IpAddress::parse("2001:db8:1:2:3::9")), "net:2001:db8:1:2::/64");
}

TEST_P(MemoryTest, ScoresSurviveTheTurnOfAnEpoch) {
  // An epoch is 32 half-lives (16 days): a hit late in one is read from the next.
  const double epoch = 32 * 12 * kHour;
  const double late = (std::floor(t0 / epoch) + 1) * epoch - 60;
  add_reputation(*store_, std::vector<std::string>{"ip:192.0.2.9"}, 4, late);
  EXPECT_NEAR(reputation(*store_, "ip:192.0.2.9", late + 12 * kHour), 2, 1e-9);
  add_reputation(*store_, std::vector<std::string>{"ip:192.0.2.9"}, 2, late + 12 * kHour);
  EXPECT_NEAR(reputation(*store_, "ip:192.0.2.9", late + 24 * kHour), 2, 1e-9);
}

TEST_P(MemoryTest, RatesCountTheWindowAndForgetWhatSlidOut) {
  const double hour = kHour;
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(count_event(*store_, "auth:jane", hour, t0 + i), i);
  EXPECT_EQ(event_count(*store_, "auth:jane", hour, t0 + 10), 5);
  EXPECT_EQ(event_count(*store_, "auth:john", hour, t0 + 10), 0);
  EXPECT_EQ(count_event(*store_, "auth:jane", hour, t0 + 0.5 * hour), 6);
  // After the window the first five are gone; the one at half an hour is not yet.
  EXPECT_EQ(event_count(*store_, "auth:jane", hour, t0 + 1.2 * hour), 1);
  EXPECT_EQ(event_count(*store_, "auth:jane", hour, t0 + 1.7 * hour), 0);
  // Another window of the same key counts on its own.
  EXPECT_EQ(count_event(*store_, "auth:jane", 24 * hour, t0 + 1.7 * hour), 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, MemoryTest, kAllKinds, kind_name);

}  // namespace
}  // namespace mp::state
