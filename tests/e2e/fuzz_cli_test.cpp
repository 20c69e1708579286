// policyc fuzz end to end: the example policy's rules all get witnesses, written as
// .eml files and a fuzz.mptest that `policyc test` replays green; a rule no message
// can fire is reported with the reason; seed mutation (libFuzzer's engine) reaches
// what the solver cannot write.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/e2e/e2e_util.h"
#include "vm/facts.h"
#include "vm/fields.h"

namespace mp::e2e {
namespace {

TEST(FuzzCli, WidgetWitnessesReplayThroughPolicycTest) {
  TempDir out;
  RunResult fuzz = run_policyc({"fuzz", std::string(MP_SOURCE_DIR) + "/examples/widget/policy.mp", "--out",
                                out.path().string(), "--format", "json", "--budget", "300"});
  ASSERT_EQ(fuzz.status, 0) << describe(fuzz);
  auto report = nlohmann::json::parse(fuzz.out);
  double goal_seconds = 0;  // where the budget went, goal by goal
  for (const auto& rule : report["rules"]) {
    for (const char* goal : {"fire", "not_fire"}) {
      EXPECT_EQ(rule[goal]["status"], "found")
          << rule["stage"] << "." << rule["name"] << " " << goal << ": " << rule[goal].value("why", "");
      ASSERT_TRUE(rule[goal]["seconds"].is_number()) << rule[goal];
      goal_seconds += rule[goal]["seconds"].get<double>();
    }
  }
  EXPECT_GT(goal_seconds, 0);
  EXPECT_LE(goal_seconds, report["summary"]["seconds"].get<double>());
  EXPECT_EQ(report["summary"]["rules"], 12);
  ASSERT_TRUE(std::filesystem::exists(out.path() / "fuzz.mptest"));
  size_t witnesses = report["witnesses"].size();
  RunResult replay = run_policyc({"test", out.path().string()});
  EXPECT_EQ(replay.status, 0) << describe(replay);
  EXPECT_EQ(replay.last_line(), std::to_string(witnesses) + " passed, 0 failed") << describe(replay);
}

TEST(FuzzCli, ARuleNoMessageCanFireIsReportedWithWhy) {
  TempDir dir;
  auto policy = dir.write("dead.mp", R"(stage custom_filters {
  rule dead:  # lint: allow(L002)
    if size > 10MB and size < 1MB then reject "550 5.7.1 never"
}
)");
  RunResult fuzz = run_policyc({"fuzz", policy.string()});
  ASSERT_EQ(fuzz.status, 0) << describe(fuzz);
  EXPECT_NE(fuzz.out.find("fires:         impossible: its condition can never be true"), std::string::npos)
      << describe(fuzz);
  EXPECT_NE(fuzz.out.find("1 rule, 2 goals: 1 found, 1 impossible"), std::string::npos) << describe(fuzz);
}

TEST(FuzzCli, APolicyThatDoesNotCompileGetsItsDiagnostics) {
  TempDir dir;
  auto policy = dir.write("bad.mp", "if subjct contains \"x\" then allow\n");
  RunResult fuzz = run_policyc({"fuzz", policy.string()});
  EXPECT_EQ(fuzz.status, 2) << describe(fuzz);
  EXPECT_NE(fuzz.err.find("bad.mp:1:4"), std::string::npos) << describe(fuzz);
}

TEST(FuzzCli, PropertiesFromASideFileAreCheckedInThePolicysScope) {
  TempDir dir;
  auto policy = dir.write("policy.mp", R"(settings {
  org.domains = [widget.com]
  org.sending_servers = [203.0.113.10]
}
const newsletter_host = "ccsend.constantcontact.com"
if header contains newsletter_host and sender is info@widget.com then allow  # lint: allow(L005, L006)
stage attachment_defense {
  rule executables:
    if attachments.type is "application/x-dosexec" then reject "550 5.7.1 no executables"
}
)");
  auto holds =
      dir.write("holds.mp", "assert never deliver when attachments.type is \"application/x-dosexec\"\n");
  RunResult proved = run_policyc({"fuzz", policy.string(), "--properties", holds.string()});
  EXPECT_EQ(proved.status, 0) << describe(proved);
  EXPECT_NE(proved.out.find("1 assertion: 1 proved, 0 violated, 0 open"), std::string::npos)
      << describe(proved);
  EXPECT_NE(proved.out.find("holds.mp:1:1)\n    proved: no message breaks it"), std::string::npos)
      << describe(proved);

