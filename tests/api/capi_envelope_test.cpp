// The C API's envelope, seen by a policy that tags what it gets: angle brackets are
// stripped, "<>" and "" are the null sender, a bad client IP is refused and leaves the
// envelope as it was, an IPv4-mapped address is IPv4, a reset forgets the transaction
// but not the session, and client.auth_user and client.tls reach the rules.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/api/api_test_util.h"

namespace mp::api_test {
namespace {

const char* const kEnvelopePolicy =
    "if sender is a@example.org then tag \"sender\"\n"
    "if sender is \"\" then tag \"null-sender\"\n"
    "if recipients is b@widget.com then tag \"rcpt-b\"\n"
    "if recipients is c@widget.com then tag \"rcpt-c\"\n"
    "if client.ip in [192.0.2.0/24] then tag \"client-v4\"\n"
    "if client.ip in [2001:db8::/32] then tag \"client-v6\"\n"
    "if helo is mx.example.net then tag \"helo\"\n"
    "if client.tls is \"TLSv1.3\" then tag \"tls\"\n"
    "if client.auth_user is \"alice\" then reject\n";

class CapiEnvelope : public testing::Test {
 protected:
  // The tags the policy gives a small message with `env`.
  std::vector<std::string> tags(const mp_envelope* env) {
    Verdict v = evaluate(evaluator.get(), "Subject: envelope\n\nhi\n", env);
    std::vector<std::string> out;
    for (size_t i = 0; i < mp_verdict_tag_count(v.get()); ++i) out.push_back(mp_verdict_tag(v.get(), i));
    return out;
  }

  mp_action action(const mp_envelope* env) {
    return mp_verdict_action(evaluate(evaluator.get(), "Subject: envelope\n\nhi\n", env).get());
  }

