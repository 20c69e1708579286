// The Redis store on a real Redis Cluster of three masters: keys spread over the nodes
// by hash slot, a slot half-way through a migration (ASK: the one command goes to the
// importing node), then moved while the store is connected (MOVED: the slot map is
// read again), and a node that dies (the store is down, nothing hangs). The whole
// store suite runs on the cluster too (store_fixture.h, Kind::RedisCluster).
#include <gtest/gtest.h>

#include <map>

#include "state/redis_cluster.h"
#include "state/store.h"
#include "tests/state/redis_harness.h"

namespace mp::state {
namespace {

TEST(KeySlot, FollowsTheClusterSpecification) {
  // The specification's test vector: CRC16 of "123456789" is 0x31C3.
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % kClusterSlots);
  // A hash tag puts keys in one slot; an empty tag or none is the whole key.
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{}{bar}"), key_slot("foo{}{bar}"));
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
}

TEST(Redirection, ParsesMovedAndAsk) {
  const auto moved = parse_redirection("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->node, "127.0.0.1:6381");
  const auto ask = parse_redirection("ASK 1 ::1:7000");
  ASSERT_TRUE(ask);
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(split_node_name(ask->node)->first, "::1");
  EXPECT_FALSE(parse_redirection("WRONGTYPE Operation against a key"));
  EXPECT_FALSE(parse_redirection("MOVED 99999 127.0.0.1:6381"));
  EXPECT_FALSE(parse_redirection("MOVED 12 nowhere"));
}

// A MOVED names the slot's node now; the map, read from a node that may not have heard
// yet, must not send the command back to where it came from.
TEST(SlotMap, AMovedSlotGoesToTheNodeNamed) {
  SlotMap map{{"127.0.0.1:7000", "127.0.0.1:7001"}, std::vector<uint16_t>(kClusterSlots, 0)};
  map.move(12, "127.0.0.1:7001");
  EXPECT_EQ(map.node_of(12), "127.0.0.1:7001");
  EXPECT_EQ(map.node_of(13), "127.0.0.1:7000");
  map.move(13, "127.0.0.1:7002");  // a node the map did not list
  EXPECT_EQ(map.node_of(13), "127.0.0.1:7002");
  EXPECT_EQ(map.nodes.size(), 3u);
}

class ClusterTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.start()) << cluster_.error();
    StoreOptions options;
    options.address = cluster_.address();
    options.timeout = std::chrono::milliseconds(500);
    store_ = open_store(options);
  }
  // The node that holds `key` (the one that answers GET without a redirection).
  int owner(const std::string& key) {
    for (int i = 0; i < state_test::RedisCluster::kNodes; ++i) {
      if (cluster_.on(i, "GET " + key).find("MOVED") == std::string::npos) return i;
    }
    return -1;
  }
  std::string id(int node) {
    std::string out = cluster_.on(node, "CLUSTER MYID");
    return out.substr(0, out.find('\n'));
  }

  state_test::RedisCluster cluster_;
  std::unique_ptr<Store> store_;
};

TEST_F(ClusterTest, KeysSpreadOverTheNodesAndReadBackTogether) {
  std::vector<std::string> keys;
  for (int i = 0; i < 60; ++i) keys.push_back("rate:client.ip:192.0.2." + std::to_string(i) + ":3600:1");
  std::vector<std::pair<std::string, double>> deltas;
  for (const auto& key : keys) deltas.emplace_back(key, 2);
  EXPECT_EQ(store_->add(deltas, 60), std::vector<double>(keys.size(), 2));
  for (int i = 0; i < state_test::RedisCluster::kNodes; ++i) {
    EXPECT_NE(cluster_.on(i, "DBSIZE"), "0\n") << "node " << i << " holds none of sixty keys";
  }
  const auto values = store_->get_many(keys);
  ASSERT_EQ(values.size(), keys.size());
  for (const auto& v : values) EXPECT_EQ(v, "2");
  EXPECT_EQ(store_->keys("rate:client.ip:", 1000).size(), keys.size());
}

TEST_F(ClusterTest, AMigratingSlotIsAskedAtItsNewNodeAndAMovedOneFollowed) {
  store_->put("bayes:t:viagra", "7");
  const int from = owner("bayes:t:viagra");
  ASSERT_GE(from, 0);
  const int to = (from + 1) % state_test::RedisCluster::kNodes;
  const std::string slot = std::to_string(key_slot("bayes:t:viagra"));
  cluster_.on(to, "CLUSTER SETSLOT " + slot + " IMPORTING " + id(from));
  cluster_.on(from, "CLUSTER SETSLOT " + slot + " MIGRATING " + id(to));
  cluster_.on(from,
              "MIGRATE 127.0.0.1 " + std::to_string(cluster_.node(to).port()) + " bayes:t:viagra 0 5000");
  ASSERT_NE(cluster_.on(from, "GET bayes:t:viagra").find("ASK"), std::string::npos);
  EXPECT_EQ(store_->get("bayes:t:viagra"), "7");
  const std::pair<std::string, double> delta[] = {{"bayes:t:viagra", 1}};
  EXPECT_EQ(store_->add(delta).front(), 8);
  // The migration ends: the slot is the new node's, and the old one answers MOVED.
  // Told in the order CLUSTER SETSLOT's documentation gives: the new node first (it
  // takes a new config epoch, so gossip cannot undo the move), then the old, then the
  // rest.
  cluster_.on(to, "CLUSTER SETSLOT " + slot + " NODE " + id(to));
  cluster_.on(from, "CLUSTER SETSLOT " + slot + " NODE " + id(to));
  for (int i = 0; i < state_test::RedisCluster::kNodes; ++i)
    if (i != to && i != from) cluster_.on(i, "CLUSTER SETSLOT " + slot + " NODE " + id(to));
  ASSERT_NE(cluster_.on(from, "GET bayes:t:viagra").find("MOVED"), std::string::npos);
  // Until the cluster bus has carried the new epoch round, the new node itself may
  // still send the slot back to the old one (MOVED both ways); `redis-cli --cluster
  // reshard` waits for the nodes to agree too. Then the store follows the MOVED.
  for (int i = 0; i < 100 && cluster_.on(to, "GET bayes:t:viagra") != "8\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(cluster_.on(to, "GET bayes:t:viagra"), "8\n");
  EXPECT_EQ(store_->get("bayes:t:viagra"), "8");
  store_->put("bayes:t:viagra", "9");
  EXPECT_EQ(cluster_.on(to, "GET bayes:t:viagra"), "9\n");
}

TEST_F(ClusterTest, ADeadNodeMakesTheStoreUnavailableNotHungAndTheOthersServeOn) {
  // Keys on each node; the node the store was configured with dies.
  std::map<int, std::string> keys;
  for (int i = 0; keys.size() < 3 && i < 1000; ++i) {
    const std::string key = "rep:ip:192.0.2." + std::to_string(i) + ":1";
    store_->put(key, "3");
    keys.emplace(owner(key), key);
  }
  ASSERT_EQ(keys.size(), 3u);
  cluster_.node(0).stop();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(store_->get(keys[0]), StoreUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  // After retry_after the store starts again from another node it knew: the slots of
  // the living nodes are served; the dead node's are unavailable, not hung.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(store_->get(keys[1]), "3");
  EXPECT_EQ(store_->get(keys[2]), "3");
}

}  // namespace
}  // namespace mp::state
