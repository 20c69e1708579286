// policyc diff: run two policies over a corpus and report the messages whose verdict
// changed (action, deciding rule or score), grouped by the rule responsible.
//
// Work is shared by N threads, each with its own pair of Evaluators. The corpus is
// enumerated as paths first; files are read (and mbox files split) lazily by the
// workers. The parts of an mbox file are put on a shared list so that the other
// workers help with a big mbox. Results are keyed by (file number, part number) and
// sorted at the end, so the output does not depend on the number of threads.
//
// Facts (--dns-server, --geoip): each worker has its own resolver (a c-ares channel is
// not thread-safe), all sharing one DNS cache; each message gets one MessageFacts,
// computed once and read by both policies (tools/shared_facts.h).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "runtime/message.h"
#include "tools/commands.h"
#include "tools/envelope_options.h"
#include "tools/fact_options.h"
#include "tools/inputs.h"
#include "tools/shared_facts.h"

namespace mp::tools {

namespace {

using ordered_json = nlohmann::ordered_json;

struct DiffOptions {
  std::string old_policy;
  std::string new_policy;
  std::vector<std::string> corpus;
  std::string format = "text";
  unsigned jobs = 0;  // 0: one per hardware thread
  EnvelopeOptions envelope;
  FactFlags facts;
};

// What the workers need to compute facts.
struct FactContext {
  FactAvailability available;
  auth::FactOptions options;  // the new policy's (trusted relays)
  std::shared_ptr<dns::Cache> cache;
  bool needs_resolver() const { return available.dns || available.geoip; }
};

// ---- The corpus -------------------------------------------------------------------

// ---- Results ----------------------------------------------------------------------

struct Side {
  std::string action;
  bool has_rule = false;
  std::string rule, stage;
  double score = 0;

  std::string fact;  // a tempfail by fact: the fact; `rule` the rule that needed it

  std::string rule_text() const {
    return !fact.empty() ? "fact " + fact + " in " + stage + "." + rule
           : has_rule    ? stage + "." + rule
                         : "by score";
  }
};

Side side_of(const vm::Verdict& v) {
  Side s;
  s.action = std::string(vm::action_name(v.action));
  s.has_rule = v.names_rule();
  s.fact = v.fact;
  if (s.has_rule) {
    s.rule = v.rule_name;
    s.stage = v.stage_name;
  }
  s.score = v.score;
  return s;
}

constexpr double kScoreTolerance = 1e-9;

// A message whose verdict changed, or an input that could not be read or evaluated.
struct Outcome {
  size_t file = 0;
  size_t part = 0;
  std::string name;
  std::string error;  // non-empty: not evaluated
  Side before, after;
  bool action_changed = false, rule_changed = false, score_changed = false;

  std::string cause() const {
    if (after.has_rule) return "new: " + after.stage + "." + after.rule;
    if (before.has_rule) return "old: " + before.stage + "." + before.rule;
    return "score";
  }
  std::vector<std::string> changes() const {
    std::vector<std::string> out;
    if (action_changed) out.push_back("action");
    if (rule_changed) out.push_back("rule");
    if (score_changed) out.push_back("score");
    return out;
  }
};

struct WorkerResult {
  size_t messages = 0;
  std::vector<Outcome> outcomes;
};

// ---- The shared work list ---------------------------------------------------------

struct Batch {  // the messages of one mbox file, taken one by one
  size_t file = 0;
  std::string path;
  std::vector<std::string> parts;
  size_t next = 0;                  // guarded by Work::mutex
  std::atomic<size_t> remaining{0};  // parts not yet evaluated
};

struct Task {
  enum Kind { Done, File, Part } kind = Done;
  size_t file = 0;
  size_t part = 0;
  std::string bytes;
  std::shared_ptr<Batch> batch;
};

class Work {
 public:
  explicit Work(const std::vector<std::string>& files) : files_(files) {}

  // The next mbox part if any (they come first, to bound memory), else the next file;
  // waits while files being read may still add parts, ends when nothing is left.
  Task next() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (!batches_.empty()) {
        std::shared_ptr<Batch> b = batches_.front();
        Task t{Task::Part, b->file, b->next, std::move(b->parts[b->next]), b};
        if (++b->next == b->parts.size()) batches_.pop_front();
        return t;
      }
      if (next_file_ < files_.size()) {
        ++readers_;
        return Task{Task::File, next_file_++, 0, {}, nullptr};
      }
      if (readers_ == 0) return Task{};
      wake_.wait(lock);
    }
  }

