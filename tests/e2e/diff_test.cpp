// End-to-end tests of `policyc diff OLD NEW CORPUS...` (tools/cmd_diff.cpp): the
// example policy against itself changes nothing; against a modified copy (quarantine
// threshold 2, rule open_sesame deleted) the changes are exactly those found by running
// `policyc run --format json` with each policy; the output does not depend on --jobs;
// the JSON keys; Maildir folders (tmp/ skipped); unreadable inputs; policies that do
// not load; and, when the SpamAssassin corpus is there, the whole corpus.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_util.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace mp::e2e;

const fs::path kExampleDir = fs::path(MP_SOURCE_DIR) / "examples" / "widget";
const fs::path kPolicy = kExampleDir / "policy.mp";
const fs::path kMail = kExampleDir / "mail";
const fs::path kSpamAssassin = fs::path(MP_CORPUS_DIR) / "spamassassin-public";

// The envelope under which open-sesame-outbound.eml is outbound (expected.txt).
const std::vector<std::string> kOutbound = {"--client-ip", "203.0.113.10", "--sender", "someone@widget.com",
                                            "--rcpt", "partner@example.org"};

// Failure messages show at most this much of a run's stdout (diff reports can be long).
constexpr size_t kShownStdout = 4000;

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The example policy, modified: quarantine threshold 5.0 -> 2, rule open_sesame deleted;
// written with the list files it reads. Returns the policy's path.
fs::path write_modified_policy(const fs::path& dir) {
  std::string policy = read_text(kPolicy);
  const std::string threshold = "spam.threshold.quarantine = 5.0";
  size_t at = policy.find(threshold);
  EXPECT_NE(at, std::string::npos) << "the example policy changed: no `" << threshold << "`";
  if (at != std::string::npos) policy.replace(at, threshold.size(), "spam.threshold.quarantine = 2");
  const std::string rule =
      "  rule open_sesame (outbound):\n"
      "    if body contains \"Cogito Ergo Sum (I think, therefore I am)\" then allow\n";
  at = policy.find(rule);
  EXPECT_NE(at, std::string::npos) << "the example policy changed: no rule open_sesame as expected";
  if (at != std::string::npos) policy.erase(at, rule.size());
  fs::path path = dir / "policy.mp";
  write_text(path, policy);
  fs::copy_file(kExampleDir / "execs.txt", dir / "execs.txt", fs::copy_options::overwrite_existing);
  fs::copy_file(kExampleDir / "exec-names.txt", dir / "exec-names.txt", fs::copy_options::overwrite_existing);
  return path;
}

json parse_json(const RunResult& r) {
  EXPECT_EQ(r.lines().size(), 1u) << "one JSON object on one line\n" << describe(r, kShownStdout);
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object()) << "not a JSON object\n" << describe(r, kShownStdout);
  return j.is_object() ? j : json::object();
}

// ---- Expected changes, from `policyc run` -------------------------------------

struct Side {
  std::string action;
  json rule, stage;  // string or null
  double score = 0;
  bool operator==(const Side&) const = default;
};

Side side_of(const json& j) {
  return {j.value("action", "?"), j.value("rule", json()), j.value("stage", json()), j.value("score", -1.0)};
}

std::string show(const Side& s) {
  return s.action + " rule=" + s.rule.dump() + " stage=" + s.stage.dump() + " score=" + std::to_string(s.score);
}

struct Change {
  Side before, after;
  std::string cause;
};

// file -> verdict side of `policyc run --format json POLICY CORPUS ENVELOPE`.
std::map<std::string, Side> verdicts(const fs::path& policy, const std::vector<std::string>& corpus,
                                     const std::vector<std::string>& envelope) {
  RunResult r = run_policyc(concat(concat({"run", "--format", "json", policy.string()}, corpus), envelope));
  EXPECT_EQ(r.status, 0) << describe(r, kShownStdout);
  std::map<std::string, Side> out;
  for (const auto& line : r.lines()) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("file")) {
      ADD_FAILURE() << "bad verdict line: " << line;
      continue;
    }
    out[j["file"].get<std::string>()] = side_of(j);
  }
  return out;
}

