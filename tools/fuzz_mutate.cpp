// Seed mutation with libFuzzer's engine, guided by the policy's coverage (fuzz_mutate.h).
#include "tools/fuzz_mutate.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "runtime/identity.h"
#include "runtime/message.h"
#include "state/lists.h"
#include "tools/fuzz_witnesses.h"

// libFuzzer's entry points (compiler-rt, FuzzerInterface.h and the sanitizer
// coverage interface): the driver, and the registration of a block of 8-bit counters
// as coverage, which here is the policy's.
extern "C" int LLVMFuzzerRunDriver(int* argc, char*** argv,
                                   int (*callback)(const uint8_t* data, size_t size));
extern "C" void __sanitizer_cov_8bit_counters_init(uint8_t* start, uint8_t* stop);
extern "C" void __sanitizer_cov_pcs_init(const uintptr_t* start, const uintptr_t* stop);

namespace mp::tools {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDefaultClient = "192.0.2.1";
constexpr int kInterrupted = 72;  // libFuzzer's exit status on SIGINT/SIGTERM: what it kept stands

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// The address of "<a@b> SIZE=100" or "a@b" after the command (ESMTP parameters left
// out); "" when it is no address (LOCAL@DOMAIN), as `policyc test` reads one.
std::string path_argument(std::string_view rest) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::string_view path = rest.substr(0, rest.find(' '));
  if (rest.starts_with('<'))
    path = rest.substr(1, rest.find('>') == std::string_view::npos ? 0 : rest.find('>') - 1);
  return state::is_email_address(path) ? std::string(path) : std::string();
}

void read_xclient(std::string_view rest, runtime::Envelope& e) {
  std::istringstream in{std::string(rest)};
  std::string item;
  while (in >> item) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "ADDR")
      e.client_ip = runtime::IpAddress::parse(starts_with_nocase(value, "IPV6:") ? value.substr(5) : value);
    if (key == "HELO") e.helo = value;
    if (key == "LOGIN") e.auth_user = value;
  }
}

// One envelope line; false when the line is none of the commands.
bool read_envelope_line(std::string_view line, runtime::Envelope& e) {
  if (starts_with_nocase(line, "MAIL FROM:")) {
    e.sender = path_argument(line.substr(10));
  } else if (starts_with_nocase(line, "RCPT TO:")) {
    // Each recipient an address, and once (a message has each recipient once).
    const std::string r = path_argument(line.substr(8));
    const bool twice = std::any_of(e.recipients.begin(), e.recipients.end(), [&](const std::string& seen) {
      return runtime::fold_address(seen) == runtime::fold_address(r);
    });
    if (!r.empty() && !twice) e.recipients.push_back(r);
  } else if (starts_with_nocase(line, "XCLIENT ")) {
    read_xclient(line.substr(8), e);
  } else {
    return false;
  }
  return true;
}

// The envelope a bare message gets: its own From and To, read as envelope lines are.
runtime::Envelope envelope_of(const std::string& message) {
  runtime::Envelope e;
  const runtime::Message m = runtime::Message::parse(message);
  if (!m.from().empty()) read_envelope_line("MAIL FROM:<" + m.from().front().address + ">", e);
  for (const auto& to : m.to()) read_envelope_line("RCPT TO:<" + to.address + ">", e);
  return e;
}