  // The reader of a file is done with it; `batch` (may be null) holds parts for others.
  void file_read(std::shared_ptr<Batch> batch) {
    {
      std::lock_guard lock(mutex_);
      --readers_;
      if (batch && batch->next < batch->parts.size()) batches_.push_back(std::move(batch));
    }
    wake_.notify_all();
  }

  std::atomic<size_t> files_done{0};
  std::atomic<size_t> messages_done{0};
  std::atomic<size_t> changed{0};

 private:
  const std::vector<std::string>& files_;
  std::mutex mutex_;
  std::condition_variable wake_;
  size_t next_file_ = 0;
  size_t readers_ = 0;
  std::deque<std::shared_ptr<Batch>> batches_;
};

class Worker {
 public:
  Worker(const vm::ProgramPtr& before, const vm::ProgramPtr& after, const runtime::Envelope& base,
         const DiffOptions& o, const FactContext& facts, const std::vector<std::string>& files, Work& work)
      : before_(before), after_(after), base_(base), o_(o), facts_(facts), files_(files), work_(work) {
    // --geoip alone needs one too (MessageFacts takes one); SharedFacts keeps DNS off it.
    if (facts.needs_resolver()) resolver_ = o.facts.resolver(facts.cache);
  }

  WorkerResult run() {
    for (Task t = work_.next(); t.kind != Task::Done; t = work_.next()) {
      if (t.kind == Task::Part) {
        evaluate(t.file, t.part, t.batch->path + "#" + std::to_string(t.part + 1), std::move(t.bytes));
        part_done(*t.batch);
      } else {
        read(t.file);
      }
    }
    return std::move(result_);
  }

 private:
  void read(size_t file) {
    const std::string& path = files_[file];
    std::string bytes;
    std::vector<std::string> parts;
    std::string error;
    try {
      if (!read_file(path, bytes)) error = "cannot read file";
      else parts = runtime::split_mbox(bytes);
    } catch (const std::exception& e) {
      error = std::string("cannot read file: ") + e.what();
    }
    if (!error.empty() || parts.size() <= 1) {
      work_.file_read(nullptr);
      if (!error.empty()) add_error(file, 0, path, error);
      else evaluate(file, 0, path, std::move(bytes));
      ++work_.files_done;
      return;
    }
    bytes = std::string();
    auto batch = std::make_shared<Batch>();
    batch->file = file;
    batch->path = path;
    batch->remaining = parts.size();
    batch->parts = std::move(parts);
    std::string first = std::move(batch->parts[0]);
    batch->next = 1;
    work_.file_read(batch);
    evaluate(file, 0, path + "#1", std::move(first));
    part_done(*batch);
  }

  void part_done(Batch& batch) {
    if (--batch.remaining == 0) ++work_.files_done;
  }

  void add_error(size_t file, size_t part, const std::string& name, const std::string& error) {
    Outcome out;
    out.file = file;
    out.part = part;
    out.name = name;
    out.error = error;
    result_.outcomes.push_back(std::move(out));
  }

  void evaluate(size_t file, size_t part, const std::string& name, std::string bytes) {
    Outcome out;
    try {
      // Each policy sees the message as its own settings parse it (mime.max_depth, ...).
      const runtime::ParseOptions old_options = before_->parse_options(),
                                  new_options = after_->parse_options();
      const bool same_parse = old_options == new_options;
      runtime::Message message = runtime::Message::parse(same_parse ? std::move(bytes) : bytes, old_options);
      MessageEnvelope envelope = o_.envelope.for_message(base_, message, files_[file]);
      if (!envelope.error.empty()) {
        add_error(file, part, name, envelope.error);
        return;
      }
      // One set of facts for both policies: the same answers, so that only the policy differs.
      std::optional<auth::MessageFacts> real;
      if (resolver_) real.emplace(*resolver_, message, envelope.envelope, facts_.options);
      SharedFacts facts(real ? &*real : nullptr, facts_.available);
      out.before = side_of(old_evaluator_.evaluate(message, envelope.envelope, &facts));
      if (!same_parse) message = runtime::Message::parse(std::move(bytes), new_options);
      out.after = side_of(new_evaluator_.evaluate(message, envelope.envelope, &facts));
    } catch (const std::exception& e) {
      add_error(file, part, name, std::string("evaluation failed: ") + e.what());
      return;
    }
    ++result_.messages;
    ++work_.messages_done;
    out.action_changed = out.before.action != out.after.action;
    out.rule_changed = out.before.has_rule != out.after.has_rule ||
                       (out.before.has_rule && (out.before.stage != out.after.stage || out.before.rule != out.after.rule));
    out.score_changed = std::fabs(out.before.score - out.after.score) > kScoreTolerance;
    if (!out.action_changed && !out.rule_changed && !out.score_changed) return;
    out.file = file;
    out.part = part;
    out.name = name;
    ++work_.changed;
    result_.outcomes.push_back(std::move(out));
  }

