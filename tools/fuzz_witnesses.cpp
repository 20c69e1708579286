// Witnesses as files (fuzz_witnesses.h).
#include "tools/fuzz_witnesses.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tools/mptest.h"
#include "tools/shared_facts.h"
#include "tools/stated_facts.h"

namespace mp::tools {

namespace fs = std::filesystem;

namespace {

vm::ProgramPtr load_image(const vm::ImageData& image) {
  std::string bytes = vm::write_image(image);
  return vm::Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

}  // namespace

VmJudge::VmJudge(const vm::ImageData& image, bool trace) : program_(load_image(image)), evaluator_(program_) {
  evaluator_.set_trace(trace);
}

vm::Verdict VmJudge::operator()(const explore::Witness& w) {
  return (*this)(w, runtime::Message::parse(w.message, program_->parse_options()));
}

vm::Verdict VmJudge::operator()(const explore::Witness& w, const runtime::Message& message) {
  std::vector<StatedFact> stated;
  for (const auto& [key, value] : w.facts) {
    std::optional<StatedFact> fact = parse_fact_key(key);
    if (!fact) throw std::runtime_error("fuzz wrote a fact no test can state: " + key);
    if (auto problem = parse_fact_value(*fact, value))
      throw std::runtime_error("fuzz wrote a fact value no test can state: " + key + ": " + *problem);
    stated.push_back(std::move(*fact));
  }
  SharedFacts computed(nullptr, FactAvailability{});
  StatedFacts facts(stated, computed);
  return evaluator_.evaluate(message, w.envelope, &facts);
}

explore::FuzzOptions search_options(double budget_seconds, unsigned solver_timeout_ms) {
  explore::FuzzOptions o;
  o.budget_seconds = budget_seconds;
  o.solver_timeout_ms = solver_timeout_ms;
  o.now = static_cast<double>(std::time(nullptr));
  o.free_solver = false;  // policyc exits after the report
  return o;
}

std::string counted(size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string file_safe(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_') c = '-';
    if (c != '-' || (!out.empty() && out.back() != '-')) out += c;  // "fires (seed)": fires-seed
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

void GoalTally::add(const explore::Goal& g) {
  switch (g.status) {
    case explore::GoalStatus::Found: ++found; break;
    case explore::GoalStatus::Impossible: ++impossible; break;
    case explore::GoalStatus::NotFound: ++not_found; break;
    case explore::GoalStatus::NotTried: ++not_tried; break;
  }
}

std::string GoalTally::text() const {
  return fmt::format("{} found, {} impossible, {} without a witness{}", found, impossible, not_found,
                     not_tried ? fmt::format(", {} not tried", not_tried) : "");
}

nlohmann::ordered_json GoalTally::json(size_t solver_queries, double seconds) const {
  return {{"found", found},         {"impossible", impossible},         {"not_found", not_found},
          {"not_tried", not_tried}, {"solver_queries", solver_queries}, {"seconds", seconds}};
}

std::string goal_reason(const explore::Goal& g) {
  switch (g.status) {
    case explore::GoalStatus::Found: break;
    case explore::GoalStatus::Impossible: return "impossible: " + g.why;
    case explore::GoalStatus::NotFound: return "no witness: " + g.why;
    case explore::GoalStatus::NotTried: return "not tried: " + g.why;
  }
  return "found";
}

nlohmann::ordered_json goal_json(const explore::Goal& g, const nlohmann::ordered_json& witness) {
  nlohmann::ordered_json j{{"status", explore::goal_status_name(g.status)}};
  if (g.status == explore::GoalStatus::Found)
    j["witness"] = witness;
  else
    j["why"] = g.why;
  j["seconds"] = std::round(g.seconds * 1000) / 1000;  // milliseconds are enough
  return j;
}

std::string approximated_line(const std::vector<std::string>& approximated) {
  if (approximated.empty()) return "";
  return fmt::format("tests the solver reads as unknowns (proofs hold; witnesses may miss): {}\n",
                     fmt::join(approximated, ", "));
}

std::string test_case(const std::string& name, const std::string& message_file, const explore::Witness& w,
                      const vm::Verdict& verdict) {
  const runtime::Envelope& e = w.envelope;
  std::string c = fmt::format("case: {}\n  message: {}\n", name, message_file);
  c += fmt::format("  sender: {}\n", e.sender.empty() ? "<>" : e.sender);
  for (const auto& rcpt : e.recipients) c += fmt::format("  rcpt: {}\n", rcpt);
  if (e.client_ip) c += fmt::format("  client-ip: {}\n", e.client_ip->str());
  if (!e.helo.empty()) c += fmt::format("  helo: {}\n", e.helo);
  if (!e.auth_user.empty()) c += fmt::format("  auth-user: {}\n", e.auth_user);
  for (const auto& [key, value] : w.facts)
    c += fmt::format("  {}: {}\n", key, value.empty() ? "none" : value);
  c += fmt::format("  action: {}\n  rule: {}\n", vm::action_name(verdict.action), rule_ref(verdict));
  for (const auto& fired : verdict.fired) c += fmt::format("  fired: {}.{}\n", fired.stage, fired.name);
  for (const auto& t : verdict.trace) {
    if (t.outcome == vm::RuleOutcome::NotMatched || t.outcome == vm::RuleOutcome::SkippedPrefilter)
      c += fmt::format("  not-fired: {}.{}\n", t.stage, t.name);
  }
  return c;
}

namespace {

// Writes `bytes` as DIR/NAME; throws std::runtime_error naming the file and the
// system's reason (a full disk shows at close, so the stream is checked after it).
void write_file(const std::string& dir, const std::string& name, const std::string& bytes) {
  const fs::path file = fs::path(dir) / name;
  std::ofstream out(file, std::ios::binary);
  out << bytes;
  out.close();
  if (!out) throw std::runtime_error(fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
}

}  // namespace

void write_test_file(const std::string& dir, const std::string& file, const std::string& comment,
                     const std::string& policy, const std::vector<std::string>& cases) {
  std::string text;
  std::istringstream lines(comment);
  for (std::string line; std::getline(lines, line);) text += "# " + line + "\n";
  std::error_code ec;
  fs::path relative = fs::relative(fs::absolute(policy), fs::absolute(dir), ec);
  text += fmt::format("policy: {}\n", (ec ? fs::absolute(policy) : relative).string());
  for (const auto& c : cases) text += "\n" + c;
  write_file(dir, file, text);
}

namespace {

// A case file of an earlier run is known by its first line (write_test_file's comment).
bool written_by_fuzz(std::istream& in) {
  std::string line;
  return in && std::getline(in, line) && line.starts_with("# Written by `policyc fuzz");
}

// The names witness_file gives: "001-….eml", in this directory.
bool witness_name(std::string_view name) {
  return name.size() > 8 && std::isdigit(static_cast<unsigned char>(name[0])) &&
         std::isdigit(static_cast<unsigned char>(name[1])) &&
         std::isdigit(static_cast<unsigned char>(name[2])) && name[3] == '-' && name.ends_with(".eml") &&
         name.find('/') == std::string_view::npos;
}

}  // namespace

namespace {

// Removes `file` when it is there; throws std::runtime_error when it stays.
void remove_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::remove(file, ec) && ec)
    throw std::runtime_error(fmt::format("cannot remove {}, which an earlier policyc fuzz wrote: {}",
                                         file.string(), ec.message()));
}

}  // namespace

void remove_earlier_witnesses(const std::string& dir) {
  for (const char* name : {"fuzz.mptest", "old.mptest", "new.mptest"}) {
    const fs::path file = fs::path(dir) / name;
    std::ifstream in(file);
    if (!written_by_fuzz(in)) continue;
    for (std::string line; std::getline(in, line);) {
      const std::string item = trim(line);
      if (!item.starts_with("message:")) continue;
      const std::string message = trim(std::string_view(item).substr(8));
      if (witness_name(message)) remove_file(fs::path(dir) / message);
    }
    in.close();
    remove_file(file);
  }
}

bool may_write(const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    const fs::path file = fs::path(dir) / name;
    std::error_code ec;
    if (!fs::exists(file, ec)) continue;
    std::ifstream in(file);
    if (name.ends_with(".mptest") && written_by_fuzz(in)) continue;
    std::cerr << fmt::format(
        "error: --out {}: {} is there and policyc fuzz did not write it{}; fuzz overwrites nothing of "
        "yours: move it or choose another --out\n",
        dir, name, name.ends_with(".mptest") ? " (its first line does not say so)" : "");
    return false;
  }
  return true;
}

bool write_messages(const std::string& dir, const std::vector<std::string>& names,
                    const std::vector<const std::string*>& messages) {
  if (!may_write(dir, names)) return false;
  for (size_t i = 0; i < names.size(); ++i) write_file(dir, names[i], *messages[i]);
  return true;
}

std::optional<std::string> out_dir_problem(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) return "is a file, not a directory";
  if (fs::create_directories(dir, ec); ec) return "cannot create it: " + ec.message();
  // Write access is what counts, and only a write shows it (permissions, read-only
  // mounts, ACLs): a file of fuzz's own is made and removed.
  const fs::path probe = fs::path(dir) / fmt::format(".policyc-fuzz-{}", ::getpid());
  std::ofstream out(probe, std::ios::binary);
  if (!out) return fmt::format("cannot write there: {}", std::strerror(errno));
  out.close();
  fs::remove(probe, ec);
  return std::nullopt;
}

int write_out(const std::string& dir, bool any, const std::function<int()>& write) {
  try {
    remove_earlier_witnesses(dir);
    // No case file without a case: `policyc test` refuses a file with none.
    return any ? write() : 0;
  } catch (const std::exception& e) {
    std::cerr << fmt::format("error: --out {}: {}\n", dir, e.what());
    return 2;
  }
}

}  // namespace mp::tools