  e2e::TempDir dir;
  Program program = compile(dir.write("envelope.mp", kEnvelopePolicy));
  Evaluator evaluator{mp_evaluator_new(program.get(), nullptr, nullptr)};
  Envelope env{mp_envelope_new()};
};

using Tags = std::vector<std::string>;

TEST_F(CapiEnvelope, AnEmptyEnvelopeHasTheNullSenderAndNothingElse) {
  EXPECT_EQ(tags(env.get()), Tags{"null-sender"});
}

TEST_F(CapiEnvelope, AngleBracketsAndBlanksAreStripped) {
  ASSERT_EQ(mp_envelope_set_sender(env.get(), "<a@example.org>", nullptr), MP_OK);
  ASSERT_EQ(mp_envelope_add_recipient(env.get(), " <b@widget.com> ", nullptr), MP_OK);
  ASSERT_EQ(mp_envelope_add_recipient(env.get(), "c@widget.com", nullptr), MP_OK);
  EXPECT_EQ(tags(env.get()), (Tags{"sender", "rcpt-b", "rcpt-c"}));
}

TEST_F(CapiEnvelope, AngleBracketsAloneAndTheEmptyTextAreTheNullSender) {
  for (const char* null_sender : {"<>", "", " <> "}) {
    ASSERT_EQ(mp_envelope_set_sender(env.get(), "a@example.org", nullptr), MP_OK);
    ASSERT_EQ(tags(env.get()), Tags{"sender"});
    ASSERT_EQ(mp_envelope_set_sender(env.get(), null_sender, nullptr), MP_OK);
    EXPECT_EQ(tags(env.get()), Tags{"null-sender"}) << "`" << null_sender << "`";
  }
}

TEST_F(CapiEnvelope, ABadClientIpIsRefusedAndTheOldOneKept) {
  ASSERT_EQ(mp_envelope_set_client_ip(env.get(), "192.0.2.1", nullptr), MP_OK);
  for (const char* bad : {"192.0.2.300", "not an address", "192.0.2.1/24", "192.0.2.1 ", "2001:db8::g"}) {
    mp_error err = dirty_error();
    EXPECT_EQ(mp_envelope_set_client_ip(env.get(), bad, &err), MP_ERR_INVALID_ARGUMENT) << bad;
    EXPECT_EQ(err.code, MP_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(err.message).find(std::string("`") + bad + "`"), std::string::npos) << err.message;
  }
  EXPECT_EQ(tags(env.get()), (Tags{"null-sender", "client-v4"}));
}

TEST_F(CapiEnvelope, ClientIpOfEitherFamilyAndClearing) {
  mp_error err = dirty_error();
  ASSERT_EQ(mp_envelope_set_client_ip(env.get(), "2001:db8::25", &err), MP_OK);
  EXPECT_EQ(err.code, MP_OK);
  EXPECT_EQ(tags(env.get()), (Tags{"null-sender", "client-v6"}));
  // What dual-stack MTAs report for an IPv4 client.
  ASSERT_EQ(mp_envelope_set_client_ip(env.get(), "::ffff:192.0.2.7", nullptr), MP_OK);
  EXPECT_EQ(tags(env.get()), (Tags{"null-sender", "client-v4"}));
  ASSERT_EQ(mp_envelope_set_client_ip(env.get(), "", nullptr), MP_OK);
  EXPECT_EQ(tags(env.get()), Tags{"null-sender"});
  ASSERT_EQ(mp_envelope_set_client_ip(env.get(), "192.0.2.7", nullptr), MP_OK);
  ASSERT_EQ(mp_envelope_set_client_ip(env.get(), nullptr, nullptr), MP_OK);
  EXPECT_EQ(tags(env.get()), Tags{"null-sender"});
}

TEST_F(CapiEnvelope, ResetForgetsTheTransactionButNotTheSession) {
  Envelope full = envelope({"--client-ip", "192.0.2.9", "--helo", "mx.example.net", "--tls", "TLSv1.3",
                            "--sender", "a@example.org", "--rcpt", "b@widget.com"});
  EXPECT_EQ(tags(full.get()), (Tags{"sender", "rcpt-b", "client-v4", "helo", "tls"}));
  mp_error err = dirty_error();
  ASSERT_EQ(mp_envelope_reset_transaction(full.get(), &err), MP_OK);
  EXPECT_EQ(err.code, MP_OK);
  EXPECT_EQ(tags(full.get()), (Tags{"null-sender", "client-v4", "helo", "tls"}));
  ASSERT_EQ(mp_envelope_set_auth_user(full.get(), "alice", nullptr), MP_OK);
  ASSERT_EQ(mp_envelope_reset_transaction(full.get(), nullptr), MP_OK);
  EXPECT_EQ(action(full.get()), MP_ACTION_REJECT) << "the login stays";
}

TEST_F(CapiEnvelope, AuthUserAndTlsReachThePolicy) {
  EXPECT_EQ(action(env.get()), MP_ACTION_DELIVER);
  ASSERT_EQ(mp_envelope_set_auth_user(env.get(), "alice", nullptr), MP_OK);
  EXPECT_EQ(action(env.get()), MP_ACTION_REJECT);
  ASSERT_EQ(mp_envelope_set_auth_user(env.get(), "bob", nullptr), MP_OK);
  EXPECT_EQ(action(env.get()), MP_ACTION_DELIVER);
  ASSERT_EQ(mp_envelope_set_auth_user(env.get(), "alice", nullptr), MP_OK);
  ASSERT_EQ(mp_envelope_set_auth_user(env.get(), nullptr, nullptr), MP_OK);
  EXPECT_EQ(action(env.get()), MP_ACTION_DELIVER) << "NULL: not authenticated";

  ASSERT_EQ(mp_envelope_set_tls_version(env.get(), "TLSv1.3", nullptr), MP_OK);
  EXPECT_EQ(tags(env.get()), (Tags{"null-sender", "tls"}));
  ASSERT_EQ(mp_envelope_set_tls_version(env.get(), "TLSv1.2", nullptr), MP_OK);
  EXPECT_EQ(tags(env.get()), Tags{"null-sender"});
  ASSERT_EQ(mp_envelope_set_tls_version(env.get(), "", nullptr), MP_OK);
  EXPECT_EQ(tags(env.get()), Tags{"null-sender"});
}

TEST_F(CapiEnvelope, OneEnvelopeServesManyMessages) {
  ASSERT_EQ(mp_envelope_set_sender(env.get(), "a@example.org", nullptr), MP_OK);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(tags(env.get()), Tags{"sender"}) << i;
}

}  // namespace
}  // namespace mp::api_test
