#include "tools/policyd/service.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>
#include <stdexcept>

#include <fmt/format.h>

namespace mp::policyd {

using nlohmann::json;

// ---- JsonLog ---------------------------------------------------------------------

JsonLog::JsonLog(std::string path) : path_(std::move(path)) {
  if (std::string error; !reopen(&error)) throw std::runtime_error(error);
}

bool JsonLog::reopen(std::string* error) {
  if (path_ == "-") return true;
  std::ofstream file(path_, std::ios::app);
  if (!file) {
    if (error) *error = "log: cannot open " + path_ + " for appending: " + std::strerror(errno);
    return false;
  }
  std::lock_guard lock(mutex_);
  file_ = std::move(file);
  return true;
}

void JsonLog::write(json line) {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  json out = {{"time", fmt::format("{}.{:03}Z", stamp, millis)}};
  out.update(line);
  std::string text = out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mutex_);
  std::ostream& stream = path_ == "-" ? std::cerr : static_cast<std::ostream&>(file_);
  stream << text;
  stream.flush();
}

// ---- Generations -----------------------------------------------------------------

const char* unjudged_name(Unjudged reason) {
  switch (reason) {
    case Unjudged::No: return "";
    case Unjudged::TooLarge: return "too_large";
    case Unjudged::TimeBudget: return "time_budget";
    case Unjudged::Overloaded: return "overloaded";
    case Unjudged::Internal: return "internal";
  }
  return "";
}

// One loaded image and the evaluators made for it. A message holds the generation it
// started with (shared_ptr), so a swap never pulls the program from under it.
struct Service::Generation {
  Generation(mp_program* p, const mp_config* c) : program(p), config(c) {}
  ~Generation() {
    for (mp_evaluator* e : idle) mp_evaluator_free(e);
    mp_program_free(program);
  }
  mp_evaluator* acquire(mp_error* err) {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        mp_evaluator* e = idle.back();
        idle.pop_back();
        return e;
      }
    }
    return mp_evaluator_new(program, config, err);
  }
  void release(mp_evaluator* e) {
    std::lock_guard lock(mutex);
    idle.push_back(e);
  }

  mp_program* program;
  const mp_config* config;
  std::mutex mutex;
  std::vector<mp_evaluator*> idle;
};

namespace {

struct stat file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) st = {};
  return st;
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

mp_envelope* make_envelope(const Session& s) {
  mp_envelope* e = mp_envelope_new();
  if (e == nullptr) return nullptr;
  mp_envelope_set_client_ip(e, s.client_ip.c_str(), nullptr);  // not an address ("unknown"): no client.ip
  mp_envelope_set_helo(e, s.helo.c_str(), nullptr);
  mp_envelope_set_sender(e, s.sender.c_str(), nullptr);
  for (const auto& r : s.recipients) mp_envelope_add_recipient(e, r.c_str(), nullptr);
  mp_envelope_set_auth_user(e, s.auth_user.c_str(), nullptr);
  mp_envelope_set_tls_version(e, s.tls_version.c_str(), nullptr);
  return e;
}

const char* or_empty(const char* s) {
  return s ? s : "";
}

}  // namespace

// ---- Service ---------------------------------------------------------------------

Service::Service(const Config& config, Metrics& metrics, JsonLog& log)
    : config_(config), metrics_(metrics), log_(log), library_(mp_config_new()) {
  if (library_ == nullptr) throw std::runtime_error("out of memory");
  for (const auto& setting : config_.library) {
    mp_error err;
    if (mp_config_set(library_, setting.key.c_str(), setting.value.c_str(), &err) != MP_OK) {
      mp_config_free(library_);
      throw std::runtime_error(config_.path + ":" + std::to_string(setting.line) + ": " + err.message);
    }
  }
  if (std::string error; !reload("start", &error)) {
    mp_config_free(library_);
    throw std::runtime_error(config_.path + ": image: " + error);
  }
}

Service::~Service() {
  current_.reset();
  mp_config_free(library_);
}

std::shared_ptr<Service::Generation> Service::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::string Service::program_id() const {
  auto generation = current();
  return generation ? mp_program_id(generation->program) : "";
}

bool Service::changed() const {
  struct stat now = file_identity(config_.image);
  std::lock_guard lock(mutex_);
  return !same_file(now, loaded_stat_);
}