  vm::ProgramPtr before_, after_;
  const runtime::Envelope& base_;
  const DiffOptions& o_;
  const FactContext& facts_;
  const std::vector<std::string>& files_;
  Work& work_;
  std::unique_ptr<dns::Resolver> resolver_;  // null: no fact is computed
  vm::Evaluator old_evaluator_{before_};
  vm::Evaluator new_evaluator_{after_};
  WorkerResult result_;
};

// ---- Progress (stderr, only on a terminal) ----------------------------------------

void draw_progress(const Work& work, size_t files, bool final) {
  constexpr int kWidth = 30;
  size_t done = work.files_done.load();
  int filled = files == 0 ? kWidth : static_cast<int>(kWidth * done / files);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, ' ');
  std::cerr << fmt::format("\r\033[K[{}] {}/{} files  {} messages  {} changed", bar, done, files,
                           work.messages_done.load(), work.changed.load());
  if (final) std::cerr << "\r\033[K";
  std::cerr << std::flush;
}

// ---- Output -----------------------------------------------------------------------

struct Report {
  size_t messages = 0;
  std::vector<Outcome> changed;  // sorted by cause, then input order
  std::vector<Outcome> errors;   // input order
  std::map<std::string, size_t> transitions;  // "deliver→quarantine"
};

std::string arrow_key(const Outcome& o, const char* arrow) { return o.before.action + arrow + o.after.action; }

// Text: one block per cause, then the errors, then the totals.
std::string report_text(const Report& r) {
  std::string out;
  for (size_t i = 0; i < r.changed.size();) {
    std::string cause = r.changed[i].cause();
    size_t end = i;
    while (end < r.changed.size() && r.changed[end].cause() == cause) ++end;
    out += fmt::format("{} — {} changed\n", cause, end - i);
    for (; i < end; ++i) {
      const Outcome& o = r.changed[i];
      out += fmt::format("  {}: {} ({}) → {} ({})", o.name, o.before.action, o.before.rule_text(), o.after.action,
                         o.after.rule_text());
      std::vector<std::string> what;
      if (o.action_changed) what.push_back("action");
      if (o.rule_changed) what.push_back("rule");
      if (o.score_changed) what.push_back(fmt::format("score {} → {}", o.before.score, o.after.score));
      out += fmt::format("  [{}]\n", fmt::join(what, ", "));
    }
    out += "\n";
  }
  if (!r.errors.empty()) {
    out += fmt::format("errors — {}\n", r.errors.size());
    for (const auto& e : r.errors) out += fmt::format("  {}: {}\n", e.name, e.error);
    out += "\n";
  }
  out += fmt::format("messages: {}\nchanged: {}\n", r.messages, r.changed.size());
  std::vector<std::pair<std::string, size_t>> transitions(r.transitions.begin(), r.transitions.end());
  std::stable_sort(transitions.begin(), transitions.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [key, count] : transitions) {
    std::string text = key;
    text.replace(text.find("→"), std::string("→").size(), " → ");
    out += fmt::format("  {}: {}\n", text, count);
  }
  out += fmt::format("errors: {}\n", r.errors.size());
  return out;
}

ordered_json side_json(const Side& s) {
  ordered_json j;
  j["action"] = s.action;
  j["rule"] = s.has_rule ? ordered_json(s.rule) : ordered_json(nullptr);
  j["stage"] = s.has_rule ? ordered_json(s.stage) : ordered_json(nullptr);
  if (!s.fact.empty()) j["fact"] = s.fact;
  j["score"] = s.score;
  return j;
}