  auto broken = dir.write("broken.mp",
                          "assert never allow when from.domain in org.domains\n"
                          "  and client.ip not in org.sending_servers and header contains newsletter_host\n");
  TempDir out;
  RunResult violated =
      run_policyc({"fuzz", policy.string(), "--properties", broken.string(), "--out", out.path().string()});
  EXPECT_EQ(violated.status, 1) << describe(violated);
  EXPECT_NE(violated.out.find("VIOLATED: counterexample 001-counterexample-to-assertion-1.eml"),
            std::string::npos)
      << describe(violated);
  RunResult replay = run_policyc({"test", out.path().string()});
  EXPECT_EQ(replay.status, 0) << describe(replay);

  auto not_only = dir.write("mixed.mp", "const x = 1\nassert never allow\n");
  RunResult mixed = run_policyc({"fuzz", policy.string(), "--properties", not_only.string()});
  EXPECT_EQ(mixed.status, 2) << describe(mixed);
  EXPECT_NE(mixed.err.find("E064"), std::string::npos) << describe(mixed);
}

// The seed case: the Constant Contact allow tightened to the org's sending servers.
// fuzz --diff finds the message the old policy allowed and the new one delivers
// through the other rules, writes it with a case file per policy, and both replay.
TEST(FuzzCli, DiffFindsTheMessageATightenedAllowNoLongerAllows) {
  TempDir dir;
  const std::string head = R"(settings {
  org.domains = [widget.com]
  org.sending_servers = [203.0.113.10]
}
)";
  auto old_policy = dir.write("old.mp", head + R"(stage custom_filters {
  rule partner:
    if header contains "ccsend.constantcontact.com" and sender is info@widget.com then allow
}
)");
  auto new_policy = dir.write("new.mp", head + R"(stage custom_filters {
  rule partner:
    if header contains "ccsend.constantcontact.com" and sender is info@widget.com
      and client.ip in org.sending_servers then allow
}
)");
  TempDir out;
  RunResult diff = run_policyc({"fuzz", "--diff", old_policy.string(), new_policy.string(), "--out",
                                out.path().string(), "--format", "json"});
  ASSERT_EQ(diff.status, 1) << describe(diff);
  auto report = nlohmann::json::parse(diff.out);
  EXPECT_EQ(report["equivalent"], false);
  ASSERT_EQ(report["witnesses"].size(), 1u) << diff.out;
  EXPECT_EQ(report["witnesses"][0]["old_action"], "allow");
  EXPECT_EQ(report["witnesses"][0]["old_rule"], "custom_filters.partner");
  EXPECT_EQ(report["witnesses"][0]["new_action"], "deliver");
  EXPECT_EQ(report["witnesses"][0]["file"], "001-allow-to-deliver.eml");
  EXPECT_EQ(report["summary"]["found"], 1);
  for (const char* file : {"old.mptest", "new.mptest"}) {
    RunResult replay = run_policyc({"test", (out.path() / file).string()});
    EXPECT_EQ(replay.status, 0) << file << ": " << describe(replay);
    EXPECT_EQ(replay.last_line(), "1 passed, 0 failed") << describe(replay);
  }

  RunResult same = run_policyc({"fuzz", "--diff", new_policy.string(), new_policy.string()});
  EXPECT_EQ(same.status, 0) << describe(same);
  EXPECT_NE(same.out.find("proved: every message gets the same action from both"), std::string::npos)
      << describe(same);
}