std::string dictionary_entry(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// ---- The child: libFuzzer's driver, the policy as its coverage ----------------------

// 0, 1, 2-3, 4 or more.
size_t bucket(size_t n) {
  return n < 2 ? n : n < 4 ? 2 : 3;
}

// The policy's coverage, as libFuzzer's counters (it clears them before each input and
// keeps an input that sets one no earlier input set):
//   per rule: fired, reached unfired, and each of its first kTests tests true (a step
//     towards a rule of several tests);
//   per action; per assertion and action: its condition holds with that verdict;
//   the message's shape (HTML, text, attachments, URLs, MIME parts, header fields,
//     defects, bucketed) and its envelope's (sender empty, aligned with From or not,
//     recipients, client, HELO, login): so that each differently built seed has a
//     feature of its own, which libFuzzer needs to pick it for mutation at all.
struct PolicyCoverage {
  static constexpr size_t kTests = 8, kShape = 32;
  VmJudge judge;
  VmJudge probe;
  size_t rules, assertions;
  std::vector<uint8_t> counters;

  PolicyCoverage(const vm::ImageData& image, const vm::ImageData& probe_image, size_t assertion_count)
      : judge(image, true),
        probe(probe_image, false),
        rules(image.rules.size()),
        assertions(assertion_count),
        counters(rules * (2 + kTests) + vm::kActionCount * (1 + assertions) + kShape) {}

  void run(std::string_view bytes) {
    const explore::Witness w = decode_mutation_input(bytes);
    // One parse for the judge, the probe (the same policy's settings) and the shape.
    const runtime::Message m = runtime::Message::parse(w.message, judge.parse_options());
    const vm::Verdict v = judge(w, m);
    for (const auto& t : v.trace) {
      if (t.rule >= rules) continue;
      uint8_t* rule = &counters[t.rule * (2 + kTests)];
      if (t.outcome == vm::RuleOutcome::Fired) rule[0] = 1;
      if (t.outcome == vm::RuleOutcome::NotMatched || t.outcome == vm::RuleOutcome::SkippedPrefilter)
        rule[1] = 1;
      for (size_t i = 0; i < t.tests.size() && i < kTests; ++i) rule[2 + i] |= t.tests[i].result;
    }
    uint8_t* actions = &counters[rules * (2 + kTests)];
    const size_t action = static_cast<size_t>(v.action);
    actions[action] = 1;
    for (const auto& fired : probe(w, m).fired) {
      if (fired.rule < assertions) actions[vm::kActionCount * (1 + fired.rule) + action] = 1;
    }
    shape(w.envelope, m, &actions[vm::kActionCount * (1 + assertions)]);
  }

  static void shape(const runtime::Envelope& e, const runtime::Message& m, uint8_t* out) {
    const std::string_view sender_domain = std::string_view(e.sender).substr(e.sender.rfind('@') + 1);
    const bool aligned = !m.from().empty() && m.from().front().domain() == sender_domain;
    out[e.sender.empty() ? 22 : aligned ? 23 : 24] = 1;
    out[25 + bucket(e.recipients.size())] = 1;
    out[29] = e.client_ip.has_value();
    out[30] = !e.helo.empty();
    out[31] = !e.auth_user.empty();
    out[0] = !m.html().empty();
    out[1] = !m.body_text().empty();
    out[2 + bucket(m.attachments().size())] = 1;
    out[6 + bucket(m.urls().size())] = 1;
    out[10 + bucket(m.mime_headers().size())] = 1;
    out[14 + bucket(m.headers().size() / 8)] = 1;
    out[18 + bucket(m.defects().size())] = 1;
  }
};

PolicyCoverage* child_coverage = nullptr;

int one_input(const uint8_t* data, size_t size) {
  try {
    child_coverage->run({reinterpret_cast<const char*>(data), size});
  } catch (const std::exception&) {
    // A fact a bare message cannot state, an image error: not coverage, not a crash.
  }
  return 0;
}

[[noreturn]] void run_child(const vm::ImageData& image, const vm::ImageData& probe, size_t assertions,
                            const MutationOptions& o, const fs::path& work, size_t max_len) {
  const int log = open((work / "libfuzzer.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0 || dup2(log, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0) _exit(3);
  try {
    child_coverage = new PolicyCoverage(image, probe, assertions);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "policyc: %s\n", e.what());
    _exit(3);
  }
  std::vector<uint8_t>& counters = child_coverage->counters;
  __sanitizer_cov_8bit_counters_init(counters.data(), counters.data() + counters.size());
  // Its table of (PC, flags) per counter, which libFuzzer checks against the counters
  // when the program is itself instrumented (a -fsanitize=fuzzer-no-link build): a
  // made-up PC each, flags 0 (no function entry, so nothing to symbolise).
  static std::vector<uintptr_t> pcs(2 * counters.size());
  for (size_t i = 0; i < counters.size(); ++i) pcs[2 * i] = reinterpret_cast<uintptr_t>(&counters[i]);
  __sanitizer_cov_pcs_init(pcs.data(), pcs.data() + pcs.size());
  std::vector<std::string> args = {
      "policyc-fuzz-seeds", "-max_total_time=" + std::to_string(std::max(1, static_cast<int>(o.seconds))),
      "-seed=1", "-timeout=10", "-error_exitcode=77", "-timeout_exitcode=78", "-rss_limit_mb=4096",
      "-detect_leaks=0",
      // Real messages stay whole: a seed adds no rule outcome a smaller input
      // has not, yet its structure (HTML, MIME, archives) is what to mutate.
      "-keep_seed=1", "-reduce_inputs=0",
      // Whole messages from the start (libFuzzer grows its length
      // limit slowly from small inputs, cutting every seed).
      "-len_control=0", "-max_len=" + std::to_string(max_len), "-print_final_stats=1",
      "-artifact_prefix=" + (work / "crash-").string(), (work / "kept").string(), (work / "seeds").string()};
  if (fs::file_size(work / "policy.dict") > 0)
    args.insert(args.begin() + 1, "-dict=" + (work / "policy.dict").string());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  char** argvp = argv.data();
  _exit(LLVMFuzzerRunDriver(&argc, &argvp, one_input));
}

// Seeds into work/seeds: the directory's files as they are, the extra ones encoded.
// Returns the directory's, decoded, in name order.
std::vector<explore::Witness> gather_seeds(const MutationOptions& o, const fs::path& work) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(o.seeds)) {
    // A `.env` file is `policyc run`'s envelope of the message beside it, not a seed.
    if (entry.is_regular_file() && entry.path().extension() != ".env") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<explore::Witness> seeds;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string bytes = read_file(files[i]);
    write_file(work / "seeds" / ("seed-" + std::to_string(i)), bytes);
    seeds.push_back(decode_mutation_input(bytes));
  }
  for (size_t i = 0; i < o.more_seeds.size(); ++i)
    write_file(work / "seeds" / ("witness-" + std::to_string(i)), encode_mutation_input(o.more_seeds[i]));
  return seeds;
}