std::map<std::string, Change> expected_changes(const fs::path& before, const fs::path& after,
                                               const std::vector<std::string>& corpus,
                                               const std::vector<std::string>& envelope) {
  std::map<std::string, Side> a = verdicts(before, corpus, envelope), b = verdicts(after, corpus, envelope);
  EXPECT_EQ(a.size(), b.size());
  std::map<std::string, Change> out;
  for (const auto& [file, old_side] : a) {
    if (!b.count(file)) {
      ADD_FAILURE() << file << " missing from the second run";
      continue;
    }
    const Side& new_side = b.at(file);
    bool changed = old_side.action != new_side.action || old_side.rule != new_side.rule ||
                   old_side.stage != new_side.stage || std::fabs(old_side.score - new_side.score) > 1e-9;
    if (!changed) continue;
    std::string cause = !new_side.rule.is_null()   ? "new: " + new_side.stage.get<std::string>() + "." +
                                                       new_side.rule.get<std::string>()
                        : !old_side.rule.is_null() ? "old: " + old_side.stage.get<std::string>() + "." +
                                                       old_side.rule.get<std::string>()
                                                   : "score";
    out[file] = {old_side, new_side, cause};
  }
  return out;
}

// file -> change, as `policyc diff --format json` reports them.
std::map<std::string, Change> reported_changes(const json& report) {
  std::map<std::string, Change> out;
  for (const auto& group : report.value("groups", json::array())) {
    std::string cause = group.value("cause", "");
    EXPECT_EQ(group.value("count", -1), static_cast<int>(group.value("messages", json::array()).size()))
        << group.dump();
    for (const auto& m : group.value("messages", json::array())) {
      std::string file = m.value("file", "");
      EXPECT_FALSE(out.count(file)) << file << " reported twice";
      out[file] = {side_of(m.value("old", json::object())), side_of(m.value("new", json::object())), cause};
    }
  }
  return out;
}

void expect_same_changes(const std::map<std::string, Change>& expected, const std::map<std::string, Change>& got) {
  EXPECT_EQ(expected.size(), got.size());
  for (const auto& [file, change] : expected) {
    auto it = got.find(file);
    if (it == got.end()) {
      ADD_FAILURE() << "diff does not report " << file << ": " << show(change.before) << " -> " << show(change.after);
      continue;
    }
    EXPECT_EQ(change.before, it->second.before) << file << ": " << show(change.before) << " vs " << show(it->second.before);
    EXPECT_EQ(change.after, it->second.after) << file << ": " << show(change.after) << " vs " << show(it->second.after);
    EXPECT_EQ(change.cause, it->second.cause) << file;
  }
  for (const auto& [file, change] : got) {
    EXPECT_TRUE(expected.count(file)) << "diff reports " << file << " which did not change: " << show(change.before)
                                      << " -> " << show(change.after);
  }
}

size_t count_messages(const fs::path& policy, const std::vector<std::string>& corpus) {
  return verdicts(policy, corpus, {}).size();
}

// ---- Tests --------------------------------------------------------------------

TEST(PolicyDiff, PolicyAgainstItselfChangesNothing) {
  RunResult r = run_policyc({"diff", "--format", "json", kPolicy.string(), kPolicy.string(), kMail.string()});
  EXPECT_EQ(r.status, 0) << describe(r, kShownStdout);
  json j = parse_json(r);
  EXPECT_EQ(j.value("changed", -1), 0) << describe(r, kShownStdout);
  EXPECT_EQ(j.value("errors", -1), 0) << describe(r, kShownStdout);
  EXPECT_EQ(j.value("messages", -1), static_cast<int>(count_messages(kPolicy, {kMail.string()})));
  EXPECT_EQ(j.value("messages", -1), 15) << "14 files, one of them an mbox of two";
  EXPECT_EQ(j.value("groups", json(nullptr)), json::array());
  EXPECT_EQ(j.value("transitions", json(nullptr)), json::array());

  // A compiled image against its source: the same verdicts.
  TempDir dir;
  fs::path image = dir.path() / "policy.pbc";
  RunResult build = run_policyc({"build", kPolicy.string(), "-o", image.string()});
  ASSERT_EQ(build.status, 0) << describe(build, kShownStdout);
  RunResult from_image = run_policyc({"diff", "--format", "json", image.string(), kPolicy.string(), kMail.string()});
  EXPECT_EQ(from_image.status, 0) << describe(from_image, kShownStdout);
  EXPECT_EQ(parse_json(from_image).value("messages", -1), 15) << describe(from_image, kShownStdout);

  RunResult text = run_policyc({"diff", kPolicy.string(), kPolicy.string(), kMail.string()});
  EXPECT_EQ(text.status, 0) << describe(text, kShownStdout);
  EXPECT_NE(text.out.find("messages: 15\n"), std::string::npos) << describe(text, kShownStdout);
  EXPECT_NE(text.out.find("changed: 0\n"), std::string::npos) << describe(text, kShownStdout);
  EXPECT_NE(text.out.find("errors: 0\n"), std::string::npos) << describe(text, kShownStdout);
}