// A lookup that fails changes the verdict when one policy reads the fact and stops
// (tempfail) and the other goes on (facts.on_temperror = ignore, or no rule reading
// it): the witness states `spf: temperror`, both case files replay it, and what a
// failure cannot change is proved.
TEST(FuzzCli, DiffFindsWhatAFailedLookupChanges) {
  TempDir dir, out;
  auto stops = dir.write("stops.mp", "if spf is fail then reject \"550 5.7.1 spf\"\n");
  auto goes_on = dir.write("goes_on.mp", R"(settings {
  facts.on_temperror = ignore
}
if spf is fail then reject "550 5.7.1 spf"
if spf is temperror then quarantine "spf unknown"
)");
  auto status = [](const nlohmann::json& report, const std::string& from, const std::string& to) {
    for (const auto& c : report["changes"]) {
      if (c["old_action"] == from && c["new_action"] == to) return c["status"].get<std::string>();
    }
    return std::string("no change");
  };
  RunResult diff = run_policyc(
      {"fuzz", "--diff", stops.string(), goes_on.string(), "--out", out.path().string(), "--format", "json"});
  ASSERT_EQ(diff.status, 1) << describe(diff);
  auto report = nlohmann::json::parse(diff.out);
  EXPECT_EQ(status(report, "tempfail", "quarantine"), "found") << diff.out;
  EXPECT_EQ(status(report, "tempfail", "deliver"), "impossible") << diff.out;
  EXPECT_EQ(status(report, "tempfail", "reject"), "impossible") << diff.out;
  for (const char* file : {"old.mptest", "new.mptest"}) {
    RunResult replay = run_policyc({"test", (out.path() / file).string()});
    EXPECT_EQ(replay.status, 0) << file << ": " << describe(replay);
  }
  EXPECT_NE(read_text(out.path() / "old.mptest").find("spf: temperror"), std::string::npos);

  // A rule added that reads spf: a failed lookup now stops a message it delivered.
  auto subject = dir.write("subject.mp", "if subject contains \"x\" then reject \"550 5.7.1 x\"\n");
  RunResult added = run_policyc({"fuzz", "--diff", subject.string(), stops.string(), "--format", "json"});
  ASSERT_EQ(added.status, 1) << describe(added);
  EXPECT_EQ(status(nlohmann::json::parse(added.out), "deliver", "tempfail"), "found") << added.out;
}

// Under facts.on_temperror = tempfail (the default) a stated temperror stops the
// evaluation, so no witness states one: `odd` can then never fire, and the rule after
// it is still reached (the solver, preferring every spf test false, would otherwise
// state the one value left). Under ignore, temperror is a value a witness states.
TEST(FuzzCli, AWitnessStatesAFailedLookupOnlyWhereThePolicyGoesOn) {
  TempDir dir;
  const std::string rules = R"(stage custom_filters {
  rule spf_fail: if spf is fail then reject
  rule odd:
    if spf is not pass and spf is not fail and spf is not none and spf is not softfail
      and spf is not neutral and spf is not permerror then tag "odd"
  rule late: if subject contains "late" then tag "late"
}
)";
  auto fuzz = [&](const std::string& name, const std::string& text) {
    TempDir out;
    RunResult run = run_policyc(
        {"fuzz", dir.write(name, text).string(), "--out", out.path().string(), "--format", "json"});
    EXPECT_EQ(run.status, 0) << describe(run);
    RunResult replay = run_policyc({"test", out.path().string()});
    EXPECT_EQ(replay.status, 0) << describe(replay);
    std::ifstream in(out.path() / "fuzz.mptest");
    return std::make_pair(nlohmann::json::parse(run.out),
                          std::string(std::istreambuf_iterator<char>(in), {}));
  };
  auto status = [](const nlohmann::json& report, const std::string& rule, const char* goal) {
    for (const auto& r : report["rules"]) {
      if (r["name"] == rule) return r[goal]["status"].get<std::string>();
    }
    return std::string("no rule");
  };
  auto [tempfail, tempfail_cases] = fuzz("tempfail.mp", rules);
  for (const char* rule : {"spf_fail", "late"}) {
    for (const char* goal : {"fire", "not_fire"})
      EXPECT_EQ(status(tempfail, rule, goal), "found") << rule << goal;
  }
  EXPECT_NE(status(tempfail, "odd", "fire"), "found");
  EXPECT_EQ(tempfail_cases.find("temperror"), std::string::npos) << tempfail_cases;
  EXPECT_EQ(tempfail_cases.find("action: tempfail"), std::string::npos) << tempfail_cases;
  auto [ignore, ignore_cases] = fuzz("ignore.mp", "settings {\n  facts.on_temperror = ignore\n}\n" + rules);
  EXPECT_EQ(status(ignore, "odd", "fire"), "found");
  EXPECT_NE(ignore_cases.find("spf: temperror"), std::string::npos) << ignore_cases;
}

