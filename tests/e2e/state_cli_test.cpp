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
  EXPECT_NE(bad.err.find("bad.jsonl:2: error: not an exported key: not a JSON object (nothing imported)"),
            std::string::npos)
      << describe(bad);
  // The good first line was not written either: a file with a bad line changes nothing.
  EXPECT_EQ(state("lmdb:" + (dir.path() / "s.mdb").string(), {"get", "a"}).status, 1);
  // A mistyped Redis address is an error, not a new file named `redis:…`.
  RunResult typo = state("redis:127.0.0.1:6379", {"get", "k"});
  EXPECT_EQ(typo.status, 2);
  EXPECT_NE(typo.err.find("unknown kind of store"), std::string::npos) << describe(typo);
  EXPECT_FALSE(std::filesystem::exists("redis:127.0.0.1:6379"));
}

TEST(StateCli, ImportChecksEveryLineAndTtlsAreSeconds) {
  TempDir dir;
  const std::string store = "lmdb:" + (dir.path() / "s.mdb").string();
  const std::pair<const char*, const char*> bad_lines[] = {
      {R"({"key":"d","value_hex":"abc","expires":0})", "\"value_hex\" is not pairs of hex digits"},
      {R"({"key":"d","value_hex":"zz"})", "\"value_hex\" is not pairs of hex digits"},
      {R"({"key":"d","value":"1","value_hex":"31"})", "one of \"value\" and \"value_hex\""},
      {R"({"key":"d","value":"1","expires":-4})", "\"expires\" is not seconds since the epoch"},
      {R"({"value":"1"})", "no \"key\" string"}};
  for (const auto& [line, why] : bad_lines) {
    dir.write("in.jsonl", std::string(line) + "\n");
    RunResult r = state(store, {"import", (dir.path() / "in.jsonl").string()});
    EXPECT_EQ(r.status, 2) << line;
    EXPECT_NE(r.err.find(why), std::string::npos) << line << "\n" << describe(r);
  }
  RunResult directory = state(store, {"import", dir.path().string()});
  EXPECT_EQ(directory.status, 2);
  EXPECT_NE(directory.err.find("not a file"), std::string::npos) << describe(directory);
  for (const char* ttl : {"nan", "abc", "-5", "1e20", "inf"}) {
    RunResult r = state(store, {"set", "k", "v", "--ttl", ttl});
    EXPECT_NE(r.status, 0) << ttl;
    EXPECT_NE(r.err.find("--ttl"), std::string::npos) << ttl << "\n" << describe(r);
    EXPECT_LT(r.err.size(), 300u) << r.err;
  }
  EXPECT_EQ(state(store, {"set", "k", "v", "--ttl", "3155760000"}).status, 0);  // 100 years
  // Opening a file that is no LMDB database leaves no lock file beside it.
  dir.write("policy.mp", "if size > 1 then tag \"x\"\n");
  EXPECT_EQ(state("lmdb:" + (dir.path() / "policy.mp").string(), {"get", "k"}).status, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "policy.mp-lock"));
}

TEST(StateCli, ARedisWithAPasswordIsReachedWithItAndItIsNeverPrinted) {
  mp::state_test::RedisProcess redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  const std::string port = redis.tcp_address().substr(redis.tcp_address().rfind(':') + 1);
  ASSERT_EQ(
      std::system(("/usr/bin/redis-cli -p " + port + " CONFIG SET requirepass s3cret >/dev/null").c_str()),
      0);
  RunResult without = state(redis.tcp_address(), {"set", "k", "v"});
  EXPECT_EQ(without.status, 2);
  EXPECT_NE(without.err.find("NOAUTH"), std::string::npos) << describe(without);
  const std::string with = "redis://:s3cret@127.0.0.1:" + port;
  EXPECT_EQ(state(with, {"set", "k", "v", "--ttl", "1e9"}).status, 0);
  RunResult got = state(with, {"get", "k"});
  EXPECT_EQ(got.out, "v\n") << describe(got);
  RunResult wrong = state("redis://:wrong@127.0.0.1:" + port, {"get", "k"});
  EXPECT_EQ(wrong.status, 2);
  EXPECT_EQ(wrong.err.find("wrong"), std::string::npos) << describe(wrong);
}

}  // namespace