TEST(PolicyDiff, ModifiedPolicyReportsExactlyTheChangedVerdicts) {
  TempDir dir;
  fs::path modified = write_modified_policy(dir.path());
  RunResult check = run_policyc({"check", modified.string()});
  ASSERT_EQ(check.status, 0) << describe(check, kShownStdout);

  // Both ways round: modified -> original has new deciding rules (open_sesame again).
  for (const auto& [before, after] : {std::pair{kPolicy, modified}, std::pair{modified, kPolicy}}) {
    for (const auto& envelope : {std::vector<std::string>{}, kOutbound}) {
      SCOPED_TRACE("envelope: " + json(envelope).dump() + " old: " + before.string());
      RunResult r = run_policyc(
          concat({"diff", "--format", "json", before.string(), after.string(), kMail.string()}, envelope));
      json j = parse_json(r);
      std::map<std::string, Change> expected = expected_changes(before, after, {kMail.string()}, envelope);
      ASSERT_FALSE(expected.empty()) << "the modification should change some verdicts";
      EXPECT_EQ(r.status, 1) << describe(r, kShownStdout);
      EXPECT_EQ(j.value("messages", -1), 15) << describe(r, kShownStdout);
      EXPECT_EQ(j.value("changed", -1), static_cast<int>(expected.size())) << describe(r, kShownStdout);
      EXPECT_EQ(j.value("errors", -1), 0) << describe(r, kShownStdout);
      expect_same_changes(expected, reported_changes(j));
      std::map<std::pair<std::string, std::string>, int> counts;
      for (const auto& [file, change] : expected) {
        if (change.before.action != change.after.action)
          ++counts[{change.before.action, change.after.action}];
      }
      json transitions = json::array();
      for (const auto& [key, count] : counts)
        transitions.push_back({{"from", key.first}, {"to", key.second}, {"count", count}});
      EXPECT_EQ(j.value("transitions", json::array()), transitions) << describe(r, kShownStdout);
    }
  }

  // Known by hand. Default envelope (Return-Path, no client IP: everything inbound;
  // the messages copied without their sidecars): exec-real and open-sesame-outbound
  // score 4 (own domain from outside), now over 2.
  const fs::path bare = dir.path() / "bare";
  for (const auto& entry : fs::directory_iterator(kMail)) {
    if (entry.path().extension() != ".env")
      write_text(bare / entry.path().filename(), read_text(entry.path()));
  }
  RunResult plain =
      run_policyc({"diff", "--format", "json", kPolicy.string(), modified.string(), bare.string()});
  json j = parse_json(plain);
  std::map<std::string, Change> got = reported_changes(j);
  std::set<std::string> files;
  for (const auto& [file, change] : got) files.insert(fs::path(file).filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"exec-real.eml", "open-sesame-outbound.eml"})) << describe(plain, kShownStdout);
  EXPECT_EQ(j.value("transitions", json::array()),
            json::parse(R"([{"from": "deliver", "to": "quarantine", "count": 2}])"))
      << describe(plain, kShownStdout);
  std::string real = (bare / "exec-real.eml").string();
  ASSERT_TRUE(got.count(real)) << describe(plain, kShownStdout);
  EXPECT_EQ(got[real].cause, "score");
  EXPECT_EQ(got[real].before.action, "deliver");
  EXPECT_EQ(got[real].after.action, "quarantine");
  EXPECT_DOUBLE_EQ(got[real].after.score, 4.0);

  // Outbound: open_sesame no longer allows the catch-phrase mail.
  RunResult outbound = run_policyc(concat(
      {"diff", "--format", "json", kPolicy.string(), modified.string(), (kMail / "open-sesame-outbound.eml").string()},
      kOutbound));
  json o = parse_json(outbound);
  EXPECT_EQ(outbound.status, 1) << describe(outbound, kShownStdout);
  ASSERT_EQ(o.value("groups", json::array()).size(), 1u) << describe(outbound, kShownStdout);
  const json& group = o["groups"][0];
  EXPECT_EQ(group.value("cause", ""), "old: custom_filters.open_sesame") << describe(outbound, kShownStdout);
  EXPECT_EQ(group.value("count", 0), 1);
  const json& m = group["messages"][0];
  EXPECT_EQ(m["old"], json::parse(R"({"action":"allow","rule":"open_sesame","stage":"custom_filters","score":0.0})"));
  EXPECT_EQ(m["new"], json::parse(R"({"action":"deliver","rule":null,"stage":null,"score":0.0})"));
  EXPECT_EQ(o.value("transitions", json::array()),
            json::parse(R"([{"from": "allow", "to": "deliver", "count": 1}])"));

  // The other way round, the rule that now decides is the cause.
  RunResult back = run_policyc(concat(
      {"diff", "--format", "json", modified.string(), kPolicy.string(), (kMail / "open-sesame-outbound.eml").string()},
      kOutbound));
  json b = parse_json(back);
  ASSERT_EQ(b.value("groups", json::array()).size(), 1u) << describe(back, kShownStdout);
  EXPECT_EQ(b["groups"][0].value("cause", ""), "new: custom_filters.open_sesame") << describe(back, kShownStdout);
  EXPECT_EQ(b["groups"][0]["messages"][0].value("changes", json()), json::array({"action", "rule"})) << describe(back, kShownStdout);

  // The same in text: the group, the message line and the totals.
  RunResult text = run_policyc(concat(
      {"diff", kPolicy.string(), modified.string(), (kMail / "open-sesame-outbound.eml").string()}, kOutbound));
  EXPECT_EQ(text.status, 1) << describe(text, kShownStdout);
  EXPECT_NE(text.out.find("old: custom_filters.open_sesame — 1 changed\n"), std::string::npos) << describe(text, kShownStdout);
  EXPECT_NE(text.out.find("open-sesame-outbound.eml: allow (custom_filters.open_sesame) → deliver (by score)"),
            std::string::npos)
      << describe(text, kShownStdout);
  EXPECT_NE(text.out.find("  allow → deliver: 1\n"), std::string::npos) << describe(text, kShownStdout);
  EXPECT_NE(text.out.find("changed: 1\n"), std::string::npos) << describe(text, kShownStdout);
}