// Every value a fact can have is stated by some witness, and `policyc test` reading the
// case's stated facts gives the VM that value: a rule on each value of each closed
// vocabulary (spf … helo.checks, mx(…), av, sender_list) and on each open fact (names, codes,
// numbers) fires and does not, and the written cases replay green. Under
// facts.on_temperror = ignore, "temperror" is a value like the others.
TEST(FuzzCli, EveryValueOfEveryFactIsStatedAsTheVmReadsIt) {
  std::string policy = "settings {\n  facts.on_temperror = ignore\n}\nstage custom_filters {\n";
  std::vector<std::string> rules;
  auto rule = [&](const std::string& condition) {
    rules.push_back("r" + std::to_string(rules.size()));
    policy += "  rule " + rules.back() + ": if " + condition + " then tag \"" + rules.back() + "\"\n";
  };
  for (size_t i = 0; i < vm::kFieldCount; ++i) {
    const auto field = static_cast<vm::FieldId>(i);
    if (!vm::is_fact(field)) continue;
    const std::string name =
        field == vm::FieldId::Mx ? "mx(sender.domain)" : std::string(vm::field_info(field).name);
    for (std::string_view value : vm::field_vocabulary(field))
      rule(name + " is \"" + std::string(value) + "\"");
  }
  for (const char* open :
       {"ptr is mail.example.com", "dkim.domains is example.org", "av.signature is \"Win.Test.EICAR_HDB-1\"",
        "country(client.ip) is \"DE\"", "dnsbl(\"zen.example\") is 127.0.0.2",
        "dnswl(\"list.example\") is 127.0.0.5", "reputation(client.ip) > 5", "net_reputation(client.ip) > 5",
        "rate(client.ip, 1h) > 100", "rate_surge(client.auth_user, 1h) > 10", "bulk.count > 50",
        "bulk.addresses > 3", "bayes > 0.9"})
    rule(open);
  policy += "}\n";
  ASSERT_GE(rules.size(), 60u) << policy;
  TempDir dir;
  RunResult run = run_policyc({"fuzz", dir.write("facts.mp", policy).string(), "--out",
                               (dir.path() / "out").string(), "--format", "json", "--budget", "300"});
  ASSERT_EQ(run.status, 0) << describe(run);
  auto report = nlohmann::json::parse(run.out);
  for (const auto& r : report["rules"]) {
    for (const char* goal : {"fire", "not_fire"})
      EXPECT_EQ(r[goal]["status"], "found")
          << r["location"] << " " << goal << ": " << r[goal].value("why", "");
  }
  RunResult replay = run_policyc({"test", (dir.path() / "out").string()});
  EXPECT_EQ(replay.status, 0) << describe(replay);
}

// A client no list names is stated as `none` (docs/testing.md): before, a witness
// always had a listing, so a rule rejecting listed clients hid every rule after it.
// A listing is 127.0.0.2 where the rule allows it (RFC 5782 section 2.1).
TEST(FuzzCli, AClientNoListNamesIsStatedAsNone) {
  TempDir dir;
  auto policy = dir.write("lists.mp",
                          "stage reputation {\n"
                          "  rule listed: if dnsbl(\"zen.example\") then reject \"550 listed\"\n"
                          "  rule welcome: if dnswl(\"list.example\") then allow\n"
                          "  rule sure: if reputation(client.ip) > 5 then quarantine\n"
                          "  rule rest: if subject contains \"x\" then tag \"x\"\n}\n");
  const auto out = dir.path() / "out";
  RunResult run = run_policyc({"fuzz", policy.string(), "--out", out.string(), "--format", "json"});
  ASSERT_EQ(run.status, 0) << describe(run);
  for (const auto& r : nlohmann::json::parse(run.out)["rules"]) {
    for (const char* goal : {"fire", "not_fire"})
      EXPECT_EQ(r[goal]["status"], "found") << r["name"] << " " << goal << ": " << r[goal].value("why", "");
  }
  const std::string cases = read_text(out / "fuzz.mptest");
  for (const char* line :
       {"dnsbl(\"zen.example\"): none", "dnsbl(\"zen.example\"): 127.0.0.2", "dnswl(\"list.example\"): none",
        "dnswl(\"list.example\"): 127.0.0.2", "reputation(client.ip): none"})
    EXPECT_NE(cases.find(line), std::string::npos) << line << "\n" << cases;
  RunResult replay = run_policyc({"test", out.string()});
  EXPECT_EQ(replay.status, 0) << describe(replay);
}

