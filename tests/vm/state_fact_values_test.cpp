// A number fact without a value (no state store, Bayes not trained) makes every
// comparison false, never 0: `bayes < 0.1` must not call a message ham, nor
// `reputation(client.ip) < 1` call an address clean, when nothing is known.
#include <gtest/gtest.h>

#include "tests/vm/interpreter_test_util.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

const char* kMessage = "From: a@b.example\r\nSubject: s\r\n\r\nbody\r\n";

TEST(StateFactValues, NoValueMakesEveryComparisonFalse) {
  Policy p(
      "if bayes < 0.1 then score +1 \"lt\"\n"
      "if bayes >= 0 then score +2 \"ge\"\n"
      "if bayes != 0.5 then score +4 \"ne\"\n"
      "if reputation(client.ip) < 1 then score +8 \"rep\"\n"
      "if rate(sender, 1h) <= 1000 then score +16 \"rate\"\n"
      "if not bayes >= 0.9 then score +32 \"negated\"\n");
  Envelope e;
  e.sender = "a@b.example";
  e.client_ip = runtime::IpAddress::parse("192.0.2.1");
  const Verdict v = p.run(kMessage, e);
  EXPECT_EQ(v.score, 32);  // only the negation of a false comparison holds
}

TEST(StateFactValues, TheTraceSaysNoValueNotNan) {
  Policy p("if bulk.count >= 3 then score +1 \"bulk\"\n");
  p.evaluator().set_trace(true);
  const Verdict v = p.run(kMessage);
  ASSERT_EQ(v.trace.size(), 1u);
  ASSERT_FALSE(v.trace[0].tests.empty());
  EXPECT_EQ(v.trace[0].tests.back().detail, "no value >= 3");
}

}  // namespace
}  // namespace mp::vm
