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

TEST_P(MemoryTest, LongKeysAreCountedUnderTheirHashAndKeptApart) {
  const std::string jane = "sender:" + std::string(700, 'j');
  const std::string other = "sender:" + std::string(650, 'j') + "x";  // shares the first 650 bytes
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(count_event(*store_, jane, kHour, t0 + i), i);
  EXPECT_EQ(count_event(*store_, other, kHour, t0 + 5), 1);
  EXPECT_EQ(count_surge(*store_, jane, kHour, t0 + 6).count, 1);
  EXPECT_EQ(store_->keys("rate:sender:", 100).size(), 2u);        // jane's and other's buckets
  EXPECT_EQ(store_->keys("rate:surge:sender:", 100).size(), 2u);  // jane's window and baseline
  for (const std::string& key : store_->keys("rate:", 100)) EXPECT_LT(key.size(), 200u) << key;
}

TEST(KeyPart, ShortValuesAsTheyAreLongOnesHashed) {
  EXPECT_EQ(key_part("jane@widget.com"), "jane@widget.com");
  EXPECT_EQ(key_part(std::string(kMaxKeyPart, 'a')), std::string(kMaxKeyPart, 'a'));
  const std::string hashed = key_part(std::string(kMaxKeyPart + 1, 'a'));
  EXPECT_EQ(hashed.size(), 64u + 1 + 32);
  EXPECT_EQ(hashed.substr(0, 65), std::string(64, 'a') + "~");
  EXPECT_TRUE(is_hashed_key_part(hashed));
  EXPECT_EQ(key_part(hashed), hashed);  // short enough to be kept as it is
  EXPECT_NE(key_part(std::string(300, 'a')), hashed);
  EXPECT_FALSE(is_hashed_key_part("jane@widget.com"));
  EXPECT_FALSE(is_hashed_key_part(std::string(64, 'a') + "~" + std::string(32, 'g')));
}

TEST_P(MemoryTest, ASurgeIsMeasuredAgainstTheKeysOwnUsual) {
  // Two messages an hour for three days, then sixty in one hour.
  const double start = std::floor(t0 / 86400) * 86400;
  for (double t = start; t < start + 72 * kHour; t += kHour / 2) count_surge(*store_, "auth:jane", kHour, t);
  const Surge usual = count_surge(*store_, "auth:jane", kHour, start + 72 * kHour);
  EXPECT_EQ(usual.count, 2);  // the one 30 minutes before, and this one
  EXPECT_GT(usual.usual, 1.5);
  EXPECT_LE(usual.usual, 2);
  EXPECT_LT(usual.ratio(), 1.5);
  Surge burst;
  for (int i = 1; i <= 60; ++i) burst = count_surge(*store_, "auth:jane", kHour, start + 72 * kHour + i * 50);
  EXPECT_EQ(burst.count, 61);
  EXPECT_GT(burst.ratio(), 25);
  // A key never seen: its count, against a usual of none.
  const Surge first = count_surge(*store_, "auth:john", kHour, start + 72 * kHour);
  EXPECT_EQ(first.count, 1);
  EXPECT_EQ(first.usual, 0);
  EXPECT_EQ(first.ratio(), 1);
  // rate() of the same key is not disturbed: the surge keeps its own counts.
  EXPECT_EQ(event_count(*store_, "auth:jane", kHour, start + 73 * kHour), 0);
  EXPECT_THROW(count_surge(*store_, "auth:jane", 4 * 86400, t0), std::invalid_argument);
}

TEST_P(MemoryTest, AYoungKeysUsualIsItsOwnDaysNotAWeeks) {
  // Ten messages an hour for a day: its usual is near ten, not 10 × 24 / 168.
  const double start = std::floor(t0 / 86400) * 86400;
  for (double t = start; t < start + 24 * kHour; t += kHour / 10) count_surge(*store_, "auth:new", kHour, t);
  const Surge s = count_surge(*store_, "auth:new", kHour, start + 24 * kHour);
  EXPECT_GT(s.usual, 5);
  EXPECT_LE(s.usual, 10);
}

INSTANTIATE_TEST_SUITE_P(Stores, MemoryTest, kAllKinds, kind_name);

}  // namespace
}  // namespace mp::state
