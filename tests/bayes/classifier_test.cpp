// The classifier over both stores (an LMDB file in a temp dir, a real redis-server):
// no probability until enough is trained; spammy tokens score high and hammy low;
// training twice counts once; re-training as the other class moves the counts;
// untrain subtracts, never below zero, and only what was trained; the store round
// trips per message are the documented ones.
#include <gtest/gtest.h>

#include <filesystem>

#include "bayes/bayes.h"
#include "tests/state/redis_harness.h"

namespace mp::bayes {
namespace {

namespace fs = std::filesystem;
using Tokens = std::vector<std::string>;

// Forwards to a store and counts the calls (each is one round trip for Redis).
class CountingStore : public state::Store {
 public:
  explicit CountingStore(state::Store& inner) : inner_(inner) {}
  std::optional<std::string> get(std::string_view k) override { return ++calls, inner_.get(k); }
  std::vector<std::optional<std::string>> get_many(std::span<const std::string> k) override {
    return ++calls, inner_.get_many(k);
  }
  void put(std::string_view k, std::string_view v, double ttl) override { ++calls, inner_.put(k, v, ttl); }
  bool erase(std::string_view k) override { return ++calls, inner_.erase(k); }
  std::vector<double> add(std::span<const std::pair<std::string, double>> d, double ttl) override {
    return ++calls, inner_.add(d, ttl);
  }
  std::vector<std::string> keys(std::string_view p, size_t l) override { return inner_.keys(p, l); }
  std::vector<state::Entry> entries(std::string_view p, size_t l) override { return inner_.entries(p, l); }
  bool restore(const state::Entry& e) override { return inner_.restore(e); }
  size_t purge_expired(size_t l) override { return inner_.purge_expired(l); }
  std::string describe() const override { return inner_.describe(); }
  using state::Store::add;

  int calls = 0;

