// Bulk fingerprints on LMDB and a real Redis: a campaign's personalised copies count
// together, an unrelated text apart, a short note not at all; the count is of the last
// day.
#include <gtest/gtest.h>

#include "state/bulk.h"
#include "tests/state/store_fixture.h"

namespace mp::state {
namespace {

std::string offer(const std::string& name, int code) {
  return "Dear " + name +
         ", we are pleased to offer you an exclusive discount on all our premium watches this week only. "
         "Visit our shop and use code SAVE" +
         std::to_string(code) +
         " to get seventy percent off every model in the catalogue, shipping included.";
}

TEST(BulkFingerprint, PersonalisedCopiesShareTheirPieces) {
  const BulkFingerprint a = bulk_fingerprint(offer("John", 17));
  const BulkFingerprint b = bulk_fingerprint(offer("Mary", 4242));
  ASSERT_FALSE(a.keys.empty());
  EXPECT_LE(a.keys.size(), 8u);
  size_t shared = 0;
  for (const auto& k : a.keys) shared += std::count(b.keys.begin(), b.keys.end(), k);
  EXPECT_GE(shared, 1u) << a.ssdeep << " vs " << b.ssdeep;
  EXPECT_TRUE(a.keys.front().starts_with("bulk:"));
  // Digits and layout do not matter at all.
  EXPECT_EQ(bulk_fingerprint(offer("John", 17)).ssdeep, bulk_fingerprint(offer("John", 99)).ssdeep);
  std::string spaced = offer("John", 17);
  for (size_t i = spaced.find(' '); i != std::string::npos; i = spaced.find(' ', i + 3))
    spaced.replace(i, 1, " \n ");
  EXPECT_EQ(bulk_fingerprint(spaced).ssdeep, a.ssdeep);
}

TEST(BulkFingerprint, ShortTextHasNone) {
  EXPECT_TRUE(bulk_fingerprint("Thanks, see you at 10.").keys.empty());
  EXPECT_TRUE(bulk_fingerprint(std::string(500, ' ') + "ok").ssdeep.empty());
}

class Bulk : public StoreFixture {};

TEST_P(Bulk, ACampaignCountsTogetherAndForgetsAfterADay) {
  const double now = GetParam() == Kind::Lmdb ? clock_.now->load() : system_clock_now();
  EXPECT_EQ(count_bulk(*store_, bulk_fingerprint(offer("John", 1)), now), 1);
  EXPECT_EQ(count_bulk(*store_, bulk_fingerprint(offer("Mary", 2)), now), 2);
  EXPECT_EQ(count_bulk(*store_, bulk_fingerprint(offer("Priya", 3)), now), 3);
  const std::string minutes =
      "Hi team, attached are the minutes of the budget meeting. Please review the action items before "
      "Thursday and send your corrections to me or to the secretary.";
  EXPECT_EQ(count_bulk(*store_, bulk_fingerprint(minutes), now), 1);
  EXPECT_EQ(count_bulk(*store_, BulkFingerprint{}, now), 0);
  // A day and a bit later (the times are the caller's: no waiting for Redis here).
  EXPECT_EQ(count_bulk(*store_, bulk_fingerprint(offer("Ann", 4)), now + kBulkWindow * 1.2), 1);
}

TEST_P(Bulk, SnowshoeCountsTheAddressesOfOneNetwork) {
  const BulkFingerprint campaign = bulk_fingerprint(offer("John", 1));
  auto from = [&](const char* ip) {
    return count_bulk_addresses(*store_, campaign, *runtime::IpAddress::parse(ip));
  };
  EXPECT_EQ(from("192.0.2.10"), 1);
  EXPECT_EQ(from("192.0.2.11"), 2);
  EXPECT_EQ(from("192.0.2.10"), 2);  // the same address again
  EXPECT_EQ(from("192.0.2.12"), 3);
  EXPECT_EQ(from("198.51.100.7"), 1);  // another network
  EXPECT_EQ(count_bulk_addresses(*store_, bulk_fingerprint(offer("Mary", 2)),
                                 *runtime::IpAddress::parse("192.0.2.13")),
            4);  // a personalised copy is the same text
  EXPECT_EQ(count_bulk_addresses(*store_, BulkFingerprint{}, *runtime::IpAddress::parse("192.0.2.14")), 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, Bulk, kAllKinds, kind_name);

}  // namespace
}  // namespace mp::state
