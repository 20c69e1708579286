// Verdict rendering for policyc run.
#include "report/report.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace mp::report {

namespace {

using nlohmann::json;

json evidence_json(const vm::Evidence& e) {
  json j = {{"field", e.field}, {"test", e.test}, {"item", e.item}, {"excerpt", e.excerpt}};
  if (!e.item_name.empty()) j["item_name"] = e.item_name;
  if (e.offset >= 0) j["offset"] = e.offset;
  if (e.end >= 0) j["end"] = e.end;
  return j;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

namespace {

json trace_json(const vm::Verdict& v) {
  json trace = json::array();
  for (const auto& r : v.trace) {
    json tests = json::array();
    for (const auto& t : r.tests) {
      tests.push_back({{"field", t.field}, {"test", t.test}, {"result", t.result}, {"detail", t.detail}});
    }
    trace.push_back({{"rule", r.name},
                     {"stage", r.stage},
                     {"location", r.location},
                     {"outcome", std::string(vm::outcome_name(r.outcome))},
                     {"note", r.note},
                     {"tests", tests}});
  }
  return trace;
}

// What the policy decided and did: the keys a per-recipient outcome repeats.
json decision_json(const vm::Verdict& v) {
  json j;
  j["action"] = std::string(vm::action_name(v.action));
  j["rule"] = v.rule ? json(v.rule_name) : json(nullptr);
  j["stage"] = v.rule ? json(v.stage_name) : json(nullptr);
  j["location"] = v.rule ? json(v.location) : json(nullptr);
  j["fact"] = v.fact.empty() ? json(nullptr) : json(v.fact);
  j["score"] = v.score;
  j["direction"] = std::string(vm::direction_name(v.direction));
  j["text"] = v.text;
  j["tags"] = v.tags;
  j["banners"] = v.banners;
  if (v.url_rewrite) {
    j["url_rewrite"] = {{"target", v.url_rewrite->target}, {"skip_domains", v.url_rewrite->skip_domains}};
  } else {
    j["url_rewrite"] = nullptr;
  }
  json contributions = json::array();
  for (const auto& c : v.contributions) {
    contributions.push_back({{"rule", c.rule}, {"stage", c.stage}, {"score", c.delta}, {"reason", c.reason}});
  }
  j["contributions"] = contributions;
  json fired = json::array();
  for (const auto& f : v.fired) {
    json evidence = json::array();
    for (const auto& e : f.evidence) evidence.push_back(evidence_json(e));
    fired.push_back({{"rule", f.name}, {"stage", f.stage}, {"location", f.location}, {"evidence", evidence}});
  }
  j["fired"] = fired;
  json added = json::array();
  for (const auto& [name, value] : v.added_headers) added.push_back({{"name", name}, {"value", value}});
  j["add_headers"] = added;
  j["remove_headers"] = v.removed_headers;
  j["log"] = v.logs;
  if (!v.trace.empty()) j["trace"] = trace_json(v);
  return j;
}

}  // namespace

std::string verdict_json(const std::string& file, const vm::Verdict& v,
                         const std::vector<std::pair<std::string, std::string>>& auth) {
  json j = decision_json(v);
  j["file"] = file;
  if (!auth.empty()) {
    json results = json::object();
    for (const auto& [method, result] : auth) results[method] = result;
    j["auth"] = results;
  }
  json facts = json::array();
  for (const auto& f : v.facts) {
    facts.push_back(
        {{"fact", f.name}, {"value", f.value}, {"detail", f.detail}, {"temperror", f.temp_error}});
  }
  j["facts"] = facts;
  if (!v.trace.empty()) j["defects"] = v.defects;
  if (!v.per_recipient.empty()) {
    json outcomes = json::array();
    for (const auto& o : v.per_recipient) {
      json outcome = decision_json(o.verdict);
      outcome["recipients"] = o.recipients;
      outcomes.push_back(std::move(outcome));
    }
    j["per_recipient"] = outcomes;
  }
  return dump(j);
}

std::string error_json(const std::string& file, const std::string& error) {
  return dump(json{{"file", file}, {"error", error}});
}

namespace {

// The rule-by-rule trace, grouped by stage, read top-down.
std::string trace_text(const vm::Verdict& v) {
  std::string out;
  std::string stage;
  for (const auto& r : v.trace) {
    if (r.stage != stage) {
      stage = r.stage;
      out += fmt::format("  stage {}\n", stage);
    }
    out += fmt::format("    rule {} ({}): {}", r.name, r.location, vm::outcome_name(r.outcome));
    if (!r.note.empty()) out += " — " + r.note;
    out += "\n";
    for (const auto& t : r.tests) {
      out += fmt::format("      {} {}: {}", t.field, t.test, t.result ? "true" : "false");
      if (!t.detail.empty()) out += " — " + t.detail;
      out += "\n";
    }
  }
  if (v.rules_not_reached > 0) {
    out += fmt::format("  ({} later rules not evaluated: a terminal action decided)\n", v.rules_not_reached);
  }
  return out;
}

}  // namespace

namespace {

std::string decision_text(const std::string& file, const vm::Verdict& v, bool explain) {
  std::string out = fmt::format("{}: {}", file, vm::action_name(v.action));
  if (v.rule)
    out += fmt::format(" by {}.{} ({})", v.stage_name, v.rule_name, v.location);
  else if (!v.fact.empty())
    out += fmt::format(" by fact {} (rule {}.{} at {})", v.fact, v.stage_name, v.rule_name, v.location);
  else if (v.action != vm::Action::Deliver)
    out += " by score";
  out += fmt::format("  score={:g} direction={}", v.score, vm::direction_name(v.direction));
  if (!v.text.empty()) out += fmt::format("  \"{}\"", v.text);
  for (const auto& t : v.tags) out += fmt::format("  tag=\"{}\"", t);
  if (!v.banners.empty()) out += fmt::format("  banners={}", v.banners.size());
  if (v.url_rewrite) out += "  rewrite-urls";
  out += "\n";
  if (!explain) return out;
  for (const auto& f : v.facts) {
    out += fmt::format("  fact {} = {}", f.name, f.value.empty() ? "(no value)" : f.value);
    if (!f.detail.empty()) out += " — " + f.detail;
    out += "\n";
  }
  for (const auto& defect : v.defects) out += "  message defect " + defect + "\n";
  out += trace_text(v);
  for (const auto& c : v.contributions) {
    out += fmt::format("  score {:+g} from {}.{}: {}\n", c.delta, c.stage, c.rule, c.reason);
  }
  if (!v.fact.empty()) {
    out += fmt::format("  decided by fact {}: {}\n", v.fact, v.text);
  } else if (!v.rule) {
    out += fmt::format("  decided by score {:g}: {}\n", v.score,
                       v.action == vm::Action::Deliver ? "below the quarantine threshold" : v.text);
  }
  for (const auto& [name, value] : v.added_headers) out += fmt::format("  add header {}: {}\n", name, value);
  for (const auto& name : v.removed_headers) out += fmt::format("  remove header {}\n", name);
  for (const auto& line : v.logs) out += fmt::format("  log \"{}\"\n", line);
  for (const auto& text : v.banners) out += fmt::format("  banner \"{}\"\n", text);
  if (v.url_rewrite) {
    out += fmt::format("  rewrite urls \"{}\"", v.url_rewrite->target);
    if (!v.url_rewrite->skip_domains.empty())
      out += fmt::format(" except {}", fmt::join(v.url_rewrite->skip_domains, ", "));
    out += "\n";
  }
  return out;
}

}  // namespace

// One line (with --explain, one section) per outcome when the recipients' verdicts
// differ, each led by the recipients it is for.
std::string verdict_text(const std::string& file, const vm::Verdict& v, bool explain) {
  if (v.per_recipient.empty()) return decision_text(file, v, explain);
  std::string out = fmt::format("{}: {} verdicts for its recipients\n", file, v.per_recipient.size());
  for (const auto& o : v.per_recipient) {
    std::string part =
        decision_text(fmt::format("  for {}", fmt::join(o.recipients, ", ")), o.verdict, explain);
    for (size_t at = part.find('\n'); at != std::string::npos && at + 1 < part.size();
         at = part.find('\n', at + 1))
      part.insert(at + 1, "  ");
    out += part;
  }
  return out;
}

}  // namespace mp::report