 private:
  state::Store& inner_;
};

enum class Kind { Lmdb, Redis };

class ClassifierTest : public testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    std::string address;
    if (GetParam() == Kind::Lmdb) {
      dir_ = fs::temp_directory_path() / ("mp_bayes_" + std::to_string(::getpid()) + "_" +
                                          testing::UnitTest::GetInstance()->current_test_info()->name());
      fs::remove_all(dir_);
      fs::create_directories(dir_);
      address = "lmdb:" + (dir_ / "state.mdb").string();
    } else {
      redis_ = std::make_unique<state_test::RedisProcess>("bayes");
      ASSERT_TRUE(redis_->start()) << redis_->error();
      address = redis_->unix_address();
    }
    store_ = state::open_store({.address = address});
    counting_ = std::make_unique<CountingStore>(*store_);
  }
  void TearDown() override {
    counting_.reset();
    store_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string value(const std::string& key) { return store_->get(key).value_or("none"); }

  // A classifier that answers after one message of each class.
  Classifier classifier() { return Classifier(*counting_, {.min_spam = 1, .min_ham = 1}); }

  fs::path dir_;
  std::unique_ptr<state_test::RedisProcess> redis_;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<CountingStore> counting_;
};

const Tokens kSpam{"viagra", "cheap", "u:pills.example", "common"};
const Tokens kHam{"meeting", "agenda", "h:prec:list", "common"};

TEST_P(ClassifierTest, NoProbabilityUntilEnoughIsTrained) {
  Classifier c(*counting_);  // the defaults: 200 of each
  EXPECT_EQ(c.train("<1@x>", kSpam, Class::Spam), Learned::Trained);
  EXPECT_EQ(c.train("<2@x>", kHam, Class::Ham), Learned::Trained);
  Score s = c.classify(kSpam);
  EXPECT_FALSE(s.probability);
  EXPECT_EQ(s.totals.spam, 1);
  EXPECT_EQ(s.totals.ham, 1);
  EXPECT_TRUE(classifier().classify(kSpam).probability);
}

TEST_P(ClassifierTest, SpammyHighHammyLowUnknownUndecided) {
  Classifier c = classifier();
  for (int i = 0; i < 5; ++i) {
    c.train("<s" + std::to_string(i) + "@x>", kSpam, Class::Spam);
    c.train("<h" + std::to_string(i) + "@x>", kHam, Class::Ham);
  }
  counting_->calls = 0;
  Score spam = c.classify(Tokens{"viagra", "cheap", "common", "unknown"});
  EXPECT_EQ(counting_->calls, 1);  // one get_many for totals and every token
  ASSERT_TRUE(spam.probability);
  EXPECT_GT(*spam.probability, 0.95);
  ASSERT_EQ(spam.clues.size(), 2u);         // "common" is 0.5, "unknown" never seen
  EXPECT_EQ(spam.clues[0].token, "cheap");  // ties ordered by token
  EXPECT_NEAR(spam.clues[0].probability, (0.5 + 5) / 6, 1e-12);
  Score ham = c.classify(Tokens{"meeting", "agenda", "h:prec:list"});
  EXPECT_LT(*ham.probability, 0.05);
  EXPECT_DOUBLE_EQ(*c.classify(Tokens{"unknown"}).probability, 0.5);
}

TEST_P(ClassifierTest, TrainTwiceCountsOnceAndRetrainMoves) {
  Classifier c = classifier();
  counting_->calls = 0;
  EXPECT_EQ(c.train("<1@x>", kSpam, Class::Spam), Learned::Trained);
  EXPECT_EQ(counting_->calls, 3);  // get seen, add, put seen
  EXPECT_EQ(c.train("<1@x>", kSpam, Class::Spam), Learned::AlreadyKnown);
  EXPECT_EQ(value("bayes:s:viagra"), "1");
  EXPECT_EQ(value("bayes:nspam"), "1");
  EXPECT_EQ(value(seen_key("<1@x>")), "spam");
  // Reported as a false positive: now ham, and no longer spam.
  EXPECT_EQ(c.train("<1@x>", kSpam, Class::Ham), Learned::Moved);
  EXPECT_EQ(value("bayes:s:viagra"), "none");
  EXPECT_EQ(value("bayes:h:viagra"), "1");
  EXPECT_EQ(value("bayes:nspam"), "none");
  EXPECT_EQ(value("bayes:nham"), "1");
  EXPECT_EQ(value(seen_key("<1@x>")), "ham");
}

TEST_P(ClassifierTest, UntrainSubtractsOnlyWhatWasTrained) {
  Classifier c = classifier();
  c.train("<1@x>", kSpam, Class::Spam);
  c.train("<2@x>", kSpam, Class::Spam);
  EXPECT_EQ(c.untrain("<3@x>", kSpam, Class::Spam), Learned::NotTrained);  // never trained
  EXPECT_EQ(c.untrain("<1@x>", kSpam, Class::Ham), Learned::NotTrained);   // trained as spam
  EXPECT_EQ(value("bayes:s:cheap"), "2");
  EXPECT_EQ(c.untrain("<1@x>", kSpam, Class::Spam), Learned::Untrained);
  EXPECT_EQ(value("bayes:s:cheap"), "1");
  EXPECT_EQ(value("bayes:nspam"), "1");
  EXPECT_EQ(value(seen_key("<1@x>")), "none");
  EXPECT_EQ(c.untrain("<1@x>", kSpam, Class::Spam), Learned::NotTrained);  // once only
  // A token key gone meanwhile (expired, erased by an admin): never below zero.
  store_->erase("bayes:s:viagra");
  EXPECT_EQ(c.untrain("<2@x>", kSpam, Class::Spam), Learned::Untrained);
  EXPECT_EQ(value("bayes:s:viagra"), "none");
  EXPECT_EQ(value("bayes:s:cheap"), "none");
  EXPECT_EQ(value("bayes:nspam"), "none");
  EXPECT_TRUE(store_->keys("bayes:", 100).empty());
}

TEST_P(ClassifierTest, MessagesByIdWithTheirTokens) {
  Classifier c = classifier();
  const auto m = runtime::Message::parse(
      "Message-ID: <m1@x.example>\r\nSubject: cheap pills\r\n\r\nbuy cheap pills now\r\n");
  EXPECT_EQ(c.train(m, Class::Spam), Learned::Trained);
  EXPECT_EQ(c.train(m, Class::Spam), Learned::AlreadyKnown);
  EXPECT_EQ(value("bayes:s:s:cheap"), "1");
  EXPECT_EQ(value("bayes:s:pills"), "1");
  EXPECT_EQ(value(seen_key("<m1@x.example>")), "spam");
  EXPECT_EQ(c.untrain(m, Class::Spam), Learned::Untrained);
  EXPECT_TRUE(store_->keys("bayes:", 100).empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, ClassifierTest, testing::Values(Kind::Lmdb, Kind::Redis),
                         [](const testing::TestParamInfo<Kind>& i) {
                           return i.param == Kind::Lmdb ? std::string("Lmdb") : std::string("Redis");
                         });

}  // namespace
}  // namespace mp::bayes