bool Service::reload(const char* trigger, std::string* error) {
  struct stat before = file_identity(config_.image);
  mp_error err;
  mp_program* program = mp_program_load_file(config_.image.c_str(), &err);
  if (program == nullptr) {
    {
      std::lock_guard lock(mutex_);
      loaded_stat_ = before;  // do not retry the same broken file on every poll
    }
    metrics_.count("mailpolicy_reloads_total", {{"result", "failed"}});
    log_.write({{"event", "reload"},
                {"trigger", trigger},
                {"result", "failed"},
                {"image", config_.image},
                {"error", err.message},
                {"serving", program_id()}});
    if (error) *error = err.message;
    return false;
  }
  auto generation = std::make_shared<Generation>(program, library_);
  std::string id = mp_program_id(program);
  {
    std::lock_guard lock(mutex_);
    current_ = std::move(generation);
    loaded_stat_ = before;
  }
  metrics_.count("mailpolicy_reloads_total", {{"result", "ok"}});
  metrics_.replace("mailpolicy_image_info", {{"id", id}}, 1);
  log_.write({{"event", "reload"},
              {"trigger", trigger},
              {"result", "ok"},
              {"image", config_.image},
              {"serving", id}});
  return true;
}

Judgement Service::judge(const Session& session, const std::string& bytes, bool oversized) {
  const auto start = std::chrono::steady_clock::now();
  auto generation = current();
  int inflight = ++inflight_;
  metrics_.set("mailpolicy_in_flight", {}, inflight);
  Judgement j;
  if (oversized) {
    j.unjudged = Unjudged::TooLarge;
    j.error = fmt::format("message over limits.max_message_bytes ({})", config_.max_message_bytes);
  } else if (inflight > config_.max_inflight) {
    j.unjudged = Unjudged::Overloaded;
    j.error = fmt::format("{} evaluations in flight (limits.max_inflight = {})", inflight - 1,
                          config_.max_inflight);
  } else {
    mp_error err;
    std::unique_ptr<mp_envelope, void (*)(mp_envelope*)> envelope(make_envelope(session), mp_envelope_free);
    mp_evaluator* evaluator = envelope ? generation->acquire(&err) : nullptr;
    if (evaluator != nullptr) {
      j.verdict.reset(mp_evaluate(evaluator, bytes.data(), bytes.size(), envelope.get(), &err));
      generation->release(evaluator);
    }
    if (!j.verdict) {
      j.unjudged = err.code == MP_ERR_TOO_LARGE ? Unjudged::TooLarge : Unjudged::Internal;
      j.error = envelope ? err.message : "out of memory";
    } else if (mp_verdict_seconds(j.verdict.get()) * 1000 > config_.time_budget_ms) {
      j.unjudged = Unjudged::TimeBudget;
      j.error = fmt::format("evaluation took {:.3f} s, over limits.time_budget_ms ({})",
                            mp_verdict_seconds(j.verdict.get()), config_.time_budget_ms);
    }
  }
  metrics_.set("mailpolicy_in_flight", {}, --inflight_);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  record(session, j, seconds, mp_program_id(generation->program));
  return j;
}

namespace {

// One {"recipients", "action", "stage", "rule", "text"} per outcome, for the log line.
json per_recipient_json(const mp_verdict* v) {
  json outcomes = json::array();
  for (size_t i = 0; i < mp_verdict_split_count(v); ++i) {
    const mp_verdict* o = mp_verdict_split(v, i);
    json recipients = json::array();
    for (size_t r = 0; r < mp_verdict_recipient_count(o); ++r)
      recipients.push_back(mp_verdict_recipient(o, r));
    outcomes.push_back({{"recipients", recipients},
                        {"action", mp_action_name(mp_verdict_action(o))},
                        {"stage", mp_verdict_stage(o) ? json(mp_verdict_stage(o)) : json(nullptr)},
                        {"rule", mp_verdict_rule(o) ? json(mp_verdict_rule(o)) : json(nullptr)},
                        {"text", mp_verdict_text(o)}});
  }
  return outcomes;
}

}  // namespace

uint64_t Service::recipient_class(const Session& session, const std::string& recipient) {
  std::shared_ptr<Generation> generation = current();
  mp_evaluator* evaluator = generation->acquire(nullptr);
  if (evaluator == nullptr) return 0;
  uint64_t out = 0;
  Session envelope_only = session;
  envelope_only.recipients.clear();
  if (mp_envelope* e = make_envelope(envelope_only)) {
    if (mp_recipient_class(evaluator, e, recipient.c_str(), &out, nullptr) != MP_OK) out = 0;
    mp_envelope_free(e);
  }
  generation->release(evaluator);
  return out;
}

