// Rules that expire (`until DATE`): a rule runs through the last second of its day
// (UTC) and not a second longer; the trace says why it was skipped; the date is
// checked at compile time.
#include <gtest/gtest.h>

#include "tests/vm/interpreter_test_util.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

const char* kPolicy = R"(stage custom_filters {
  rule promo_exception (inbound, until 2026-12-31): if subject contains "promo" then allow
  rule promo: if subject contains "promo" then quarantine "promotions are held"
}
)";

const char* kMessage = "From: a@shop.example\r\nSubject: promo week\r\n\r\nsale\r\n";

double at(const char* date, double seconds) {
  return *expiry_of_date(date) - 86400 + seconds;
}

TEST(RuleExpiry, ARuleRunsThroughItsLastDayInUtc) {
  Policy p(kPolicy);
  p.evaluator().set_clock([] { return at("2026-12-31", 86399); });
  EXPECT_EQ(p.run(kMessage).action, Action::Allow);
  p.evaluator().set_clock([] { return at("2027-01-01", 0); });
  const Verdict after = p.run(kMessage);
  EXPECT_EQ(after.action, Action::Quarantine);
  EXPECT_EQ(after.rule_name, "promo");
}

TEST(RuleExpiry, TheTraceSaysTheRuleExpired) {
  Policy p(kPolicy);
  p.evaluator().set_trace(true);
  p.evaluator().set_clock([] { return at("2027-03-01", 0); });
  const Verdict v = p.run(kMessage);
  ASSERT_FALSE(v.trace.empty());
  EXPECT_EQ(v.trace[0].name, "promo_exception");
  EXPECT_EQ(v.trace[0].outcome, RuleOutcome::SkippedExpired);
  EXPECT_EQ(v.trace[0].note, "ran until 2026-12-31 (UTC)");
}

TEST(RuleExpiry, DatesAreDaysOfTheCalendar) {
  EXPECT_EQ(expiry_of_date("2026-12-31"), 1798761600.0);  // 2027-01-01T00:00:00Z
  EXPECT_EQ(date_of_expiry(1798761600.0), "2026-12-31");
  EXPECT_TRUE(expiry_of_date("2028-02-29"));
  for (const char* bad :
       {"2026-02-30", "2027-02-29", "2026-13-01", "2026-1-01", "26-12-31", "tomorrow", "1969-12-31"})
    EXPECT_FALSE(expiry_of_date(bad)) << bad;
}

}  // namespace
}  // namespace mp::vm