TEST(PolicyDiff, ScoreOnlyChangeIsReported) {
  // Same actions, same deciding rules, only the score moves: still a change, cause "score".
  TempDir dir;
  std::string policy = "if subject contains \"Urgent\" then score +1.5 \"urgent\"\n";
  write_text(dir.path() / "a.mp", policy);
  write_text(dir.path() / "b.mp", "if subject contains \"Urgent\" then score +1.25 \"urgent\"\n");
  write_text(dir.path() / "m.eml", "From: a@example.org\nSubject: Urgent\n\nhello\n");
  RunResult r = run_policyc({"diff", "--format", "json", (dir.path() / "a.mp").string(), (dir.path() / "b.mp").string(),
                             (dir.path() / "m.eml").string()});
  EXPECT_EQ(r.status, 1) << describe(r, kShownStdout);
  json j = parse_json(r);
  ASSERT_EQ(j.value("groups", json::array()).size(), 1u) << describe(r, kShownStdout);
  EXPECT_EQ(j["groups"][0]["cause"], "score");
  EXPECT_EQ(j["groups"][0]["messages"][0]["changes"], json::array({"score"}));
  EXPECT_EQ(j.value("transitions", json(nullptr)), json::array());
}

TEST(PolicyDiff, RuleOnlyChangeIsGroupedByTheNewRule) {
  TempDir dir;
  write_text(dir.path() / "a.mp", "stage s1 {\n  rule r_old:\n    if subject contains \"Urgent\" then quarantine \"x\"\n}\n");
  write_text(dir.path() / "b.mp", "stage s1 {\n  rule r_new:\n    if subject contains \"Urgent\" then quarantine \"x\"\n}\n");
  write_text(dir.path() / "m.eml", "From: a@example.org\nSubject: Urgent\n\nhello\n");
  write_text(dir.path() / "n.eml", "From: a@example.org\nSubject: calm\n\nhello\n");
  RunResult r = run_policyc({"diff", "--format", "json", (dir.path() / "a.mp").string(), (dir.path() / "b.mp").string(),
                             (dir.path() / "m.eml").string(), (dir.path() / "n.eml").string()});
  EXPECT_EQ(r.status, 1) << describe(r, kShownStdout);
  json j = parse_json(r);
  EXPECT_EQ(j.value("messages", -1), 2) << describe(r, kShownStdout);
  ASSERT_EQ(j.value("groups", json::array()).size(), 1u) << describe(r, kShownStdout);
  EXPECT_EQ(j["groups"][0]["cause"], "new: s1.r_new");
  EXPECT_EQ(j["groups"][0]["messages"][0]["changes"], json::array({"rule"}));
  EXPECT_EQ(j["groups"][0]["messages"][0]["old"]["rule"], "r_old");
  EXPECT_EQ(j.value("transitions", json(nullptr)), json::array()) << "the action did not change";
}