// A reused --out holds this run's witnesses only: an earlier run's messages and case
// files (a --diff's old.mptest and new.mptest too) go, what else is there stays.
TEST(FuzzCli, AReusedOutDirectoryReplaysOnlyThisRunsWitnesses) {
  TempDir dir, out;
  auto wide = dir.write("wide.mp",
                        "stage custom_filters {\n  rule a: if subject contains \"a\" then reject\n"
                        "  rule b: if subject contains \"b\" then quarantine\n}\n");
  auto narrow =
      dir.write("narrow.mp", "stage custom_filters {\n  rule a: if subject contains \"a\" then reject\n}\n");
  const std::string o = out.path().string();
  ASSERT_EQ(run_policyc({"fuzz", "--diff", narrow.string(), wide.string(), "--out", o}).status, 1);
  ASSERT_EQ(run_policyc({"fuzz", wide.string(), "--out", o}).status, 0);
  write_text(out.path() / "mine.eml", "Subject: kept\r\n\r\nmine\r\n");
  RunResult fuzz = run_policyc({"fuzz", narrow.string(), "--out", o, "--format", "json"});
  ASSERT_EQ(fuzz.status, 0) << describe(fuzz);
  std::set<std::string> files, expected = {"fuzz.mptest", "mine.eml"};
  const auto report = nlohmann::json::parse(fuzz.out);
  for (const auto& w : report["witnesses"]) expected.insert(w["file"].get<std::string>());
  for (const auto& entry : std::filesystem::directory_iterator(out.path()))
    files.insert(entry.path().filename().string());
  EXPECT_EQ(files, expected);
  RunResult replay = run_policyc({"test", o});
  EXPECT_EQ(replay.status, 0) << describe(replay);
  // A run with nothing to write says so, and leaves no earlier run's cases behind.
  RunResult none = run_policyc({"fuzz", dir.write("none.mp", "# no rule yet\n").string(), "--out", o});
  ASSERT_EQ(none.status, 0) << describe(none);
  EXPECT_EQ(none.last_line(), "wrote nothing to " + o + ": the policy has no rule") << describe(none);
  files.clear();
  for (const auto& entry : std::filesystem::directory_iterator(out.path()))
    files.insert(entry.path().filename().string());
  EXPECT_EQ(files, std::set<std::string>{"mine.eml"});
}

