// The feedback loop through policyc (issue 12): a message quarantined for Bayes is
// reported as a false positive and the same message afterwards delivers; a missed
// spam reported as a false negative makes its client poor at once; the reports are
// JSON lines an audit log can keep.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/e2e_util.h"

namespace {

using namespace mp::e2e;

const char* kPolicy = R"(stage spam_engine {
  rule bayes_says_spam: if bayes >= 0.9 then quarantine "Bayes"
  rule poor_client: if reputation(client.ip) >= 5 then quarantine "poor reputation"
}
)";

std::string message(int id, const std::string& subject, const std::string& body) {
  return "From: a" + std::to_string(id) + "@sender.example\nTo: staff@widget.com\nMessage-ID: <" +
         std::to_string(id) + "@sender.example>\nSubject: " + subject + "\n\n" + body + "\n";
}

// 200 spam about pills and 200 ham about meetings: Bayes's training minimum.
void train(TempDir& dir, const std::string& store) {
  for (int i = 0; i < 200; ++i) {
    dir.write("spam/" + std::to_string(i) + ".eml", message(i, "pills", "cheap pills pharmacy discount"));
    dir.write("ham/" + std::to_string(i) + ".eml", message(1000 + i, "meeting", "agenda minutes budget"));
  }
  ASSERT_EQ(run_policyc({"train", "spam", (dir.path() / "spam").string(), "--store", store}).status, 0);
  ASSERT_EQ(run_policyc({"train", "ham", (dir.path() / "ham").string(), "--store", store}).status, 0);
}

TEST(Feedback, AFalsePositiveReportedDeliversAfterwards) {
  TempDir dir;
  const std::string store = "lmdb:" + (dir.path() / "state.mdb").string();
  train(dir, store);
  dir.write("p.mp", kPolicy);
  // A pharmacy's real order confirmation: one word the spam had, and its own words.
  dir.write("order.eml", message(5000, "your order",
                                 "pharmacy order confirmation tracking parcel courier warehouse invoice "
                                 "customer account delivery address signature receipt"));
  const std::vector<std::string> run = {"run", (dir.path() / "p.mp").string(),
                                        (dir.path() / "order.eml").string(), "--store", store};
  RunResult before = run_policyc(run);
  ASSERT_NE(before.out.find("quarantine by spam_engine.bayes_says_spam"), std::string::npos)
      << describe(before);
  RunResult reported = run_policyc({"report", "fp", (dir.path() / "order.eml").string(), "--store", store});
  ASSERT_EQ(reported.status, 0) << describe(reported);
  EXPECT_NE(reported.out.find("\"report\":\"fp\""), std::string::npos) << reported.out;
  EXPECT_NE(reported.out.find("\"bayes\":\"trained\""), std::string::npos) << reported.out;
  RunResult after = run_policyc(run);
  EXPECT_NE(after.out.find(": deliver"), std::string::npos) << describe(after);
}

TEST(Feedback, AFalseNegativeReportedMakesItsClientPoorAndAFalsePositiveForgivesIt) {
  TempDir dir;
  const std::string store = "lmdb:" + (dir.path() / "state.mdb").string();
  dir.write("p.mp", kPolicy);
  dir.write("m.eml", message(1, "hello", "hello"));
  const std::vector<std::string> run = {"run",
                                        (dir.path() / "p.mp").string(),
                                        (dir.path() / "m.eml").string(),
                                        "--store",
                                        store,
                                        "--client-ip",
                                        "203.0.113.7"};
  EXPECT_NE(run_policyc(run).out.find(": deliver"), std::string::npos);
  RunResult fn = run_policyc(
      {"report", "fn", (dir.path() / "m.eml").string(), "--store", store, "--client-ip", "203.0.113.7"});
  ASSERT_EQ(fn.status, 0) << describe(fn);
  EXPECT_NE(fn.out.find("\"reputation\":\"0 -> 10\""), std::string::npos) << fn.out;
  EXPECT_NE(run_policyc(run).out.find("quarantine by spam_engine.poor_client"), std::string::npos);
  RunResult fp = run_policyc(
      {"report", "fp", (dir.path() / "m.eml").string(), "--store", store, "--client-ip", "203.0.113.7"});
  EXPECT_NE(fp.out.find("\"bayes\":\"moved\""), std::string::npos) << fp.out;
  EXPECT_NE(run_policyc(run).out.find(": deliver"), std::string::npos);
  RunResult bad =
      run_policyc({"report", "fp", (dir.path() / "m.eml").string(), "--store", store, "--client-ip", "x"});
  EXPECT_EQ(bad.status, 2);
}

}  // namespace