// A scratch corpus: the example mails, an mbox of every example mail, and the mbox.
fs::path write_mbox_corpus(const fs::path& dir) {
  std::string mbox;
  for (const auto& entry : fs::directory_iterator(kMail)) {
    if (entry.path().extension() != ".eml") continue;
    mbox += "From someone@example.org Mon Jan  1 00:00:00 2024\n" + read_text(entry.path());
    if (!mbox.ends_with("\n")) mbox += "\n";
  }
  fs::path path = dir / "all.mbox";
  write_text(path, mbox + mbox + mbox);
  return path;
}

TEST(PolicyDiff, OutputDoesNotDependOnJobs) {
  TempDir dir;
  fs::path modified = write_modified_policy(dir.path());
  fs::path mbox = write_mbox_corpus(dir.path());
  // One input that cannot be evaluated: its envelope sidecar is broken.
  fs::path broken = dir.path() / "broken" / "m.eml";
  write_text(broken, read_text(kMail / "plain-ham.eml"));
  write_text(broken.string() + ".env", "--client-ip nowhere\n");
  std::vector<std::string> corpus = {kMail.string(), mbox.string(), broken.string()};
  if (fs::is_directory(kSpamAssassin / "hard_ham")) corpus.push_back((kSpamAssassin / "hard_ham").string());
  for (const char* format : {"text", "json"}) {
    SCOPED_TRACE(format);
    RunResult one = run_policyc(
        concat({"diff", "--format", format, "--jobs", "1", kPolicy.string(), modified.string()}, corpus));
    RunResult two = run_policyc(
        concat({"diff", "--format", format, "--jobs", "2", kPolicy.string(), modified.string()}, corpus));
    RunResult many = run_policyc(
        concat({"diff", "--format", format, "--jobs", "7", kPolicy.string(), modified.string()}, corpus));
    EXPECT_EQ(one.status, 1) << describe(one, kShownStdout);
    EXPECT_EQ(two.status, 1) << describe(two, kShownStdout);
    EXPECT_EQ(one.out, two.out) << describe(one, kShownStdout) << describe(two, kShownStdout);
    EXPECT_EQ(one.out, many.out) << describe(one, kShownStdout) << describe(many, kShownStdout);
    EXPECT_EQ(one.err, "") << describe(one, kShownStdout);  // no progress bar: stderr is not a terminal
  }
  // And the count is right: as many messages as `policyc run` sees, one input broken.
  RunResult r = run_policyc(concat({"diff", "--format", "json", kPolicy.string(), modified.string()}, corpus));
  json j = parse_json(r);
  size_t expected = count_messages(kPolicy, {kMail.string(), mbox.string()});
  EXPECT_EQ(count_messages(kPolicy, {mbox.string()}), 39u) << "3 x 13 example .eml files";
  if (corpus.size() > 3) expected += count_messages(kPolicy, {corpus[3]});
  EXPECT_EQ(j.value("messages", 0), static_cast<int>(expected)) << describe(r, kShownStdout);
  EXPECT_EQ(j.value("errors", 0), 1) << describe(r, kShownStdout);
}