// Fuzz overwrites nothing of the user's: a case file it did not write (no first line
// of its own) stops the run before the search, a message with a witness's name stops it
// before writing, and a message the user named in fuzz's own case file stays.
TEST(FuzzCli, AnOutDirectoryKeepsEveryFileTheUserWrote) {
  TempDir dir, out;
  auto policy =
      dir.write("p.mp", "stage custom_filters {\n  rule a: if subject contains \"a\" then reject\n}\n");
  const std::string o = out.path().string();
  write_text(out.path() / "old.mptest", "# my own cases\npolicy: p.mp\n");
  RunResult diff = run_policyc({"fuzz", "--diff", policy.string(), policy.string(), "--out", o});
  EXPECT_EQ(diff.status, 2) << describe(diff);
  EXPECT_NE(
      diff.err.find("old.mptest is there and policyc fuzz did not write it (its first line does not say so)"),
      std::string::npos)
      << describe(diff);
  EXPECT_EQ(read_text(out.path() / "old.mptest"), "# my own cases\npolicy: p.mp\n");

  ASSERT_EQ(run_policyc({"fuzz", policy.string(), "--out", o}).status, 0);
  // A case the user added to fuzz's file, with a message of their own.
  write_text(out.path() / "mine.eml", "Subject: mine\r\n\r\nmine\r\n");
  std::ofstream(out.path() / "fuzz.mptest", std::ios::app)
      << "\ncase: mine\n  message: mine.eml\n  action: deliver\n  rule: none\n";
  ASSERT_EQ(run_policyc({"fuzz", policy.string(), "--out", o}).status, 0);
  EXPECT_TRUE(std::filesystem::exists(out.path() / "mine.eml"));

  const std::string witness = "001-custom_filters.a-fires.eml";
  ASSERT_TRUE(std::filesystem::exists(out.path() / witness));
  std::filesystem::remove(out.path() / "fuzz.mptest");  // the witness is now a file of the user's
  write_text(out.path() / witness, "Subject: kept\r\n\r\nkept\r\n");
  RunResult clash = run_policyc({"fuzz", policy.string(), "--out", o});
  EXPECT_EQ(clash.status, 2) << describe(clash);
  EXPECT_NE(clash.err.find(witness + " is there and policyc fuzz did not write it; fuzz overwrites nothing"),
            std::string::npos)
      << describe(clash);
  EXPECT_EQ(read_text(out.path() / witness), "Subject: kept\r\n\r\nkept\r\n");
  EXPECT_FALSE(std::filesystem::exists(out.path() / "fuzz.mptest"));
}

// An --out fuzz cannot write into is refused before the search (exit 2, nothing
// spent on results it could not keep), with the system's reason: under a file, in a
// file system that takes no new files.
TEST(FuzzCli, AnOutDirectoryFuzzCannotWriteIsRefusedBeforeTheSearch) {
  TempDir dir;
  auto policy =
      dir.write("p.mp", "stage custom_filters {\n  rule r: if subject contains \"x\" then reject\n}\n");
  RunResult under_file = run_policyc({"fuzz", policy.string(), "--out", (policy / "sub").string()});
  EXPECT_EQ(under_file.status, 2) << describe(under_file);
  EXPECT_NE(under_file.err.find("sub: cannot create it: Not a directory"), std::string::npos)
      << describe(under_file);
  EXPECT_EQ(under_file.out, "") << describe(under_file);
  RunResult proc = run_policyc({"fuzz", policy.string(), "--out", "/proc"});
  EXPECT_EQ(proc.status, 2) << describe(proc);
  EXPECT_NE(proc.err.find("error: --out /proc: cannot write there: "), std::string::npos) << describe(proc);
  EXPECT_EQ(proc.out, "") << describe(proc);
  RunResult diff = run_policyc({"fuzz", "--diff", policy.string(), policy.string(), "--out", "/proc/x/y"});
  EXPECT_EQ(diff.status, 2) << describe(diff);
  EXPECT_NE(diff.err.find("error: --out /proc/x/y: cannot create it: "), std::string::npos) << describe(diff);
}

