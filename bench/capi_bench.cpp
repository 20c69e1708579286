// The embedding API in process: messages/s on one core with the widget policy over
// the ham corpus, through the C API (mp_evaluate: copy, parse, facts off, rules,
// verdict with its SMTP reply and result headers) against the same work through the
// C++ API in the same run (the baseline). scripts/bench writes the ratio into
// docs/performance.md. (Linked statically: the shared library is the same code.)
#include <benchmark/benchmark.h>

#include <stdexcept>

#include "api/mailpolicy.h"
#include "bench/corpus.h"
#include "compiler/compiler.h"
#include "runtime/message.h"
#include "vm/vm.h"

namespace {

// One compile of the widget policy; both APIs load the same image bytes.
const std::string& widget_image() {
  static const std::string image = [] {
    auto c = mp::compiler::compile_file(std::string(MP_SOURCE_DIR) + "/examples/widget/policy.mp");
    if (!c.ok()) throw std::runtime_error("examples/widget/policy.mp does not compile");
    return mp::vm::write_image(*c.image);
  }();
  return image;
}

mp_program* widget_program() {
  static mp_program* program = [] {
    mp_error err;
    mp_program* p = mp_program_load(widget_image().data(), widget_image().size(), &err);
    if (p == nullptr) throw std::runtime_error(err.message);
    return p;
  }();
  return program;
}

mp::vm::ProgramPtr widget_cxx_program() {
  static mp::vm::ProgramPtr program =
      mp::vm::Program::load({reinterpret_cast<const uint8_t*>(widget_image().data()), widget_image().size()});
  return program;
}

void BM_CxxApi(benchmark::State& state) {
  const auto& messages = mp::bench::ham_corpus();
  mp::vm::Evaluator evaluator(widget_cxx_program());
  mp::runtime::Envelope envelope;
  envelope.sender = "someone@example.net";
  envelope.recipients = {"user@widget.com"};
  envelope.client_ip = mp::runtime::IpAddress::parse("192.0.2.44");
  size_t i = 0;
  for (auto _ : state) {
    const std::string& raw = messages[i++ % messages.size()];
    auto message = mp::runtime::Message::parse(raw, evaluator.program().parse_options());
    auto verdict = evaluator.evaluate(message, envelope);
    benchmark::DoNotOptimize(verdict);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CxxApi)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

void BM_CApi(benchmark::State& state) {
  const auto& messages = mp::bench::ham_corpus();
  mp_config* config = mp_config_new();
  mp_config_set(config, "facts", "off", nullptr);
  mp_evaluator* evaluator = mp_evaluator_new(widget_program(), config, nullptr);
  mp_envelope* envelope = mp_envelope_new();
  mp_envelope_set_sender(envelope, "someone@example.net", nullptr);
  mp_envelope_add_recipient(envelope, "user@widget.com", nullptr);
  mp_envelope_set_client_ip(envelope, "192.0.2.44", nullptr);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& raw = messages[i++ % messages.size()];
    mp_verdict* v = mp_evaluate(evaluator, raw.data(), raw.size(), envelope, nullptr);
    benchmark::DoNotOptimize(mp_verdict_action(v));
    mp_verdict_free(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  mp_envelope_free(envelope);
  mp_evaluator_free(evaluator);
  mp_config_free(config);
}
BENCHMARK(BM_CApi)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
