// The feedback operations of the C API, for a web console: list entries added and
// removed change the next verdict; a released message's sender approved reaches that
// recipient; a false negative reported makes its client's next message poor; every
// misuse is a clear error, and a store that is down is MP_ERR_UNAVAILABLE.
#include <gtest/gtest.h>

#include <string>

#include "tests/api/api_test_util.h"

namespace mp::api_test {
namespace {

const char* kPolicy = R"(stage reputation {
  rule poor: if reputation(client.ip) >= 5 then quarantine "poor reputation"
}
stage custom_filters {
  rule blocked: if sender_list is blocked then quarantine "blocked by your list"
  rule safe: if sender_list is safe then allow
}
)";

const std::string kMessage =
    "From: Vendor <news@vendor.example>\nTo: pat@widget.com\nMessage-ID: <1@vendor.example>\n"
    "Subject: news\n\nhello\n";

class CapiFeedback : public ::testing::Test {
 protected:
  void SetUp() override {
    program_ = compile(dir_.write("policy.mp", kPolicy));
    store_ = "lmdb:" + (dir_.path() / "state.mdb").string();
    config_ = config({{"state", store_.c_str()}, {"dns.servers", "127.0.0.1:1"}});
    evaluator_.reset(mp_evaluator_new(program_.get(), config_.get(), nullptr));
  }
  std::string judge(const char* client = "192.0.2.9") {
    Envelope env =
        envelope({"--sender", "news@vendor.example", "--rcpt", "pat@widget.com", "--client-ip", client});
    Verdict v = evaluate(evaluator_.get(), kMessage, env.get());
    return mp_action_name(mp_verdict_action(v.get()));
  }

  e2e::TempDir dir_;
  Program program_;
  std::string store_;
  Config config_;
  Evaluator evaluator_;
};

TEST_F(CapiFeedback, ListEntriesChangeTheNextVerdict) {
  EXPECT_EQ(judge(), "deliver");
  mp_error err;
  ASSERT_EQ(mp_list_add(config_.get(), "blocked", "user:Pat@Widget.com", "Vendor.example", &err), MP_OK)
      << err.message;
  EXPECT_EQ(judge(), "quarantine");
  ASSERT_EQ(mp_list_remove(config_.get(), "blocked", "user:pat@widget.com", "vendor.example", &err), MP_OK);
  EXPECT_EQ(judge(), "deliver");
  EXPECT_EQ(mp_list_remove(config_.get(), "blocked", "user:pat@widget.com", "vendor.example", &err), MP_OK);
  ASSERT_EQ(mp_list_add(config_.get(), "safe", "org", "192.0.2.9", &err), MP_OK);
  EXPECT_EQ(judge(), "allow");
}

TEST_F(CapiFeedback, AReleaseApprovesTheSenderForItsRecipients) {
  const char* recipients[] = {"pat@widget.com"};
  mp_error err;
  ASSERT_EQ(mp_release(config_.get(), kMessage.data(), kMessage.size(), recipients, 1, 1, &err), MP_OK)
      << err.message;
  EXPECT_EQ(judge(), "allow");
}

TEST_F(CapiFeedback, AFalseNegativeMakesTheClientPoorAndAFalsePositiveForgivesIt) {
  mp_error err;
  ASSERT_EQ(mp_report(config_.get(), "fn", kMessage.data(), kMessage.size(), "198.51.100.3", &err), MP_OK)
      << err.message;
  EXPECT_EQ(judge("198.51.100.3"), "quarantine");
  EXPECT_EQ(judge("198.51.100.4"), "deliver");  // the address, not its network, is poor
  ASSERT_EQ(mp_report(config_.get(), "fp", kMessage.data(), kMessage.size(), "198.51.100.3", &err), MP_OK);
  EXPECT_EQ(judge("198.51.100.3"), "deliver");
}

TEST_F(CapiFeedback, MisuseIsAClearError) {
  mp_error err;
  const char* bad[] = {"widget.com"};
  EXPECT_EQ(mp_report(config_.get(), "spam", kMessage.data(), kMessage.size(), nullptr, &err),
            MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_report(config_.get(), "fp", kMessage.data(), kMessage.size(), "not-an-ip", &err),
            MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_release(config_.get(), kMessage.data(), kMessage.size(), bad, 1, 1, &err),
            MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_list_add(config_.get(), "trusted", "org", "vendor.example", &err), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_list_add(config_.get(), "safe", "team:x", "vendor.example", &err), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_list_add(config_.get(), "safe", "org", "localhost", &err), MP_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err.message).find("entry"), std::string::npos) << err.message;
  EXPECT_EQ(mp_list_add(nullptr, "safe", "org", "vendor.example", &err), MP_ERR_INVALID_ARGUMENT);
  Config none = config({});
  EXPECT_EQ(mp_list_add(none.get(), "safe", "org", "vendor.example", &err), MP_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err.message).find("state"), std::string::npos) << err.message;
  Config down = config({{"state", "redis://127.0.0.1:1"}});
  EXPECT_EQ(mp_list_add(down.get(), "safe", "org", "vendor.example", &err), MP_ERR_UNAVAILABLE);
  EXPECT_EQ(mp_report(down.get(), "fn", kMessage.data(), kMessage.size(), nullptr, &err), MP_ERR_UNAVAILABLE);
}

TEST_F(CapiFeedback, AStoreThatIsDownIsCountedInTheVerdict) {
  // Judged without the store's facts, and without learning from the quarantine.
  Program program = compile(dir_.write("held.mp", std::string(kPolicy) + R"(stage spam_engine {
  rule news: if subject contains "news" then quarantine "news"
}
)"));
  Config down = config({{"state", "redis://127.0.0.1:1"}, {"dns.servers", "127.0.0.1:1"}});
  Evaluator evaluator(mp_evaluator_new(program.get(), down.get(), nullptr));
  Envelope env =
      envelope({"--sender", "news@vendor.example", "--rcpt", "pat@widget.com", "--client-ip", "192.0.2.9"});
  Verdict v = evaluate(evaluator.get(), kMessage, env.get());
  EXPECT_STREQ(mp_action_name(mp_verdict_action(v.get())), "quarantine");
  const mp_state_errors errors = mp_verdict_state_errors(v.get());
  EXPECT_EQ(errors.facts, 2u);  // reputation(client.ip), sender_list
  EXPECT_EQ(errors.learning, 1u);
  // With a store that answers, none.
  Verdict fine = evaluate(evaluator_.get(), kMessage, env.get());
  EXPECT_EQ(mp_verdict_state_errors(fine.get()).facts + mp_verdict_state_errors(fine.get()).learning, 0u);
  EXPECT_EQ(mp_verdict_state_errors(nullptr).facts, 0u);
}

}  // namespace
}  // namespace mp::api_test