std::string report_json(const Report& r) {
  ordered_json j;
  j["messages"] = r.messages;
  j["changed"] = r.changed.size();
  j["errors"] = r.errors.size();
  // One object per transition: JSON keys stay ASCII names (docs/cli.md, "JSON output").
  ordered_json transitions = ordered_json::array();
  for (const auto& [key, count] : r.transitions) {
    size_t arrow = key.find("→");
    transitions.push_back({{"from", key.substr(0, arrow)},
                           {"to", key.substr(arrow + std::string("→").size())},
                           {"count", count}});
  }
  j["transitions"] = transitions;
  ordered_json groups = ordered_json::array();
  for (size_t i = 0; i < r.changed.size();) {
    std::string cause = r.changed[i].cause();
    ordered_json messages = ordered_json::array();
    for (; i < r.changed.size() && r.changed[i].cause() == cause; ++i) {
      const Outcome& o = r.changed[i];
      ordered_json m;
      m["file"] = o.name;
      m["old"] = side_json(o.before);
      m["new"] = side_json(o.after);
      m["changes"] = o.changes();
      messages.push_back(std::move(m));
    }
    ordered_json group;
    group["cause"] = cause;
    group["count"] = messages.size();
    group["messages"] = std::move(messages);
    groups.push_back(std::move(group));
  }
  j["groups"] = std::move(groups);
  ordered_json failed = ordered_json::array();
  for (const auto& e : r.errors) failed.push_back(ordered_json{{"file", e.name}, {"error", e.error}});
  j["failed"] = std::move(failed);
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

// ---- The command ------------------------------------------------------------------

int diff(const DiffOptions& o) {
  vm::ProgramPtr before = load_program(o.old_policy, o.format);
  if (!before) return 2;
  vm::ProgramPtr after = load_program(o.new_policy, o.format);
  if (!after) return 2;
  std::optional<runtime::Envelope> envelope = o.envelope.base();
  if (!envelope) return 2;
  const runtime::Envelope& base = *envelope;
  FactContext facts{
      {o.facts.dns_server_given(), o.facts.geoip_given(), o.facts.clamd_given(), o.facts.store_given()},
      {},
      std::make_shared<dns::Cache>()};
  if (!o.facts.fact_options(after->image(), facts.options)) return 2;
  if (facts.needs_resolver() && !o.facts.resolver(facts.cache)) return 2;  // a bad --dns-server
  const vm::ProgramPtr programs[] = {before, after};
  warn_uncomputable(programs, facts.available);

  const MessageFiles found = find_message_files(o.corpus);
  if (!report_message_files(found, true)) return 2;
  const std::vector<std::string>& files = found.files;
  size_t jobs = o.jobs != 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());

  Work work(files);
  std::vector<WorkerResult> results(jobs);
  std::atomic<size_t> running{jobs};
  std::mutex done_mutex;
  std::condition_variable done;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < jobs; ++i) {
    threads.emplace_back([&, i] {
      {
        Worker worker(before, after, base, o, facts, files, work);
        results[i] = worker.run();
      }
      std::lock_guard lock(done_mutex);
      if (--running == 0) done.notify_all();
    });
  }
  const bool progress = isatty(STDERR_FILENO) != 0;
  {
    std::unique_lock lock(done_mutex);
    while (running > 0) {
      done.wait_for(lock, std::chrono::milliseconds(100), [&] { return running == 0; });
      if (progress && running > 0) draw_progress(work, files.size(), false);
    }
  }
  for (auto& t : threads) t.join();
  if (progress) draw_progress(work, files.size(), true);

  Report report;
  for (auto& r : results) {
    report.messages += r.messages;
    for (auto& outcome : r.outcomes) {
      (outcome.error.empty() ? report.changed : report.errors).push_back(std::move(outcome));
    }
  }
  auto input_order = [](const Outcome& a, const Outcome& b) {
    return std::tie(a.file, a.part) < std::tie(b.file, b.part);
  };
  std::sort(report.errors.begin(), report.errors.end(), input_order);
  std::sort(report.changed.begin(), report.changed.end(), [&](const Outcome& a, const Outcome& b) {
    std::string ca = a.cause(), cb = b.cause();
    return ca != cb ? ca < cb : input_order(a, b);
  });
  for (const auto& c : report.changed) {
    if (c.action_changed) ++report.transitions[arrow_key(c, "→")];
  }
  std::cout << (o.format == "json" ? report_json(report) : report_text(report)) << std::flush;
  return report.changed.empty() ? 0 : 1;
}

void add_diff_command(CLI::App& app, int& status) {
  auto o = std::make_shared<DiffOptions>();
  auto* cmd = app.add_subcommand("diff", "Compare the verdicts of two policies over a corpus");
  cmd->add_option("old", o->old_policy, "The old policy (source or image)")->required();
  cmd->add_option("new", o->new_policy, "The new policy (source or image)")->required();
  cmd->add_option("corpus", o->corpus, "Message files, mbox files, directories, Maildirs")->required();
  cmd->add_option("--format", o->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--jobs,-j", o->jobs, "Worker threads (default: one per hardware thread)")
      ->check(CLI::PositiveNumber);
  o->envelope.add_to(*cmd);
  o->facts.add_to(*cmd);
  cmd->callback([o, &status] { status = diff(*o); });
}

}  // namespace

MP_REGISTER_COMMAND(40, add_diff_command);

}  // namespace mp::tools
