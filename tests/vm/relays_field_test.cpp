// relays("KIND") in policies: SpamAssassin's X-Spam-Relays-KIND text, trust from
// org.trusted_relays when the policy names them.
#include "tests/vm/interpreter_test_util.h"

namespace mp::vm::interpreter_test {
namespace {

const char* kMessage =
    "Received: from relay.widget.com (relay.widget.com [10.0.0.5]) by mx.widget.com (8.11.6/8.11.6) with "
    "ESMTP "
    "id g1\r\n"
    "Received: from pc (unknown [198.51.100.4]) by relay.widget.com (8.11.6/8.11.6) with ESMTP id g2\r\n"
    "From: a@example.net\r\nSubject: hi\r\n\r\nbody\r\n";

// SpamAssassin's RDNS_NONE: the first untrusted relay has no reverse name.
TEST(RelaysField, FirstUntrustedRelayWithoutReverseName) {
  Policy p("if relays(\"untrusted\") matches /^[^\\]]+ rdns= / then quarantine\n");
  Verdict v = p.run(kMessage);
  EXPECT_EQ(v.action, Action::Quarantine);
  ASSERT_FALSE(v.fired.empty());
  ASSERT_FALSE(v.fired[0].evidence.empty());
  EXPECT_EQ(v.fired[0].evidence[0].field, "relays(\"untrusted\")");
}

// SpamAssassin's names are capitalised (X-Spam-Relays-Trusted): any case is the part.
TEST(RelaysField, KindInAnyCase) {
  Policy p("if relays(\"Untrusted\") contains \"ip=198.51.100.4 \" then tag \"seen\"\n");
  EXPECT_EQ(p.run(kMessage).tags, std::vector<std::string>{"seen"});
}

TEST(RelaysField, EachPartIsOneValue) {
  Policy p(
      "if relays(\"trusted\") starts with \"[ ip=10.0.0.5 \" and relays(\"internal\") ends with \"msa=0 ]\" "
      "then tag \"ours\"\n"
      "if relays(\"external\") is \"\" then tag \"no-external\"\n");
  EXPECT_EQ(p.run(kMessage).tags, std::vector<std::string>{"ours"});
  EXPECT_EQ(p.run("From: a@b.example\r\n\r\nx\r\n").tags, std::vector<std::string>{"no-external"});
}

TEST(RelaysField, UnreadableReceivedFieldsAreCounted) {
  Policy p("if relays.unparseable > 0 then tag \"odd-trace\"\n");
  EXPECT_EQ(p.run(std::string("Received: from somewhere odd\r\n") + kMessage).tags,
            std::vector<std::string>{"odd-trace"});
  EXPECT_EQ(p.run(kMessage).tags, std::vector<std::string>{});
}

// Naming our relays moves the trust boundary: 198.51.100.0/24 is ours here.
TEST(RelaysField, OurRelaysDecideTrust) {
  Policy p(
      "settings { org.trusted_relays = [10.0.0.0/8, 198.51.100.0/24] }\n"
      "if relays(\"untrusted\") is \"\" then tag \"all-trusted\"\n");
  EXPECT_EQ(p.run(kMessage).tags, std::vector<std::string>{"all-trusted"});
}

}  // namespace
}  // namespace mp::vm::interpreter_test
