// End to end: facts in `policyc diff` and `policyc test` (issue 9, section 5).
// A policy change in a rule that reads spf (`spf is fail` → `spf in [fail, softfail]`)
// shows in `diff --dns-server` against the test DNS server; `test` answers stated
// facts (`spf: softfail`) without any DNS; a run that reads facts it cannot compute
// says so once on stderr.
#include <gtest/gtest.h>

#include "tests/dnsd/test_dns_server.h"
#include "tests/e2e/e2e_util.h"

namespace mp::e2e {
namespace {

// Mail from 192.0.2.10: pass.test passes, soft.test softfails, hard.test fails.
const char* kZone = R"(
pass.test.  300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
soft.test.  300 IN TXT "v=spf1 ~all"
hard.test.  300 IN TXT "v=spf1 -all"
)";

const char* kOld = "if spf is fail then reject \"550 5.7.1 SPF\"\n";
const char* kNew = "if spf in [fail, softfail] then reject \"550 5.7.1 SPF\"\n";

std::string message_from(const std::string& domain) {
  return "From: someone@" + domain + "\nSubject: hello\n\nHello.\n";
}

std::string stated_case(const std::string& name, const std::string& facts, const std::string& action,
                        const std::string& rule) {
  return "case: " + name + "\n" + facts +
         "  client-ip: 192.0.2.10\n  sender: a@soft.test\n  action: " + action + "\n  rule: " + rule +
         "\n  message: <<END\n" + message_from("soft.test") + "END\n";
}

class FactsInToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir.write("old.mp", kOld);
    dir.write("new.mp", kNew);
    for (const char* domain : {"pass.test", "soft.test", "hard.test"}) {
      std::string name = std::string("corpus/") + domain + ".eml";
      dir.write(name, message_from(domain));
      dir.write(name + ".env", std::string("--client-ip 192.0.2.10 --sender a@") + domain + "\n");
    }
  }

  RunResult diff(std::vector<std::string> extra) {
    std::vector<std::string> args = {"diff", "old.mp", "new.mp", "corpus", "--jobs", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_policyc(dir.path(), args);
  }

  TempDir dir;
};

