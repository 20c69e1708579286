// End-to-end tests of envelope sidecars (FILE.env next to a message, docs/cli.md,
// "Envelope sidecars") and of the README's main job, which relies on them: run over
// examples/widget/mail/*.eml without flags, it must print the verdicts that
// examples/widget/expected.txt lists.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/e2e_util.h"
#include "tests/e2e/expected_table.h"

namespace {

namespace fs = std::filesystem;
using namespace mp::e2e;

const fs::path kMail = kExampleDir / "mail";

// The README's main job, as the README writes it (after `./scripts/setup &&`).
const std::string kMainJob = "build/bin/policyc run examples/widget/policy.mp examples/widget/mail/*.eml";

struct TextVerdict {
  std::string action;
  std::string rule;  // "-" when no rule decided
};

// "FILE: ACTION by STAGE.RULE (LOC)  ...", "FILE: ACTION by score  ...", "FILE: deliver  ...".
std::map<std::string, TextVerdict> parse_verdict_lines(const std::vector<std::string>& lines) {
  std::map<std::string, TextVerdict> verdicts;
  for (const auto& line : lines) {
    if (line.starts_with(" ")) continue;  // --explain lines
    size_t colon = line.find(": ");
    std::istringstream words(line.substr(colon + 2));
    std::string action, by, rule;
    words >> action >> by >> rule;
    if (by != "by" || rule == "score")
      rule = "-";
    else
      rule = rule.substr(rule.find('.') + 1);
    verdicts[line.substr(0, colon)] = {action, rule};
  }
  return verdicts;
}

TEST(ReadmeMainJob, PrintsTheVerdictsOfExpectedTxt) {
  std::string readme = read_text(fs::path(MP_SOURCE_DIR) / "README.md");
  ASSERT_NE(readme.find(kMainJob), std::string::npos) << "the README's main job changed; update this test";
  // The shell expands the glob, as for the README's reader; the binary is the one built.
  std::string command = "cd " + shell_quote(MP_SOURCE_DIR) + " && " + shell_quote(kPolicyc.string()) +
                        kMainJob.substr(std::string("build/bin/policyc").size()) + " 2>/dev/null";
  RunResult r = run_shell(command);
  EXPECT_EQ(r.status, 0) << describe(r);
  std::map<std::string, TextVerdict> got = parse_verdict_lines(r.lines());
  size_t compared = 0;
  for (const Row& row : parse_table(kExampleDir / "expected.txt")) {
    if (row.index != 0 || !row.file.ends_with(".eml")) continue;  // *.eml only: no mbox
    SCOPED_TRACE("expected.txt:" + std::to_string(row.line) + ": " + row.file);
    auto it = got.find("examples/widget/" + row.file);
    ASSERT_NE(it, got.end()) << describe(r);
    EXPECT_EQ(it->second.action, row.action) << describe(r);
    EXPECT_EQ(it->second.rule, row.rule) << describe(r);
    ++compared;
  }
  EXPECT_EQ(compared, got.size()) << "a message without a row in expected.txt\n" << describe(r);
  EXPECT_GE(compared, 13u);
}

// Each example sidecar holds exactly the flags expected.txt gives its message.
TEST(ExampleSidecars, HoldTheFlagsOfExpectedTxt) {
  for (const Row& row : parse_table(kExampleDir / "expected.txt")) {
    fs::path sidecar = kExampleDir / (row.path + ".env");
    if (row.index != 0) continue;  // a sidecar is per file; the mbox rows differ
    SCOPED_TRACE(row.file);
    ASSERT_TRUE(fs::exists(sidecar)) << sidecar;
    std::vector<std::string> words;
    std::istringstream lines(read_text(sidecar));
    for (std::string line; std::getline(lines, line);) {
      std::istringstream in(line.substr(0, line.find('#')));
      for (std::string w; in >> w;) words.push_back(w);
    }
    EXPECT_EQ(words, row.flags);
  }
}

class Sidecar : public testing::Test {
 protected:
  void SetUp() override {
    message_ = dir_.write("out.eml", read_text(kMail / "open-sesame-outbound.eml"));
    policy_ = kExampleDir / "policy.mp";
  }
  RunResult run(std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", "--explain", policy_.string(), message_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_policyc(args);
  }
  TempDir dir_;
  fs::path message_, policy_;
};

TEST_F(Sidecar, WithoutOneTheOutboundMessageIsJudgedInbound) {
  RunResult r = run({});
  EXPECT_NE(r.out.find("direction=inbound"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("envelope derived from Return-Path: sender="), std::string::npos) << describe(r);
}

TEST_F(Sidecar, GivesTheEnvelopeAndIsNamedInTheTrace) {
  dir_.write("out.eml.env",
             "# our server\n--client-ip 203.0.113.10 --sender someone@widget.com\n"
             "--rcpt partner@example.org --rcpt other@example.org\n");
  RunResult r = run({});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("allow by custom_filters.open_sesame"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("direction=outbound"), std::string::npos) << describe(r);
  std::string expected = "  envelope from " + message_.string() +
                         ".env: sender=someone@widget.com rcpt=partner@example.org rcpt=other@example.org "
                         "client.ip=203.0.113.10\n";
  EXPECT_NE(r.out.find(expected), std::string::npos) << describe(r);
}

TEST_F(Sidecar, FlagsOnTheCommandLineWin) {
  dir_.write("out.eml.env",
             "--client-ip 203.0.113.10 --sender someone@widget.com --rcpt partner@example.org\n");
  RunResult r = run({"--client-ip", "192.0.2.1"});
  EXPECT_NE(r.out.find("direction=inbound"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("  envelope from the command line: client.ip=192.0.2.1\n"), std::string::npos)
      << describe(r);
  EXPECT_NE(r.out.find(".env: sender=someone@widget.com rcpt=partner@example.org\n"), std::string::npos)
      << describe(r);
}

TEST_F(Sidecar, JsonTraceListsTheSources) {
  dir_.write("out.eml.env", "--sender=someone@widget.com --helo \"\"\n");
  RunResult r = run({"--format", "json"});
  nlohmann::json j = parse_json_line(r.last_line());
  nlohmann::json expected = nlohmann::json::parse(R"([
    {"field": "sender", "value": "someone@widget.com", "source": ")" +
                                                  message_.string() + R"(.env"},
    {"field": "helo", "value": "", "source": ")" + message_.string() +
                                                  R"(.env"}])");
  EXPECT_EQ(j.value("envelope", nlohmann::json()), expected) << describe(r);
}

TEST_F(Sidecar, ABadRecipientIsAnErrorNotAnEmptyOrDoubledEnvelope) {
  for (const auto& [args, error] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--rcpt", ""}, "error: --rcpt `` is not an email address"},
           {{"--rcpt", "carol"}, "error: --rcpt `carol` is not an email address"},
           {{"--rcpt", "carol@widget.com", "--rcpt", "Carol@Widget.com"},
            "error: --rcpt Carol@Widget.com is given twice"}}) {
    RunResult r = run(args);
    EXPECT_EQ(r.status, 2) << describe(r);
    EXPECT_NE(r.err.find(error), std::string::npos) << describe(r);
  }
  dir_.write("out.eml.env", "--rcpt partner@example.org --rcpt partner@example.org\n");
  RunResult side = run({});
  EXPECT_EQ(side.status, 1) << describe(side);
  EXPECT_NE(side.err.find("out.eml.env: --rcpt partner@example.org is given twice"), std::string::npos)
      << describe(side);
}

TEST_F(Sidecar, ABadSidecarIsAnErrorForItsMessage) {
  dir_.write("out.eml.env", "--client-ip not-an-ip\n");
  RunResult bad_ip = run({});
  EXPECT_EQ(bad_ip.status, 1) << describe(bad_ip);
  EXPECT_NE(bad_ip.err.find("out.eml.env: --client-ip not-an-ip is not an IP address"), std::string::npos)
      << describe(bad_ip);
  dir_.write("out.eml.env", "--from a@b.example\n");
  RunResult unknown = run({});
  EXPECT_EQ(unknown.status, 1) << describe(unknown);
  EXPECT_NE(unknown.err.find("unknown flag `--from`"), std::string::npos) << describe(unknown);
}

TEST_F(Sidecar, DiffUsesItToo) {
  dir_.write("out.eml.env",
             "--client-ip 203.0.113.10 --sender someone@widget.com --rcpt partner@example.org\n");
  fs::path strict = dir_.write("strict.mp", "if body contains \"Cogito\" then reject \"550 no\"\n");
  RunResult r =
      run_policyc({"diff", "--format", "json", policy_.string(), strict.string(), message_.string()});
  nlohmann::json j = parse_json_line(r.last_line());
  ASSERT_TRUE(j.contains("groups")) << describe(r);
  EXPECT_EQ(j["groups"][0]["messages"][0]["old"]["rule"], "open_sesame") << describe(r);
}

}  // namespace