// --require-proof fails a run that leaves an assertion open (here: a non-ASCII text,
// which fuzz does not write, so neither a proof nor a counterexample), and a --diff that
// finds no change without proving there is none; a proved one passes.
TEST(FuzzCli, RequireProofFailsWhatIsLeftOpen) {
  TempDir dir;
  auto policy =
      dir.write("p.mp",
                "stage custom_filters {\n  rule r: if subject contains \"\xc3\xa9t\xc3\xa9\" then reject\n}\n"
                "assert never reject when subject contains \"\xc3\xa9t\xc3\xa9\"\n");
  auto other = dir.write(
      "q.mp", "stage custom_filters {\n  rule r: if subject contains \"\xc3\xbc\" then reject\n}\n");
  RunResult lax = run_policyc({"fuzz", policy.string(), "--budget", "20", "--format", "json"});
  EXPECT_EQ(lax.status, 0) << describe(lax);
  auto report = nlohmann::json::parse(lax.out);
  EXPECT_EQ(report["properties"][0]["status"], "unknown") << lax.out;
  EXPECT_EQ(report["summary"]["assertions"],
            nlohmann::json({{"not-tried", 0}, {"proved", 0}, {"unknown", 1}, {"violated", 0}}))
      << lax.out;
  RunResult strict = run_policyc({"fuzz", policy.string(), "--budget", "20", "--require-proof"});
  EXPECT_EQ(strict.status, 1) << describe(strict);
  EXPECT_NE(strict.err.find("1 assertion neither proved nor violated (--require-proof)"), std::string::npos)
      << describe(strict);

  RunResult open_diff = run_policyc({"fuzz", "--diff", policy.string(), other.string(), "--budget", "20"});
  EXPECT_EQ(open_diff.status, 0) << describe(open_diff);
  RunResult strict_diff =
      run_policyc({"fuzz", "--diff", policy.string(), other.string(), "--budget", "20", "--require-proof"});
  EXPECT_EQ(strict_diff.status, 1) << describe(strict_diff);
  EXPECT_NE(strict_diff.err.find("not proved to agree (--require-proof)"), std::string::npos)
      << describe(strict_diff);
  RunResult same = run_policyc({"fuzz", "--diff", other.string(), other.string(), "--require-proof"});
  EXPECT_EQ(same.status, 0) << describe(same);
}

// The solver writes no HTML. A seed given with its envelope fires the partner's rule as
// it is; a bare .eml (its envelope read from its From and To), mutated by libFuzzer
// with the policy's literals as its dictionary, fires the form rule.
TEST(FuzzCli, SeedMutationReachesWhatTheSolverCannotWrite) {
  TempDir dir;
  auto policy = dir.write("policy.mp", R"(settings {
  org.domains = [widget.com]
}
stage custom_filters {
  rule partner_form:
    if sender.domain is partner.example and html contains "hello <b>there" then reject "550 5.7.1 no"
  rule html_form: if html contains "<form action" nocase then quarantine "a form in HTML"
  rule bounce: if sender is "" and subject contains "undeliverable" then quarantine "a bounce"
}
)");
  const std::string html_message =
      "From: a@example.net\r\nTo: b@widget.com\r\nSubject: hello\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n"
      "hello there\r\n--x\r\nContent-Type: text/html\r\n\r\n"
      "<html><body><p>hello <b>there</b></p></body></html>\r\n--x--\r\n";
  dir.write("seeds/plain.eml", html_message);
  // As an MTA's log has it: ESMTP parameters, a recipient twice, Postfix's IPV6: form,
  // lower case. What `policyc test` would refuse (the recipient twice) is not written.
  dir.write("seeds/partner.txt",
            "mail from:<billing@partner.example> SIZE=1000\nRCPT TO:<b@widget.com>\nRCPT TO:<B@widget.com>\n"
            "XCLIENT ADDR=IPV6:2001:db8::7 HELO=mx.partner.example\ndata\n" +
                html_message);
  TempDir out;
  RunResult fuzz = run_policyc({"fuzz", policy.string(), "--seeds", (dir.path() / "seeds").string(),
                                "--mutate", "20", "--out", out.path().string(), "--format", "json"});
  ASSERT_EQ(fuzz.status, 0) << describe(fuzz);
  auto report = nlohmann::json::parse(fuzz.out);
  for (const auto& rule : report["rules"]) {
    EXPECT_EQ(rule["fire"]["status"], "found") << rule["name"] << ": " << rule["fire"].value("why", "");
  }
  EXPECT_EQ(report["mutation"]["seeds"], 2);
  EXPECT_GT(report["mutation"]["executions"], 0);
  EXPECT_GE(report["mutation"]["witnesses"], 2);
  std::set<std::string> purposes;
  for (const auto& w : report["witnesses"]) purposes.insert(w["purpose"]);
  EXPECT_TRUE(purposes.count("custom_filters.partner_form fires (seed)")) << fuzz.out;
  EXPECT_TRUE(purposes.count("custom_filters.html_form fires (mutated seed)")) << fuzz.out;
  for (const auto& w : report["witnesses"]) {  // "fires (mutated seed)": no "--" nor a trailing '-'
    if (w["purpose"] == "custom_filters.html_form fires (mutated seed)") {
      EXPECT_TRUE(w["file"].get<std::string>().ends_with("-custom_filters.html_form-fires-mutated-seed.eml"))
          << w["file"];
    }
  }
  RunResult replay = run_policyc({"test", out.path().string()});
  EXPECT_EQ(replay.status, 0) << describe(replay);
  EXPECT_EQ(replay.last_line(), std::to_string(report["witnesses"].size()) + " passed, 0 failed")
      << describe(replay);
}

