// policyc train / untrain / bayes-score end to end on an LMDB file and a real
// redis-server: train a directory of spam and one of ham, train again (all skipped),
// score (spammy high, hammy low), untrain, and the exit statuses (1 for an unreadable
// message, 2 for a store that is down or a class that is neither spam nor ham).
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/e2e_util.h"
#include "tests/state/redis_harness.h"

namespace {

using namespace mp::e2e;

std::string message(const std::string& id, const std::string& subject, const std::string& body) {
  return "From: someone@sender.example\r\nMessage-ID: <" + id + "@sender.example>\r\nSubject: " + subject +
         "\r\n\r\n" + body + "\r\n";
}

void write_corpus(TempDir& dir) {
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    dir.write("spam/" + n + ".eml",
              message("s" + n, "cheap pills " + n, "Buy cheap pills and watches now, limited offer"));
    dir.write("ham/" + n + ".eml",
              message("h" + n, "meeting notes " + n, "The agenda for the project meeting is attached"));
  }
  dir.write("new-spam.eml", message("x", "cheap watches", "limited offer on pills"));
  dir.write("new-ham.eml", message("y", "project agenda", "notes from the meeting"));
}

RunResult policyc(const std::string& command, const std::string& store, std::vector<std::string> args) {
  args.insert(args.begin(), {command, "--store", store});
  return run_policyc(args);
}

double probability(const RunResult& r) {
  auto lines = non_empty_lines(r.out);
  EXPECT_EQ(lines.size(), 1u) << describe(r);
  if (lines.empty()) return -1;
  auto j = parse_json_line(lines[0]);
  return j["probability"].is_number() ? j["probability"].get<double>() : -1;
}

TEST(BayesCli, TrainScoreUntrainOnBothStores) {
  TempDir dir;
  write_corpus(dir);
  mp::state_test::RedisProcess redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  const std::string lmdb = "lmdb:" + (dir.path() / "state.mdb").string();
  const std::string spam = (dir.path() / "spam").string(), ham = (dir.path() / "ham").string();
  for (const std::string& store : {lmdb, redis.tcp_address()}) {
    SCOPED_TRACE(store);
    RunResult trained = policyc("train", store, {"spam", spam});
    EXPECT_EQ(trained.status, 0) << describe(trained);
    EXPECT_EQ(trained.err, "spam: trained 3\nthe store now holds 3 spam and 0 ham\n");
    EXPECT_EQ(policyc("train", store, {"ham", ham}).status, 0);
    RunResult again = policyc("train", store, {"spam", spam});
    EXPECT_EQ(again.err, "spam: already trained 3\nthe store now holds 3 spam and 3 ham\n");
    // Too little trained for the defaults (200 each): no probability.
    RunResult none = policyc("bayes-score", store, {(dir.path() / "new-spam.eml").string()});
    EXPECT_EQ(probability(none), -1) << describe(none);
    RunResult s =
        policyc("bayes-score", store, {(dir.path() / "new-spam.eml").string(), "--min-trained", "1"});
    EXPECT_GT(probability(s), 0.9) << describe(s);
    RunResult h =
        policyc("bayes-score", store, {(dir.path() / "new-ham.eml").string(), "--min-trained", "1"});
    EXPECT_LT(probability(h), 0.1) << describe(h);
    // A false negative reported: one ham message retrained as spam moves.
    RunResult moved = policyc("train", store, {"spam", (dir.path() / "ham/0.eml").string()});
    EXPECT_EQ(moved.err, "spam: moved 1\nthe store now holds 4 spam and 2 ham\n");
    RunResult untrained = policyc("untrain", store, {"spam", spam});
    EXPECT_EQ(untrained.status, 0) << describe(untrained);
    EXPECT_EQ(untrained.err, "spam: untrained 3\nthe store now holds 1 spam and 2 ham\n");
    RunResult not_trained = policyc("untrain", store, {"ham", (dir.path() / "ham/0.eml").string()});
    EXPECT_EQ(not_trained.err, "ham: not trained 1\nthe store now holds 1 spam and 2 ham\n");
  }
}

TEST(BayesCli, ExitStatuses) {
  TempDir dir;
  write_corpus(dir);
  const std::string lmdb = "lmdb:" + (dir.path() / "state.mdb").string();
  RunResult missing = policyc("train", lmdb, {"spam", (dir.path() / "none.eml").string()});
  EXPECT_EQ(missing.status, 1) << describe(missing);
  RunResult down = policyc("train", "redis://127.0.0.1:1", {"spam", (dir.path() / "spam").string()});
  EXPECT_EQ(down.status, 2) << describe(down);
  EXPECT_NE(down.err.find("error: redis://127.0.0.1:1/0: Connection refused"), std::string::npos);
  RunResult wrong = policyc("train", lmdb, {"eggs", (dir.path() / "spam").string()});
  EXPECT_EQ(wrong.status, 2) << describe(wrong);
  RunResult no_store = run_policyc({"untrain", "spam", (dir.path() / "spam").string()});
  EXPECT_EQ(no_store.status, 2) << describe(no_store);
}

}  // namespace