// Inputs may grow to twice the largest seed (4 KiB at least).
size_t max_len(const fs::path& seeds) {
  uintmax_t largest = 0;
  for (const auto& entry : fs::directory_iterator(seeds)) largest = std::max(largest, entry.file_size());
  return std::max<size_t>(4096, 2 * static_cast<size_t>(largest));
}

uint64_t executions(const fs::path& log) {
  static const std::regex done(R"(Done (\d+) runs)");
  std::smatch m;
  const std::string text = read_file(log);
  return std::regex_search(text, m, done) ? std::stoull(m[1].str()) : 0;
}

}  // namespace

std::string encode_mutation_input(const explore::Witness& w) {
  std::string out = "MAIL FROM:<" + w.envelope.sender + ">\n";
  for (const auto& r : w.envelope.recipients) out += "RCPT TO:<" + r + ">\n";
  out += "XCLIENT ADDR=" + (w.envelope.client_ip ? w.envelope.client_ip->str() : std::string(kDefaultClient));
  if (!w.envelope.helo.empty()) out += " HELO=" + w.envelope.helo;
  if (!w.envelope.auth_user.empty()) out += " LOGIN=" + w.envelope.auth_user;
  return out + "\nDATA\n" + w.message;
}

explore::Witness decode_mutation_input(std::string_view bytes) {
  explore::Witness w;
  size_t pos = 0;
  bool enveloped = false;
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string_view::npos) end = bytes.size();
    std::string_view line = bytes.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (enveloped && line.size() == 4 && starts_with_nocase(line, "DATA")) {
      w.message = std::string(bytes.substr(std::min(bytes.size(), end + 1)));
      break;
    }
    if (!read_envelope_line(line, w.envelope)) break;
    enveloped = true;
    pos = end + 1;
  }
  // With no envelope the input is all message; an envelope with no DATA, none.
  if (!enveloped) {
    w.message = std::string(bytes);
    w.envelope = envelope_of(w.message);
  }
  if (!w.envelope.client_ip) w.envelope.client_ip = runtime::IpAddress::parse(kDefaultClient);
  return w;
}

std::vector<std::string> policy_dictionary(const vm::ImageData& image) {
  std::set<std::string> words;
  static const std::regex quoted(R"re("((?:[^"\\]|\\.)+)")re");
  for (const auto& p : image.patterns) {
    for (std::sregex_iterator it(p.source.begin(), p.source.end(), quoted), end; it != end; ++it)
      if ((*it)[1].length() > 0) words.insert((*it)[1].str());
    if (!p.header_filter.empty()) words.insert(p.header_filter + ": ");
  }
  for (const auto& s : image.sets) {
    for (const auto& entry : s.entries) {
      if (!entry.empty()) words.insert(entry);  // libFuzzer refuses an empty entry
    }
    if (!s.header_filter.empty()) words.insert(s.header_filter + ": ");
  }
  std::vector<std::string> out;
  for (const auto& w : words) out.push_back(dictionary_entry(w));
  return out;
}

MutationResult mutate_seeds(const vm::ImageData& image, const vm::ImageData& probe, size_t assertions,
                            const MutationOptions& o) {
  const fs::path work = o.work_dir;
  fs::create_directories(work / "seeds");
  fs::create_directories(work / "kept");
  MutationResult result;
  try {
    result.inputs = gather_seeds(o, work);
  } catch (const fs::filesystem_error& e) {
    throw std::runtime_error("seeds: " + std::string(e.what()));
  }
  result.seeds = result.inputs.size();
  std::ofstream dict(work / "policy.dict");
  for (const auto& entry : policy_dictionary(image)) dict << entry << "\n";
  dict.close();
  std::fflush(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    // policyc killed (a CI timeout, ^C's SIGKILL) takes its mutation engine with it.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(3);
    run_child(image, probe, assertions, o, work, max_len(work / "seeds"));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.executions = executions(work / "libfuzzer.log");
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 77 || code == 78 || WIFSIGNALED(status)) {
    for (const auto& entry : fs::directory_iterator(work)) {
      if (entry.path().filename().string().starts_with("crash-")) result.crash = entry.path().string();
    }
    if (result.crash.empty()) result.crash = (work / "libfuzzer.log").string();
  } else if (code != 0 && code != kInterrupted) {
    throw std::runtime_error("the mutation engine failed (exit " + std::to_string(code) + "); see " +
                             (work / "libfuzzer.log").string());
  }
  std::vector<fs::path> kept;
  for (const auto& entry : fs::directory_iterator(work / "kept")) kept.push_back(entry.path());
  std::sort(kept.begin(), kept.end());
  for (const auto& path : kept) result.inputs.push_back(decode_mutation_input(read_file(path)));
  return result;
}

}  // namespace mp::tools