void Service::record_deferred_recipient(const Session& s, const std::string& recipient) {
  metrics_.count("mailpolicy_recipients_deferred_total", {});
  log_.write({{"event", "recipient_deferred"},
              {"client_ip", s.client_ip},
              {"sender", s.sender},
              {"recipient", recipient},
              {"first_recipient", s.recipients.empty() ? "" : s.recipients.front()}});
}

void Service::record(const Session& s, const Judgement& j, double seconds, const std::string& program) {
  json line = {{"event", "message"},       {"queue_id", s.queue_id}, {"client_ip", s.client_ip},
               {"helo", s.helo},           {"sender", s.sender},     {"recipients", s.recipients},
               {"auth_user", s.auth_user}, {"tls", s.tls_version},   {"seconds", seconds},
               {"image", program}};
  metrics_.observe("mailpolicy_evaluation_seconds", {}, seconds);
  if (j.unjudged != Unjudged::No) {
    metrics_.count("mailpolicy_unjudged_total", {{"reason", unjudged_name(j.unjudged)}});
    line["unjudged"] = unjudged_name(j.unjudged);
    line["error"] = j.error;
    line["on_error"] = config_.on_error == OnError::Tempfail ? "tempfail" : "accept";
    return log_.write(line);
  }
  const mp_verdict* v = j.verdict.get();
  const char* action = mp_action_name(mp_verdict_action(v));
  metrics_.count(
      "mailpolicy_verdicts_total",
      {{"action", action}, {"stage", or_empty(mp_verdict_stage(v))}, {"rule", or_empty(mp_verdict_rule(v))}});
  line["action"] = action;
  line["stage"] = mp_verdict_stage(v) ? json(mp_verdict_stage(v)) : json(nullptr);
  line["rule"] = mp_verdict_rule(v) ? json(mp_verdict_rule(v)) : json(nullptr);
  line["location"] = mp_verdict_location(v) ? json(mp_verdict_location(v)) : json(nullptr);
  line["fact"] = mp_verdict_fact(v) ? json(mp_verdict_fact(v)) : json(nullptr);
  line["score"] = mp_verdict_score(v);
  line["text"] = mp_verdict_text(v);
  json tags = json::array(), facts = json::array();
  for (size_t i = 0; i < mp_verdict_tag_count(v); ++i) tags.push_back(mp_verdict_tag(v, i));
  for (size_t i = 0; i < mp_verdict_fact_count(v); ++i) {
    mp_fact f;
    mp_verdict_fact_at(v, i, &f);
    facts.push_back(
        {{"fact", f.name}, {"value", f.value}, {"seconds", f.seconds}, {"temperror", f.temp_error != 0}});
    metrics_.observe("mailpolicy_fact_seconds", {{"fact", f.name}}, f.seconds);
    if (f.temp_error) metrics_.count("mailpolicy_fact_errors_total", {{"fact", f.name}});
  }
  line["tags"] = tags;
  line["facts"] = facts;
  if (mp_verdict_banner_count(v) > 0) {
    const bool edited = mp_verdict_body(v, nullptr) != nullptr;
    line["banners"] = edited ? "added" : mp_verdict_body_note(v);
    if (!edited) metrics_.count("mailpolicy_banners_not_added_total", {});
  }
  if (mp_verdict_url_rewrite(v) != nullptr) line["urls_rewritten"] = mp_verdict_urls_rewritten(v);
  if (mp_verdict_split_count(v) > 0) line["per_recipient"] = per_recipient_json(v);
  const mp_state_errors state_errors = mp_verdict_state_errors(v);
  if (state_errors.facts + state_errors.learning > 0) {
    line["state_errors"] = {{"facts", state_errors.facts}, {"learning", state_errors.learning}};
    metrics_.count("mailpolicy_state_errors_total", {{"op", "facts"}},
                   static_cast<double>(state_errors.facts));
    metrics_.count("mailpolicy_state_errors_total", {{"op", "learning"}},
                   static_cast<double>(state_errors.learning));
  }
  log_.write(line);
}

}  // namespace mp::policyd