TEST(PolicyDiff, JsonHasTheDocumentedKeys) {
  TempDir dir;
  fs::path modified = write_modified_policy(dir.path());
  RunResult r = run_policyc({"diff", "--format", "json", kPolicy.string(), modified.string(), kMail.string()});
  json j = parse_json(r);
  for (const char* key : {"messages", "changed", "errors", "transitions", "groups"}) {
    EXPECT_TRUE(j.contains(key)) << "no `" << key << "`\n" << describe(r, kShownStdout);
  }
  EXPECT_TRUE(j["messages"].is_number_integer());
  EXPECT_TRUE(j["changed"].is_number_integer());
  EXPECT_TRUE(j["errors"].is_number_integer());
  EXPECT_TRUE(j["transitions"].is_array());
  ASSERT_TRUE(j["groups"].is_array());
  ASSERT_FALSE(j["groups"].empty()) << describe(r, kShownStdout);
  for (const auto& group : j["groups"]) {
    for (const char* key : {"cause", "count", "messages"}) EXPECT_TRUE(group.contains(key)) << key << group.dump();
    for (const auto& m : group["messages"]) {
      EXPECT_TRUE(m.contains("file") && m["file"].is_string()) << m.dump();
      for (const char* side : {"old", "new"}) {
        ASSERT_TRUE(m.contains(side) && m[side].is_object()) << m.dump();
        for (const char* key : {"action", "rule", "stage", "score"}) {
          EXPECT_TRUE(m[side].contains(key)) << side << " has no `" << key << "`: " << m.dump();
        }
        EXPECT_TRUE(m[side]["score"].is_number()) << m.dump();
      }
    }
  }
  // Groups sorted by cause, messages by file.
  std::vector<std::string> causes;
  for (const auto& group : j["groups"]) {
    causes.push_back(group["cause"]);
    std::vector<std::string> files;
    for (const auto& m : group["messages"]) files.push_back(m["file"]);
    EXPECT_TRUE(std::is_sorted(files.begin(), files.end())) << group.dump();
  }
  EXPECT_TRUE(std::is_sorted(causes.begin(), causes.end())) << describe(r, kShownStdout);
}

TEST(PolicyDiff, MaildirSkipsTmp) {
  TempDir dir;
  fs::path modified = write_modified_policy(dir.path());
  fs::path maildir = dir.path() / "corpus" / "Maildir";
  // cur/ and new/ hold unchanged messages; tmp/ (deliveries in progress) and a Maildir++
  // subfolder hold exec-real.eml, whose verdict changes.
  write_text(maildir / "cur" / "1700000000.1.host:2,S", read_text(kMail / "plain-ham.eml"));
  write_text(maildir / "new" / "1700000001.2.host", read_text(kMail / "invoice-scam.eml"));
  write_text(maildir / "tmp" / "1700000002.3.host", read_text(kMail / "exec-real.eml"));
  write_text(maildir / ".Sent" / "cur" / "1700000003.4.host:2,S", read_text(kMail / "exec-real.eml"));
  fs::create_directories(maildir / ".Sent" / "new");
  fs::create_directories(maildir / ".Sent" / "tmp");
  write_text(maildir / ".Sent" / "tmp" / "1700000004.5.host", read_text(kMail / "exec-real.eml"));

  RunResult r = run_policyc({"diff", "--format", "json", kPolicy.string(), modified.string(),
                             (dir.path() / "corpus").string()});
  json j = parse_json(r);
  EXPECT_EQ(j.value("messages", -1), 3) << "cur, new and .Sent/cur; not tmp\n" << describe(r, kShownStdout);
  EXPECT_EQ(j.value("errors", -1), 0) << describe(r, kShownStdout);
  EXPECT_EQ(j.value("changed", -1), 1) << describe(r, kShownStdout);
  EXPECT_EQ(r.out.find("/tmp/1700"), std::string::npos) << describe(r, kShownStdout);
  EXPECT_NE(r.out.find(".Sent/cur/1700000003.4.host:2,S"), std::string::npos) << describe(r, kShownStdout);

  // tmp/ is only special in a Maildir: elsewhere a folder named tmp is read.
  write_text(dir.path() / "plain" / "tmp" / "m.eml", read_text(kMail / "exec-real.eml"));
  RunResult plain = run_policyc({"diff", "--format", "json", kPolicy.string(), modified.string(),
                                 (dir.path() / "plain").string()});
  EXPECT_EQ(parse_json(plain).value("messages", -1), 1) << describe(plain, kShownStdout);
}

