// client.effective_ip in policies: org.trusted_relays are walked past.
#include <gtest/gtest.h>

#include "compiler/compiler.h"
#include "runtime/message.h"
#include "vm/vm.h"

namespace mp::vm {
namespace {

Verdict evaluate(const std::string& policy, const std::string& message, const char* client) {
  auto c = compiler::compile_source("p.mp", policy);
  EXPECT_TRUE(c.ok());
  std::string image = write_image(*c.image);
  Evaluator evaluator(Program::load({reinterpret_cast<const uint8_t*>(image.data()), image.size()}));
  runtime::Envelope envelope;
  envelope.client_ip = runtime::IpAddress::parse(client);
  return evaluator.evaluate(runtime::Message::parse(message), envelope);
}

const char* kRelayed =
    "Received: from relay.widget.com ([10.1.2.3]) by gw.widget.com\r\n"
    "Received: from spammer.example ([203.0.113.66]) by relay.widget.com\r\n"
    "Subject: x\r\n\r\nbody\r\n";

TEST(EffectiveIp, JudgedByTheFirstOutsideHop) {
  std::string policy =
      "settings { org.trusted_relays = [10.0.0.0/8] }\n"
      "if client.effective_ip in [203.0.113.0/24] then reject \"550 5.7.1 listed\"\n";
  EXPECT_EQ(evaluate(policy, kRelayed, "10.1.2.3").action, Action::Reject);
  // client.ip is still the relay.
  EXPECT_EQ(evaluate("if client.ip in [203.0.113.0/24] then reject\n", kRelayed, "10.1.2.3").action,
            Action::Deliver);
}

TEST(EffectiveIp, WithoutTrustedRelaysItIsTheClient) {
  std::string policy = "if client.effective_ip in [10.0.0.0/8] then tag \"relay\"\n";
  Verdict v = evaluate(policy, kRelayed, "10.1.2.3");
  ASSERT_EQ(v.tags.size(), 1u);
}

TEST(EffectiveIp, TrustedRelaysMustBePrefixes) {
  auto c = compiler::compile_source("p.mp", "settings { org.trusted_relays = [relay.widget.com] }\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.diagnostics.items()[0].code, "E062");
}

}  // namespace
}  // namespace mp::vm

namespace mp::vm {
namespace {

// `sender is ""` tests the null sender (bounces, MAIL FROM:<>).
TEST(NullSender, IsEmptyStringMatchesOnlyTheNullSender) {
  std::string policy = "if sender is \"\" then tag \"bounce\"\n";
  auto c = compiler::compile_source("p.mp", policy);
  ASSERT_TRUE(c.ok());
  std::string image = write_image(*c.image);
  Evaluator evaluator(Program::load({reinterpret_cast<const uint8_t*>(image.data()), image.size()}));
  runtime::Message message = runtime::Message::parse("Subject: x\r\n\r\nbody\r\n");
  runtime::Envelope bounce, normal;
  normal.sender = "a@b.example";
  EXPECT_EQ(evaluator.evaluate(message, bounce).tags.size(), 1u);
  EXPECT_TRUE(evaluator.evaluate(message, normal).tags.empty());
}

}  // namespace
}  // namespace mp::vm
