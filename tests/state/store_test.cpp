// One suite, both stores: the embedded LMDB file and a real redis-server (unix socket
// and TCP). Values round-trip as bytes, counters add atomically across threads, keys
// expire, prefixes list, export/import keeps expiry; then each store's own failure
// modes: a Redis that is down or hung throws StoreUnavailable within the timeout and is
// not asked again for retry_after; an LMDB file that is full says so.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "state/store.h"
#include "tests/state/small_filesystem.h"
#include "tests/state/store_fixture.h"

namespace mp::state {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class StoreTest : public StoreFixture {};

TEST_P(StoreTest, ValuesRoundTripAsBytes) {
  const std::string binary("a\0b\xff\r\n", 6);
  store_->put("k:1", binary);
  store_->put("k:2", "");
  EXPECT_EQ(store_->get("k:1"), binary);
  EXPECT_EQ(store_->get("k:2"), "");
  EXPECT_EQ(store_->get("k:3"), std::nullopt);
  const std::vector<std::string> keys = {"k:2", "k:3", "k:1"};
  EXPECT_EQ(store_->get_many(keys), (std::vector<std::optional<std::string>>{"", std::nullopt, binary}));
  EXPECT_TRUE(store_->erase("k:1"));
  EXPECT_FALSE(store_->erase("k:1"));
  EXPECT_EQ(store_->get("k:1"), std::nullopt);
  EXPECT_TRUE(store_->get_many({}).empty());
}

TEST_P(StoreTest, CountersAddAndKeepDecimalText) {
  EXPECT_EQ(store_->add("c", 1), 1);
  EXPECT_EQ(store_->add("c", 2.5), 3.5);
  EXPECT_EQ(store_->add("c", -0.5), 3);
  EXPECT_EQ(parse_value(store_->get("c")), 3);
  const std::vector<std::pair<std::string, double>> many = {{"t:a", 1}, {"t:b", 2}, {"t:a", 1}};
  EXPECT_EQ(store_->add(many), (std::vector<double>{1, 2, 2}));
}

TEST_P(StoreTest, CountersAreAtomicAcrossThreads) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) store_->add("shared", 1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store_->add("shared", 0), 400);
}

TEST_P(StoreTest, KeysExpire) {
  store_->put("short", "x", 0.2);
  store_->put("long", "y", 60);
  store_->add("counter", 1, 0.2);
  store_->put("forever", "z");
  EXPECT_EQ(store_->get("short"), "x");
  advance(0.4);
  EXPECT_EQ(store_->get("short"), std::nullopt);
  EXPECT_EQ(store_->get("counter"), std::nullopt);
  EXPECT_EQ(store_->get("long"), "y");
  EXPECT_EQ(store_->get("forever"), "z");
  EXPECT_EQ(store_->add("counter", 1), 1);  // starts again from nothing
}

TEST_P(StoreTest, AVeryLongTtlKeepsTheKeyRatherThanOverflow) {
  // 1e20 s would overflow Redis's milliseconds into an expiry in the past.
  store_->put("long", "v", 1e20);
  EXPECT_EQ(store_->get("long"), "v");
  store_->add("counter", 1, 1e20);
  EXPECT_EQ(store_->get("counter"), "1");
  EXPECT_TRUE(store_->restore({"restored", "v", 1e20}));
  EXPECT_EQ(store_->get("restored"), "v");
}

TEST_P(StoreTest, PrefixesListTheirKeysOnly) {
  for (const char* key :
       {"rep:ip:192.0.2.1", "rep:ip:192.0.2.2", "rep:net:192.0.2.0/24", "rate:x", "rep:ip"}) {
    store_->put(key, "1");
  }
  store_->put("rep:ip:expired", "1", 0.2);
  advance(0.4);
  auto keys = store_->keys("rep:ip:", 100);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"rep:ip:192.0.2.1", "rep:ip:192.0.2.2"}));
  EXPECT_EQ(store_->keys("rep:ip:", 1).size(), 1u);
  EXPECT_EQ(store_->keys("none:", 10).size(), 0u);
  store_->put("glob*[x]?:1", "1");  // a prefix with glob characters matches itself only
  EXPECT_EQ(store_->keys("glob*[x]?:", 10), (std::vector<std::string>{"glob*[x]?:1"}));
}