TEST_F(FactsInToolsTest, DiffWithDnsServerReportsTheSoftfailingMessages) {
  testing::TestDnsServer server(kZone);
  auto r = diff({"--dns-server", server.address(), "--dns-timeout", "500"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.out.find("corpus/soft.test.eml: deliver (by score) → reject (custom_filters.line_1)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("changed: 1\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("hard.test"), std::string::npos) << r.out;  // rejected by both
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
}

TEST_F(FactsInToolsTest, DiffWithoutDnsServerWarnsOnce) {
  auto r = diff({});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("changed: 0\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "warning: the policy reads spf but no --dns-server was given: it has no value\n");
}

TEST_F(FactsInToolsTest, DiffRejectsABadDnsServer) {
  auto r = diff({"--dns-server", "not-an-ip"});
  EXPECT_EQ(r.status, 2) << describe(r);
}

TEST_F(FactsInToolsTest, TestAnswersStatedFactsWithoutDns) {
  std::string cases = stated_case("softfail rejected", "  spf: softfail\n", "reject", "line_1") +
                      stated_case("pass delivered", "  spf: pass\n", "deliver", "none");
  dir.write("new.mptest", "policy: new.mp\n" + cases);
  dir.write("old.mptest", "policy: old.mp\n" + cases);
  auto passing = run_policyc(dir.path(), {"test", "new.mptest"});
  EXPECT_EQ(passing.status, 0) << describe(passing);
  EXPECT_EQ(passing.out, "2 passed, 0 failed\n") << passing.out;
  EXPECT_EQ(passing.err, "") << "every case states spf: no warning";
  auto failing = run_policyc(dir.path(), {"test", "old.mptest"});
  EXPECT_EQ(failing.status, 1) << describe(failing);
  EXPECT_NE(failing.out.find("FAIL old.mptest:2: softfail rejected"), std::string::npos) << failing.out;
  EXPECT_NE(failing.out.find("fact spf = softfail — stated by the test case (line 3)"), std::string::npos)
      << failing.out;
  EXPECT_NE(failing.out.find("1 passed, 1 failed"), std::string::npos) << failing.out;
}

// Each unstated fact names the flag that would compute it: the state facts (bayes,
// bulk.count, sender_list, …) need --store, whatever their names look like.
TEST_F(FactsInToolsTest, TheNoteNamesTheFlagOfEachUnstatedFact) {
  dir.write("state.mp",
            "if bayes >= 0.9 or bulk.count > 50 or spf is fail or country(client.ip) in [KP] then score +1 "
            "\"x\"\n");
  dir.write("t.mptest", "policy: state.mp\n" + stated_case("nothing stated", "", "deliver", "none"));
  auto r = run_policyc(dir.path(), {"test", "t.mptest"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("this run does not compute (no --dns-server, --geoip, --store): no value"),
            std::string::npos)
      << r.out;
}

TEST_F(FactsInToolsTest, TestNamesAFactARuleReadButTheCaseDoesNotState) {
  dir.write("t.mptest", "policy: new.mp\n" + stated_case("nothing stated", "", "deliver", "none"));
  auto r = run_policyc(dir.path(), {"test", "t.mptest"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(
      r.out.find("PASS t.mptest:2: nothing stated\n  note: a rule read spf, which the case does not state "
                 "and this run does not compute (no --dns-server): no value"),
      std::string::npos)
      << r.out;
  EXPECT_EQ(
      r.err,
      "warning: the policy reads spf but no --dns-server was given: it has no value unless a case states "
      "them\n");
  auto j = run_policyc(dir.path(), {"test", "t.mptest", "--format", "json"});
  EXPECT_EQ(parse_json_line(non_empty_lines(j.out).at(0))["unstated_facts"], nlohmann::json({"spf"}))
      << j.out;
}

TEST_F(FactsInToolsTest, TestComputesUnstatedFactsWithDnsServer) {
  testing::TestDnsServer server(kZone);
  dir.write("t.mptest", "policy: new.mp\n" + stated_case("softfail from DNS", "", "reject", "line_1"));
  auto r =
      run_policyc(dir.path(), {"test", "t.mptest", "--dns-server", server.address(), "--dns-timeout", "500"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "1 passed, 0 failed\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(FactsInToolsTest, StatedTemperrorFollowsOnTemperror) {
  dir.write("ignore.mp", "settings { facts.on_temperror = ignore }\nif spf is temperror then tag \"x\"\n");
  const std::string ignore = stated_case("ignored", "  spf: temperror\n", "deliver", "none");
  dir.write("ignore.mptest", "policy: ignore.mp\n" + ignore.substr(0, ignore.find("  message:")) +
                                 "  tag: x\n" + ignore.substr(ignore.find("  message:")));
  auto r = run_policyc(dir.path(), {"test", "ignore.mptest"});
  EXPECT_EQ(r.status, 0) << describe(r);
  // `rule:` names the rule that needed the fact; `none` is not it.
  dir.write("tempfail.mptest",
            "policy: new.mp\n" + stated_case("tempfailed", "  spf: temperror\n", "tempfail", "line_1"));
  r = run_policyc(dir.path(), {"test", "tempfail.mptest", "-v"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("got:      tempfail by fact spf in custom_filters.line_1, "), std::string::npos)
      << r.out;
  EXPECT_NE(
      r.out.find("text \"451 4.4.3 temporary failure computing spf: stated by the test case (line 3)\""),
      std::string::npos)
      << r.out;
  dir.write("none.mptest",
            "policy: new.mp\n" + stated_case("tempfailed", "  spf: temperror\n", "tempfail", "none"));
  r = run_policyc(dir.path(), {"test", "none.mptest"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.out.find("- rule: expected none, got custom_filters.line_1"), std::string::npos) << r.out;
}

TEST_F(FactsInToolsTest, BadStatedFactsAreErrorsWithSuggestions) {
  dir.write("bad.mptest",
            "policy: new.mp\n" +
                stated_case("bad",
                            "  spf: softfial\n  dkim.domain: a.example\n  country: de\n"
                            "  dnsbl(\"zen.example\"): listed\n  helo.checks: localhost, notfqdn\n",
                            "deliver", "none"));
  auto r = run_policyc(dir.path(), {"test", "bad.mptest"});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_NE(r.out.find("bad.mptest:3: error: `softfial` is not a value of spf"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean `softfail`?"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bad.mptest:4: error: unknown key `dkim.domain`; did you mean `dkim.domains`?"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("bad.mptest:5: error: `de` is not a country code"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bad.mptest:6: error: `listed` is not an IP address"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bad.mptest:7: error: `notfqdn` is not a value of helo.checks"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("did you mean `not_fqdn`?"), std::string::npos) << r.out;
}

// The state facts' keys by the compiler's rules, their numbers by what the fact can read.
TEST_F(FactsInToolsTest, StatedStateFactsTakeWhatTheLanguageTakes) {
  dir.write(
      "bad.mptest",
      "policy: new.mp\n" + stated_case("bad",
                                       "  rate_surge(subject, 1h): 3\n  rate_surge(client.auth_user, 4d): 3\n"
                                       "  rate(client.auth_user, 1h): nan\n  bayes: 1.5\n"
                                       "  reputation(client.ip): -5\n  bulk.count: inf\n",
                                       "deliver", "none"));
  auto r = run_policyc(dir.path(), {"test", "bad.mptest"});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_NE(
      r.out.find("bad.mptest:3: error: `rate_surge(subject, 1h)`: `rate_surge` takes a key field (sender"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("bad.mptest:4: error: `rate_surge(client.auth_user, 4d)`: `rate_surge` takes"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("at most 3.5 days"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bad.mptest:5: error: `nan` is not a value rate can have (a number from 0)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("bad.mptest:6: error: `1.5` is not a value bayes can have (a number from 0 to 1)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("bad.mptest:7: error: `-5` is not a value reputation"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bad.mptest:8: error: `inf` is not a value bulk.count"), std::string::npos) << r.out;
  dir.write("args.mptest",
            "policy: new.mp\n" + stated_case("args",
                                             "  reputation(sender): 3\n  net_reputation(sender.domain): 3\n"
                                             "  mx(client.ip): null_mx\n  bayes: 0.99 0.5\n",
                                             "deliver", "none"));
  r = run_policyc(dir.path(), {"test", "args.mptest"});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_NE(r.out.find("args.mptest:3: error: `reputation(sender)`: `reputation` takes one IP field"),
            std::string::npos)
      << r.out;
  EXPECT_NE(
      r.out.find("args.mptest:4: error: `net_reputation(sender.domain)`: `net_reputation` takes one IP"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("args.mptest:5: error: `mx(client.ip)`: `mx` takes one domain field"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("args.mptest:6: error: bayes has one value at most, not 2"), std::string::npos)
      << r.out;
  // What the language takes is taken: a day's surge, a week's rate, a bare fact.
  dir.write("good.mptest",
            "policy: new.mp\n" + stated_case("good",
                                             "  spf: pass\n  rate_surge(sender.domain, 1d): 3\n"
                                             "  rate(client.ip, 1w): 0\n  bayes: 1\n  reputation: 7.5\n",
                                             "deliver", "none"));
  r = run_policyc(dir.path(), {"test", "good.mptest"});
  EXPECT_EQ(r.status, 0) << describe(r);
}

// sender_list has a value per recipient; a store that is down stops every recipient's
// evaluation, not only the first's (the prefilter once read "no match" for the rest).
TEST_F(FactsInToolsTest, SenderListIsStatedPerRecipientAndATemperrorHoldsThemAll) {
  dir.write(
      "sl.mp",
      "stage custom_filters {\n  rule blocked: if sender_list is blocked then reject \"550 5.7.1 x\"\n}\n");
  auto with = [](const std::string& rcpt, const std::string& value, const std::string& action) {
    return "case: " + value + "\n  message: <<END\n" + message_from("soft.test") + "END\n" +
           (rcpt.empty() ? "" : "  rcpt: " + rcpt + "\n") + "  sender_list: " + value +
           "\n  action: " + action + "\n  rule: blocked\n";
  };
  dir.write("counts.mptest", "policy: sl.mp\n" + with("a@widget.com b@widget.com", "blocked", "reject") +
                                 with("", "blocked", "reject"));
  auto r = run_policyc(dir.path(), {"test", "counts.mptest"});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_NE(r.out.find("sender_list has one value per recipient: 1 given for 2 in `rcpt:`"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("sender_list has one value per recipient: give the case's `rcpt:`"), std::string::npos)
      << r.out;
  dir.write("temp.mptest", "policy: sl.mp\n" + with("a@widget.com b@widget.com", "temperror", "tempfail"));
  r = run_policyc(dir.path(), {"test", "temp.mptest", "-v"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out.find("different verdicts"), std::string::npos) << r.out;
}

TEST_F(FactsInToolsTest, EveryKindOfStatedFactIsAnswered) {
  dir.write("all.mp", R"(if dkim is pass and dkim.domains is ccsend.com then tag "dkim"
if dmarc is fail and dmarc.policy is "reject" then tag "dmarc"
if fcrdns is pass and ptr is mail.example.com and ptr.checks is generic then tag "ptr"
if helo.checks is not_fqdn then tag "helo"
if country(client.ip) in [DE] then tag "country"
if dnsbl("zen.example") in [127.0.0.2/32] and dnswl("list.example") in [127.0.9.1/32] then tag "lists"
if mx(sender.domain) is null_mx then tag "mx"
)");
  std::string facts =
      "  dkim: pass\n  dkim.domains: ccsend.com, example.org\n  dmarc: fail\n  dmarc.policy: reject\n"
      "  fcrdns: pass\n  ptr: mail.example.com\n  ptr.checks: generic\n  helo.checks: localhost, not_fqdn\n"
      "  country: DE\n  dnsbl(\"zen.example\"): 127.0.0.2\n  dnswl(\"list.example\"): 127.0.9.1\n  mx: "
      "null_mx\n";
  std::string c = stated_case("all", facts, "deliver", "none");
  std::string tags =
      "  tag: dkim\n  tag: dmarc\n  tag: ptr\n  tag: helo\n  tag: country\n  tag: lists\n  tag: mx\n";
  c.insert(c.find("  message:"), tags);
  dir.write("all.mptest", "policy: all.mp\n" + c);
  auto r = run_policyc(dir.path(), {"test", "all.mptest"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "1 passed, 0 failed\n");
}

TEST_F(FactsInToolsTest, RunWarnsAboutCountryWithoutGeoip) {
  dir.write("country.mp", "if country(client.ip) in [DE] then tag \"de\"\n");
  auto r = run_policyc(dir.path(), {"run", "country.mp", "corpus/pass.test.eml"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.err,
            "warning: the policy reads country(client.ip) but no --geoip was given: it has no value\n");
}

}  // namespace
}  // namespace mp::e2e
