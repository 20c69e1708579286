// policyd's round trip without Postfix: the milter protocol on a local unix socket,
// one message after another over one connection (MAIL … END-OF-BODY and policyd's
// answer), p50/p99 per message over the ham corpus with the widget policy, facts off
// (no DNS). The baseline, measured in the same run: the same messages judged in
// process by the C API. Prints a table and one JSON line (scripts/bench reads it).
//   milter_bench [MESSAGES]   (default 3000)
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/mailpolicy.h"
#include "bench/corpus.h"
#include "bench/milter_client.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())))];
}

// The widget image written where policyd reads it.
fs::path write_image(const fs::path& dir) {
  fs::path image = dir / "widget.pbc";
  std::string command = std::string(MP_BIN_DIR) + "/policyc build " + MP_SOURCE_DIR +
                        "/examples/widget/policy.mp -o " + image.string() + " >/dev/null";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("policyc build failed");
  return image;
}

pid_t start_policyd(const fs::path& dir, const fs::path& image) {
  std::ofstream(dir / "policyd.conf")
      << "socket = unix:" << (dir / "policyd.sock").string() << "\nimage = " << image.string()
      << "\nfacts = off\nlog = " << (dir / "log").string() << "\n";
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execl((std::string(MP_BIN_DIR) + "/policyd").c_str(), "policyd", "-c", (dir / "policyd.conf").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 200 && !fs::exists(dir / "policyd.sock"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  return pid;
}

std::vector<double> in_process(const fs::path& image, const std::vector<std::string>& messages) {
  mp_error err;
  mp_program* program = mp_program_load_file(image.c_str(), &err);
  mp_config* config = mp_config_new();
  mp_config_set(config, "facts", "off", nullptr);
  mp_evaluator* evaluator = mp_evaluator_new(program, config, &err);
  mp_envelope* envelope = mp_envelope_new();
  mp_envelope_set_client_ip(envelope, "192.0.2.44", nullptr);
  mp_envelope_set_sender(envelope, "someone@example.net", nullptr);
  mp_envelope_add_recipient(envelope, "user@widget.com", nullptr);
  std::vector<double> seconds;
  for (const auto& raw : messages) {
    auto start = Clock::now();
    mp_verdict_free(mp_evaluate(evaluator, raw.data(), raw.size(), envelope, nullptr));
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  mp_envelope_free(envelope);
  mp_evaluator_free(evaluator);
  mp_config_free(config);
  mp_program_free(program);
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t count = argc > 1 ? std::stoul(argv[1]) : 3000;
  const auto& corpus = mp::bench::ham_corpus();
  std::vector<std::string> messages;
  for (size_t i = 0; i < count; ++i) messages.push_back(corpus[i % corpus.size()]);
  fs::path dir = fs::temp_directory_path() / ("mp_milter_bench_" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path image = write_image(dir);
  pid_t policyd = start_policyd(dir, image);
  std::vector<double> round_trip;
  auto started = Clock::now();
  {
    mp::bench::MilterClient client((dir / "policyd.sock").string());
    for (const auto& raw : messages) {
      auto start = Clock::now();
      client.message(raw);
      round_trip.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
  }
  double total = std::chrono::duration<double>(Clock::now() - started).count();
  kill(policyd, SIGKILL);
  waitpid(policyd, nullptr, 0);
  std::vector<double> local = in_process(image, messages);
  fs::remove_all(dir);
  double p50 = percentile(round_trip, 0.5) * 1e3, p99 = percentile(round_trip, 0.99) * 1e3;
  double base50 = percentile(local, 0.5) * 1e3, base99 = percentile(local, 0.99) * 1e3;
  std::printf(
      "policyd round trip over %zu messages: p50 %.3f ms, p99 %.3f ms, %.0f messages/s on one connection\n",
      count, p50, p99, static_cast<double>(count) / total);
  std::printf("in process (C API, same messages): p50 %.3f ms, p99 %.3f ms\n", base50, base99);
  std::printf(
      "{\"messages\":%zu,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"per_second\":%.1f,\"inprocess_p50_ms\":%.4f,"
      "\"inprocess_p99_ms\":%.4f}\n",
      count, p50, p99, static_cast<double>(count) / total, base50, base99);
  return 0;
}