TEST_P(StoreTest, ExportAndImportKeepValuesAndExpiry) {
  store_->put("e:a", "1");
  store_->put("e:b", "2", 60);
  auto entries = store_->entries("e:", 10);
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].expires, 0);
  EXPECT_NEAR(entries[1].expires - (GetParam() == Kind::Lmdb ? clock_.now->load() : system_clock_now()), 60,
              1);
  store_->erase("e:a");
  store_->erase("e:b");
  for (const Entry& e : entries) EXPECT_TRUE(store_->restore(e));
  EXPECT_EQ(store_->get("e:a"), "1");
  EXPECT_EQ(store_->get("e:b"), "2");
  EXPECT_FALSE(store_->restore({"e:old", "x", 1000}));  // expired long ago: skipped
  EXPECT_EQ(store_->get("e:old"), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, kAllKinds, kind_name);

// ---- Each store's own failure modes -----------------------------------------------

TEST(RedisStore, ADownRedisThrowsAtOnceAndIsNotAskedAgainForAWhile) {
  state_test::RedisProcess redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  auto store = open_store({.address = redis.tcp_address(), .timeout = 200ms, .retry_after = 500ms});
  store->put("k", "v");
  redis.stop();
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(store->get("k"), StoreUnavailable);
  try {
    store->get("k");
    ADD_FAILURE() << "no throw";
  } catch (const StoreUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("not asked again yet"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST(RedisStore, AHungRedisTimesOutAndIsUsedAgainWhenItAnswers) {
  state_test::RedisProcess redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  auto store = open_store({.address = redis.unix_address(), .timeout = 200ms, .retry_after = 300ms});
  store->put("k", "v");
  redis.pause();
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(store->get("k"), StoreUnavailable);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 2s);
  redis.resume();
  std::this_thread::sleep_for(400ms);  // past retry_after: asked again, reconnects
  EXPECT_EQ(store->get("k"), "v");
}

TEST(RedisStore, OpeningDoesNotNeedRedisUp) {
  auto store = open_store({.address = "redis://127.0.0.1:1", .timeout = 100ms});
  EXPECT_THROW(store->put("k", "v"), StoreUnavailable);
  EXPECT_EQ(store->describe(), "redis://127.0.0.1:1/0");
}

TEST(RedisStore, DatabasesAreSeparate) {
  state_test::RedisProcess redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  auto zero = open_store({.address = redis.tcp_address()});
  auto three = open_store({.address = redis.tcp_address() + "/3"});
  zero->put("k", "0");
  three->put("k", "3");
  EXPECT_EQ(zero->get("k"), "0");
  EXPECT_EQ(three->get("k"), "3");
}

TEST(LmdbStore, TwoHandlesOnOneFileSeeEachOthersWrites) {
  const fs::path dir = fs::temp_directory_path() / ("mp_state_two_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string address = "lmdb:" + (dir / "s.mdb").string();
  {
    auto a = open_store({.address = address});
    auto b = open_store({.address = address});
    a->add("n", 1);
    b->add("n", 1);
    EXPECT_EQ(a->get("n"), "2");
  }
  auto again = open_store({.address = address});  // and it survives a reopen
  EXPECT_EQ(again->get("n"), "2");
  fs::remove_all(dir);
}

// LMDB writes its reader table through a map of its lock file: on a full filesystem a
// sparse page of it cannot be backed, and the process died of SIGBUS at open. The lock
// file's blocks are allocated first now, and no room is a StoreUnavailable.
TEST(LmdbStore, AFullFilesystemIsAnErrorNotACrash) {
  const fs::path dir = fs::temp_directory_path() / ("mp_state_disk_" + std::to_string(::getpid()));
  {
    state_test::SmallFilesystem disk(dir, "64k");
    if (!disk.error().empty()) GTEST_SKIP() << disk.error();
    disk.fill();
    try {
      open_store({.address = "lmdb:" + (dir / "s.mdb").string()});
      ADD_FAILURE() << "a store opened on a full filesystem";
    } catch (const StoreUnavailable& e) {
      EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir / "s.mdb-lock"));  // not left behind
    disk.free();
    auto store = open_store({.address = "lmdb:" + (dir / "s.mdb").string()});
    store->put("k", "v");
    EXPECT_EQ(store->get("k"), "v");
  }
  fs::remove_all(dir);
}

TEST(LmdbStore, AFullFileSaysSoAndExpiredKeysArePurged) {
  const fs::path dir = fs::temp_directory_path() / ("mp_state_full_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  FakeClock clock;
  auto store =
      open_store({.address = (dir / "s.mdb").string(), .max_bytes = 64 * 1024, .clock = clock.clock()});
  try {
    for (int i = 0; i < 10000; ++i) store->put("big:" + std::to_string(i), std::string(1000, 'x'), 10);
    ADD_FAILURE() << "a 64 KiB store took 10 MB";
  } catch (const StoreUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("state.max_bytes"), std::string::npos) << e.what();
  }
  clock.now->store(clock.now->load() + 11);
  size_t purged = 0;
  for (size_t n; (n = store->purge_expired(10)) > 0;) purged += n;
  EXPECT_GT(purged, 0u);
  EXPECT_TRUE(store->keys("big:", 10).empty());
  store->put("after", "fits again");
  EXPECT_EQ(store->get("after"), "fits again");
  fs::remove_all(dir);
}

TEST(StoreAddress, ProblemsAreNamed) {
  EXPECT_EQ(address_problem("lmdb:/var/lib/mailpolicy/state.mdb"), "");
  EXPECT_EQ(address_problem("/var/lib/mailpolicy/state.mdb"), "");
  EXPECT_EQ(address_problem("redis://10.0.0.5:6379/2"), "");
  EXPECT_EQ(address_problem("redis://[::1]:6379"), "");
  EXPECT_EQ(address_problem("redis+unix:/run/redis/redis.sock?db=1"), "");
  EXPECT_EQ(address_problem("redis://10.0.0.5"), "no port: redis://HOST:PORT");
  EXPECT_EQ(address_problem("redis://10.0.0.5:http"), "the port is not a port number");
  EXPECT_EQ(address_problem("redis+unix:redis.sock"),
            "a unix socket is an absolute path: redis+unix:/run/redis.sock");
  const std::string unknown =
      "unknown kind of store: lmdb:PATH, redis://HOST:PORT or redis+unix:PATH (a file whose name has a "
      "colon: "
      "lmdb:PATH)";
  EXPECT_EQ(address_problem("memcached://x:1"), unknown);
  // A mistyped Redis address is not taken for a file name (it would be a new, empty store).
  EXPECT_EQ(address_problem("redis:10.0.0.5:6379"), unknown);
  EXPECT_EQ(address_problem("foo:bar"), unknown);
  EXPECT_EQ(address_problem("./foo:bar"), "");
  EXPECT_EQ(address_problem("lmdb:./a:b"), "");
  EXPECT_EQ(address_problem("redis://[::1"), "an IPv6 address is closed by `]`: redis://[::1]:6379");
  EXPECT_EQ(address_problem("redis://:secret@10.0.0.5:6379/1"), "");
  EXPECT_EQ(address_problem("redis://jane:secret@[::1]:6379"), "");
  EXPECT_EQ(address_problem("redis://secret@10.0.0.5:6379"),
            "credentials are [USER]:PASSWORD@: redis://:PASSWORD@HOST:PORT");
  EXPECT_EQ(redacted("redis://:secret@10.0.0.5:6379/1"), "redis://…@10.0.0.5:6379/1");
  try {
    open_store({.address = "redis://:secret@10.0.0.5"});
    ADD_FAILURE() << "no port: refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
  EXPECT_EQ(address_problem(""), "no store address: lmdb:PATH, redis://HOST:PORT or redis+unix:PATH");
  EXPECT_THROW(open_store({.address = "redis://nohost"}), std::invalid_argument);
  EXPECT_THROW(open_store({.address = "lmdb:/nonexistent-dir/x/state.mdb"}), StoreUnavailable);
}

}  // namespace
}  // namespace mp::state
