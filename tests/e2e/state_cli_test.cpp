// policyc state end to end, on an LMDB file and on a real redis-server: set (with an
// expiry), get, list, del, export then import into the other store, and the exit
// statuses an admin's script relies on (1 for a missing key, 2 for a store that is
// down or an address that names none).
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/e2e_util.h"
#include "tests/state/redis_harness.h"

namespace {

using namespace mp::e2e;

RunResult state(const std::string& store, std::vector<std::string> args) {
  args.insert(args.begin(), {"state", "--store", store});
  return run_policyc(args);
}

TEST(StateCli, SetGetListDelOnBothStoresAndExportImportBetweenThem) {
  TempDir dir;
  mp::state_test::RedisProcess redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  const std::string lmdb = "lmdb:" + (dir.path() / "state.mdb").string();
  for (const std::string& store : {lmdb, redis.tcp_address()}) {
    SCOPED_TRACE(store);
    EXPECT_EQ(state(store, {"set", "rep:ip:192.0.2.1", "4.5", "--ttl", "3600"}).status, 0);
    EXPECT_EQ(state(store, {"set", "rep:ip:192.0.2.2", "1"}).status, 0);
    RunResult got = state(store, {"get", "rep:ip:192.0.2.1"});
    EXPECT_EQ(got.status, 0) << describe(got);
    EXPECT_EQ(got.out, "4.5\n");
    RunResult listed = state(store, {"list", "rep:ip:"});
    EXPECT_NE(listed.out.find("rep:ip:192.0.2.1\n"), std::string::npos) << describe(listed);
    EXPECT_NE(listed.out.find("rep:ip:192.0.2.2\n"), std::string::npos);
    RunResult missing = state(store, {"get", "rep:ip:203.0.113.9"});
    EXPECT_EQ(missing.status, 1);
    EXPECT_EQ(missing.err, "rep:ip:203.0.113.9: no value\n");
  }
  // Export from LMDB, import into Redis: the expiry goes with the key.
  RunResult exported = state(lmdb, {"export", "rep:"});
  ASSERT_EQ(exported.status, 0) << describe(exported);
  dir.write("export.jsonl", exported.out);
  EXPECT_EQ(state(redis.tcp_address(), {"del", "rep:ip:192.0.2.1", "rep:ip:192.0.2.2"}).status, 0);
  RunResult imported = state(redis.tcp_address(), {"import", (dir.path() / "export.jsonl").string()});
  EXPECT_EQ(imported.status, 0) << describe(imported);
  EXPECT_EQ(imported.err, "imported 2 keys (0 already expired, skipped)\n");
  RunResult again = state(redis.tcp_address(), {"export", "rep:ip:192.0.2.1"});
  EXPECT_NE(again.out.find("\"value\":\"4.5\""), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find("\"expires\":0"), std::string::npos) << again.out;  // still expires
  RunResult deleted = state(lmdb, {"del", "rep:ip:192.0.2.1", "rep:ip:none"});
  EXPECT_EQ(deleted.status, 1);
  EXPECT_EQ(deleted.err, "rep:ip:none: no such key\n");
}

TEST(StateCli, AStoreThatIsDownOrNamedWronglyIsExitTwo) {
  RunResult down = state("redis://127.0.0.1:1", {"get", "k"});
  EXPECT_EQ(down.status, 2);
  EXPECT_NE(down.err.find("error: redis://127.0.0.1:1/0: Connection refused"), std::string::npos)
      << describe(down);
  RunResult wrong = state("redis://nohost", {"get", "k"});
  EXPECT_EQ(wrong.status, 2);
  EXPECT_EQ(wrong.err, "error: --store: no port: redis://HOST:PORT\n");
  TempDir dir;
  dir.write("bad.jsonl", "{\"key\":\"a\",\"value\":\"1\",\"expires\":0}\nnot json\n");
  RunResult bad =
      state("lmdb:" + (dir.path() / "s.mdb").string(), {"import", (dir.path() / "bad.jsonl").string()});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("bad.jsonl:2: error: not an exported key"), std::string::npos) << describe(bad);
}

}  // namespace
