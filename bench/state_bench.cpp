// What memory across messages costs (issue 12): messages/s of a policy that reads the
// state facts — reputation, net_reputation, rate, sender_list, bulk.count, bayes — with
// no store (every state fact without value: the baseline), on an LMDB file and on a
// local Redis over its unix socket, through the C API (mp_evaluate: facts, rules,
// learning), in one run over the ham corpus. scripts/bench writes the ratios into
// docs/performance.md. The Redis case is skipped when redis-server is not installed.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "api/mailpolicy.h"
#include "bench/corpus.h"
#include "tests/state/redis_harness.h"

namespace {

namespace fs = std::filesystem;

// The widget policy with a stage of rules on every state fact.
const char* kStateRules = R"(
stage reputation {
  rule bench_poor_address: if reputation(client.effective_ip) >= 5 then score +3 "poor address"
  rule bench_poor_network: if net_reputation(client.ip) >= 5 then score +2 "poor network"
  rule bench_burst: if rate(sender, 1h) > 1000000 then tempfail "451 4.7.1 slow down"
}
stage custom_filters {
  rule bench_blocked: if sender_list is blocked then quarantine "blocked by the recipient"
}
stage spam_engine {
  rule bench_bulk: if bulk.count >= 50 then score +0.5 "bulk"
  rule bench_bayes: if bayes >= 0.9 then score +3 "bayes"
}
)";

fs::path scratch() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("mp_state_bench_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

mp_program* state_program() {
  static mp_program* program = [] {
    std::ifstream in(std::string(MP_SOURCE_DIR) + "/examples/widget/policy.mp");
    std::ostringstream text;
    text << in.rdbuf() << kStateRules;
    // Its list files come along (execs.txt, …): paths are relative to the policy.
    for (const auto& e : fs::directory_iterator(std::string(MP_SOURCE_DIR) + "/examples/widget")) {
      if (e.is_regular_file() && e.path().extension() == ".txt")
        fs::copy_file(e.path(), scratch() / e.path().filename(), fs::copy_options::overwrite_existing);
    }
    const fs::path path = scratch() / "policy.mp";
    std::ofstream(path) << text.str();
    mp_error err;
    mp_program* p = mp_program_compile_file(path.c_str(), &err);
    if (p == nullptr) throw std::runtime_error(err.message);
    return p;
  }();
  return program;
}

void run(benchmark::State& state, const std::string& store) {
  const auto& messages = mp::bench::ham_corpus();
  mp_config* config = mp_config_new();
  mp_config_set(config, "dns.servers", "127.0.0.1:1", nullptr);  // the policy reads no DNS fact
  if (!store.empty() && mp_config_set(config, "state", store.c_str(), nullptr) != MP_OK) {
    state.SkipWithError("the store cannot be opened");
    mp_config_free(config);
    return;
  }
  mp_evaluator* evaluator = mp_evaluator_new(state_program(), config, nullptr);
  mp_envelope* envelope = mp_envelope_new();
  mp_envelope_add_recipient(envelope, "user@widget.com", nullptr);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& raw = messages[i % messages.size()];
    // A new sender and client now and then, as a gateway sees them.
    mp_envelope_set_sender(envelope, ("someone" + std::to_string(i % 97) + "@example.net").c_str(), nullptr);
    mp_envelope_set_client_ip(envelope, ("192.0.2." + std::to_string(i % 251)).c_str(), nullptr);
    ++i;
    mp_verdict* v = mp_evaluate(evaluator, raw.data(), raw.size(), envelope, nullptr);
    benchmark::DoNotOptimize(mp_verdict_action(v));
    mp_verdict_free(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  mp_envelope_free(envelope);
  mp_evaluator_free(evaluator);
  mp_config_free(config);
}

void BM_StateNone(benchmark::State& state) {
  run(state, "");
}
BENCHMARK(BM_StateNone)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

void BM_StateLmdb(benchmark::State& state) {
  run(state, "lmdb:" + (scratch() / "state.mdb").string());
}
BENCHMARK(BM_StateLmdb)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

void BM_StateRedis(benchmark::State& state) {
  static mp::state_test::RedisProcess redis;
  static const bool started = redis.start();
  if (!started) {
    state.SkipWithError(redis.error().c_str());
    return;
  }
  run(state, redis.unix_address());
}
BENCHMARK(BM_StateRedis)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