namespace {

// Neither flag nor sidecar: the recipient comes from Delivered-To (else
// X-Original-To), marked as derived in the trace.
TEST(DerivedEnvelope, RecipientFromDeliveredToThenXOriginalTo) {
  TempDir dir;
  const std::string ham = read_text(kMail / "plain-ham.eml");
  fs::path both =
      dir.write("both.eml", "Delivered-To: <pat.lee@widget.com>\nX-Original-To: other@widget.com\n" + ham);
  fs::path original = dir.write("original.eml", "X-Original-To: other@widget.com\n" + ham);
  fs::path policy = kExampleDir / "policy.mp";
  RunResult r = run_policyc({"run", "--explain", policy.string(), both.string(), original.string()});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("  envelope derived from Delivered-To: rcpt=pat.lee@widget.com\n"), std::string::npos)
      << describe(r);
  EXPECT_NE(r.out.find("  envelope derived from X-Original-To: rcpt=other@widget.com\n"), std::string::npos)
      << describe(r);
  RunResult flag =
      run_policyc({"run", "--explain", policy.string(), both.string(), "--rcpt", "x@widget.com"});
  EXPECT_NE(flag.out.find("  envelope from the command line: rcpt=x@widget.com\n"), std::string::npos)
      << describe(flag);
  EXPECT_EQ(flag.out.find("Delivered-To"), std::string::npos) << describe(flag);
}

}  // namespace
