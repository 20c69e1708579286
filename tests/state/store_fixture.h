// The fixture of the suites that run against every store: an LMDB file in a scratch
// directory (with a clock the test moves), a real redis-server over its unix socket
// and over TCP, and a real Redis Cluster of three masters (with the wall clock: Redis
// expires keys by its own).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <memory>
#include <thread>

#include "state/store.h"
#include "tests/state/redis_harness.h"

namespace mp::state {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline double parse_value(const std::optional<std::string>& text) {
  return text ? std::stod(*text) : -1;
}

// A clock the LMDB tests move by hand.
struct FakeClock {
  std::shared_ptr<std::atomic<double>> now = std::make_shared<std::atomic<double>>(1'800'000'000.0);
  Clock clock() const {
    return [now = now] { return now->load(); };
  }
};

enum class Kind { Lmdb, RedisUnix, RedisTcp, RedisCluster };

inline std::string kind_name(const testing::TestParamInfo<Kind>& info) {
  switch (info.param) {
    case Kind::Lmdb: return "Lmdb";
    case Kind::RedisUnix: return "RedisUnix";
    case Kind::RedisTcp: return "RedisTcp";
    case Kind::RedisCluster: return "RedisCluster";
  }
  return "?";
}

class StoreFixture : public testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    StoreOptions options;
    if (GetParam() == Kind::Lmdb) {
      dir_ = fs::temp_directory_path() / ("mp_state_" + std::to_string(::getpid()) + "_" +
                                          testing::UnitTest::GetInstance()->current_test_info()->name());
      fs::remove_all(dir_);
      fs::create_directories(dir_);
      options.address = "lmdb:" + (dir_ / "state.mdb").string();
      options.clock = clock_.clock();
    } else if (GetParam() == Kind::RedisCluster) {
      cluster_ = std::make_unique<state_test::RedisCluster>();
      ASSERT_TRUE(cluster_->start()) << cluster_->error();
      options.address = cluster_->address();
    } else {
      redis_ = std::make_unique<state_test::RedisProcess>();
      ASSERT_TRUE(redis_->start()) << redis_->error();
      options.address = GetParam() == Kind::RedisUnix ? redis_->unix_address() : redis_->tcp_address();
    }
    options_ = options;
    store_ = open_store(options);
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Time passes: the fake clock for LMDB, the wall clock for Redis (which expires keys
  // by its own).
  void advance(double seconds) {
    if (GetParam() == Kind::Lmdb) {
      clock_.now->store(clock_.now->load() + seconds);
    } else {
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    }
  }

  FakeClock clock_;
  fs::path dir_;
  std::unique_ptr<state_test::RedisProcess> redis_;
  std::unique_ptr<state_test::RedisCluster> cluster_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

inline const auto kAllKinds =
    testing::Values(Kind::Lmdb, Kind::RedisUnix, Kind::RedisTcp, Kind::RedisCluster);

}  // namespace mp::state