// policyc killed while libFuzzer's engine runs in its child (a CI timeout, a SIGKILL)
// takes the child with it: no orphan goes on mutating for the rest of --mutate.
TEST(FuzzCli, KillingPolicycStopsItsMutationEngine) {
  TempDir dir;
  auto policy =
      dir.write("p.mp", "stage custom_filters {\n  rule r: if subject contains \"x\" then reject\n}\n");
  dir.write("seeds/a.eml", "From: a@example.net\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n");
  auto script = dir.write("kill.sh", R"(policyc="$1"; policy="$2"; seeds="$3"
"$policyc" fuzz "$policy" --seeds "$seeds" --mutate 60 >/dev/null 2>&1 &
pid=$!
child=""
for i in $(seq 300); do
  child=$(awk -v parent="$pid" '$4 == parent { print $1 }' /proc/[0-9]*/stat 2>/dev/null)
  [ -n "$child" ] && break
  sleep 0.1
done
[ -n "$child" ] || { echo "no engine started"; exit 0; }
kill -9 "$pid"; wait "$pid" 2>/dev/null
for i in $(seq 50); do
  state=$(awk '{ print $3 }' "/proc/$child/stat" 2>/dev/null)
  if [ -z "$state" ] || [ "$state" = Z ]; then echo gone; exit 0; fi
  sleep 0.1
done
kill -9 "$child"; echo "still running"
)");
  RunResult r = run_shell("sh " + shell_quote(script.string()) + " " + shell_quote(kPolicyc.string()) + " " +
                          shell_quote(policy.string()) + " " + shell_quote((dir.path() / "seeds").string()));
  EXPECT_EQ(r.last_line(), "gone") << describe(r);
}

TEST(FuzzCli, SeedsMustBeADirectoryAndNotWithDiff) {
  TempDir dir;
  auto policy =
      dir.write("p.mp", "stage custom_filters {\n  rule r: if subject contains \"x\" then reject\n}\n");
  RunResult missing = run_policyc({"fuzz", policy.string(), "--seeds", (dir.path() / "none").string()});
  EXPECT_EQ(missing.status, 2) << describe(missing);
  EXPECT_NE(missing.err.find("--seeds"), std::string::npos) << describe(missing);
  RunResult with_diff =
      run_policyc({"fuzz", "--diff", policy.string(), policy.string(), "--seeds", dir.path().string()});
  EXPECT_NE(with_diff.status, 0) << describe(with_diff);
  RunResult mutate_alone = run_policyc({"fuzz", policy.string(), "--mutate", "5"});
  EXPECT_NE(mutate_alone.status, 0) << describe(mutate_alone);
  RunResult nan = run_policyc({"fuzz", policy.string(), "--seeds", dir.path().string(), "--mutate", "nan"});
  EXPECT_NE(nan.status, 0) << describe(nan);
  // Checked before the search, not after it.
  RunResult out_file = run_policyc({"fuzz", policy.string(), "--out", policy.string()});
  EXPECT_EQ(out_file.status, 2) << describe(out_file);
  EXPECT_NE(out_file.err.find("is a file, not a directory"), std::string::npos) << describe(out_file);
  // No seed: said, and the solver's report stands.
  TempDir empty;
  RunResult none = run_policyc({"fuzz", policy.string(), "--seeds", empty.path().string(), "--mutate", "1"});
  EXPECT_EQ(none.status, 0) << describe(none);
  EXPECT_NE(none.err.find("holds no seed"), std::string::npos) << describe(none);
  EXPECT_NE(none.out.find("1 rule, 2 goals: 2 found"), std::string::npos) << describe(none);
}

}  // namespace
}  // namespace mp::e2e