// A message that cannot be evaluated (here: its envelope sidecar is broken) is listed
// and counted, and the others are still compared.
TEST(PolicyDiff, UnreadableInputsAreCountedAndListed) {
  TempDir dir;
  fs::path broken = dir.write("broken.eml", read_text(kMail / "plain-ham.eml"));
  dir.write("broken.eml.env", "--client-ip nowhere\n");
  RunResult r = run_policyc({"diff", "--format", "json", kPolicy.string(), kPolicy.string(), broken.string(),
                             (kMail / "plain-ham.eml").string()});
  json j = parse_json(r);
  EXPECT_EQ(j.value("messages", -1), 1) << describe(r, kShownStdout);
  EXPECT_EQ(j.value("errors", -1), 1) << describe(r, kShownStdout);
  ASSERT_TRUE(j.contains("failed")) << describe(r, kShownStdout);
  std::string error = broken.string() + ".env: --client-ip nowhere is not an IP address";
  EXPECT_EQ(j["failed"], json::array({{{"file", broken.string()}, {"error", error}}}));
  EXPECT_EQ(r.status, 0) << "nothing changed\n" << describe(r, kShownStdout);

  RunResult text = run_policyc({"diff", kPolicy.string(), kPolicy.string(), broken.string()});
  EXPECT_NE(text.out.find(broken.string() + ": " + error), std::string::npos) << describe(text, kShownStdout);
  EXPECT_NE(text.out.find("errors: 1\n"), std::string::npos) << describe(text, kShownStdout);
}

// A corpus argument that does not exist is a usage error (cli_test.cpp has more).
TEST(PolicyDiff, MissingCorpusExitsTwo) {
  TempDir dir;
  fs::path missing = dir.path() / "no-such.eml";
  RunResult r = run_policyc({"diff", "--format", "json", kPolicy.string(), kPolicy.string(), missing.string(),
                             (kMail / "plain-ham.eml").string()});
  EXPECT_EQ(r.status, 2) << describe(r, kShownStdout);
  EXPECT_NE(r.err.find(missing.string() + ": no such file or directory"), std::string::npos) << describe(r);
}

TEST(PolicyDiff, PolicyThatDoesNotLoadExitsTwo) {
  TempDir dir;
  write_text(dir.path() / "broken.mp", "if size contains \"x\" then allow\n");
  RunResult r = run_policyc({"diff", kPolicy.string(), (dir.path() / "broken.mp").string(), kMail.string()});
  EXPECT_EQ(r.status, 2) << describe(r, kShownStdout);
  EXPECT_EQ(r.out, "") << describe(r, kShownStdout);
  EXPECT_NE(r.err.find("E020"), std::string::npos) << describe(r, kShownStdout);
  RunResult missing = run_policyc({"diff", (dir.path() / "none.mp").string(), kPolicy.string(), kMail.string()});
  EXPECT_EQ(missing.status, 2) << describe(missing, kShownStdout);
  RunResult bad_ip = run_policyc({"diff", kPolicy.string(), kPolicy.string(), kMail.string(), "--client-ip", "x"});
  EXPECT_EQ(bad_ip.status, 2) << describe(bad_ip, kShownStdout);
}

TEST(PolicyDiff, WholeSpamAssassinCorpus) {
  if (!fs::is_directory(kSpamAssassin)) GTEST_SKIP() << "no corpus at " << kSpamAssassin;
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kSpamAssassin)) files += entry.is_regular_file();
  EXPECT_EQ(files, 3249u);
  TempDir dir;
  fs::path modified = write_modified_policy(dir.path());
  std::vector<std::string> corpus;
  for (const char* part : {"easy_ham", "hard_ham", "spam"}) corpus.push_back((kSpamAssassin / part).string());
  std::string outputs[2];
  for (int jobs : {1, 2}) {
    auto start = std::chrono::steady_clock::now();
    RunResult r = run_policyc(concat({"diff", "--format", "json", "--jobs", std::to_string(jobs), kPolicy.string(),
                                      modified.string()},
                                     corpus));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    json j = parse_json(r);
    EXPECT_EQ(j.value("messages", -1), static_cast<int>(files)) << describe(r, kShownStdout);
    EXPECT_EQ(j.value("errors", -1), 0) << describe(r, kShownStdout);
    EXPECT_GT(j.value("changed", 0), 0) << "a threshold of 2 should quarantine something\n" << describe(r, kShownStdout);
    EXPECT_LT(seconds, 30.0);
    std::printf("[ timing   ] diff --jobs %d over %zu messages: %.2f s, %.0f messages/s\n", jobs, files, seconds,
                files / seconds);
    outputs[jobs - 1] = r.out;
  }
  EXPECT_EQ(outputs[0], outputs[1]);
}

}  // namespace
