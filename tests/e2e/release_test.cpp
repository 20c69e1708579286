// policyc release --approve-sender (issue 12): a message held for one recipient is
// released with its sender approved, and the sender's next message reaches that
// recipient, while a colleague's copy is still judged by the spam rules; the safe list
// is in the store under the documented key.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/e2e_util.h"

namespace {

using namespace mp::e2e;

const char* kPolicy = R"(stage custom_filters {
  rule trusted: if sender_list is safe then allow
}
stage spam_engine {
  rule invoice: if subject contains "invoice" then score +6 "unexpected invoice"
}
)";

const char* kMessage =
    "From: Supplier <billing@supplier.example>\nTo: alice@widget.com\n"
    "Message-ID: <1@supplier.example>\nSubject: invoice 7\n\nplease find attached\n";

TEST(Release, AnApprovedSendersNextMessageReachesThatRecipientOnly) {
  TempDir dir;
  const std::string store = "lmdb:" + (dir.path() / "state.mdb").string();
  const std::string policy = dir.write("p.mp", kPolicy);
  const std::string held = dir.write("held.eml", kMessage);
  const std::vector<std::string> run = {
      "run",      policy, held, "--store", store, "--rcpt", "alice@widget.com", "--rcpt", "carol@widget.com",
      "--format", "json"};
  RunResult before = run_policyc(run);
  ASSERT_NE(before.out.find("\"action\":\"quarantine\""), std::string::npos) << describe(before);
  EXPECT_EQ(before.out.find("per_recipient"), std::string::npos) << before.out;

  RunResult released =
      run_policyc({"release", held, "--store", store, "--rcpt", "Alice@widget.com", "--approve-sender"});
  ASSERT_EQ(released.status, 0) << describe(released);
  EXPECT_NE(released.out.find("\"list\":\"list:safe:user:alice@widget.com:billing@supplier.example\""),
            std::string::npos)
      << released.out;
  EXPECT_NE(released.out.find("\"bayes\":\"trained\""), std::string::npos) << released.out;

  RunResult after = run_policyc(run);
  ASSERT_EQ(after.status, 0) << describe(after);
  const auto verdict = parse_json_line(after.out);
  ASSERT_EQ(verdict["per_recipient"].size(), 2u) << after.out;
  EXPECT_EQ(verdict["per_recipient"][0]["recipients"], nlohmann::json::array({"alice@widget.com"}));
  EXPECT_EQ(verdict["per_recipient"][0]["action"], "allow");
  EXPECT_EQ(verdict["per_recipient"][1]["recipients"], nlohmann::json::array({"carol@widget.com"}));
  EXPECT_EQ(verdict["per_recipient"][1]["action"], "quarantine");

  RunResult listed = run_policyc({"state", "--store", store, "list", "list:safe:"});
  EXPECT_NE(listed.out.find("list:safe:user:alice@widget.com:billing@supplier.example"), std::string::npos)
      << describe(listed);
}

// What an admin types is folded as the lookups fold it; a list key that could never
// match is refused, not stored.
TEST(Release, StateSetFoldsListKeysAndRefusesOnesThatNeverMatch) {
  TempDir dir;
  const std::string store = "lmdb:" + (dir.path() / "state.mdb").string();
  EXPECT_EQ(
      run_policyc({"state", "--store", store, "set", "list:blocked:user:Bob@Widget.com:Evil.Example", "1"})
          .status,
      0);
  RunResult listed = run_policyc({"state", "--store", store, "list", "list:"});
  EXPECT_EQ(listed.out, "list:blocked:user:bob@widget.com:evil.example\n") << describe(listed);
  EXPECT_EQ(
      run_policyc({"state", "--store", store, "get", "list:blocked:user:BOB@widget.com:evil.example"}).out,
      "1\n");
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"list:blocked:org:192.0.2.0/24", "1"},
                                              {"list:trusted:org:evil.example", "1"},
                                              {"list:blocked:org:evil.example", "0"},
                                              {"list:blocked:org:evil example", "1"}}) {
    std::vector<std::string> args = {"state", "--store", store, "set"};
    args.insert(args.end(), bad.begin(), bad.end());
    RunResult r = run_policyc(args);
    EXPECT_EQ(r.status, 2) << describe(r);
    EXPECT_NE(r.err.find("error: "), std::string::npos) << describe(r);
  }
  EXPECT_EQ(
      run_policyc({"state", "--store", store, "del", "list:blocked:user:bob@WIDGET.com:EVIL.example"}).status,
      0);
  EXPECT_EQ(run_policyc({"state", "--store", store, "list", "list:"}).out, "");
}

TEST(Release, ApprovingNeedsTheRecipients) {
  TempDir dir;
  const std::string held = dir.write("held.eml", kMessage);
  const std::string store = "lmdb:" + (dir.path() / "state.mdb").string();
  RunResult r = run_policyc({"release", held, "--store", store, "--approve-sender"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--rcpt"), std::string::npos) << describe(r);
  r = run_policyc({"release", held, "--store", store, "--rcpt", "widget.com", "--approve-sender"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("not an email address"), std::string::npos) << describe(r);
  r = run_policyc({"release", held, "--store", store, "--rcpt", "a:b@widget.com", "--approve-sender"});
  EXPECT_EQ(r.status, 2) << describe(r);
  // A message without a From: address to approve: released (learnt as ham), and said.
  const std::string anonymous = dir.write("anonymous.eml", "From: undisclosed\nSubject: hi\n\nhello\n");
  r = run_policyc({"release", anonymous, "--store", store, "--rcpt", "alice@widget.com", "--approve-sender"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.err.find("warning: " + anonymous + ": no From: address to approve"), std::string::npos)
      << describe(r);
}

}  // namespace
