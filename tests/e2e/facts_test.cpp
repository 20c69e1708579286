// End to end: `policyc run --dns-server` computing spf, dkim, dmarc, fcrdns and
// helo.checks against a DNS server this test starts on 127.0.0.1, over messages
// signed by python3-dkim (an independent DKIM implementation).
#include <gtest/gtest.h>
#include <map>

#include "auth/dkim.h"
#include "tests/dnsd/test_dns_server.h"
#include "tests/e2e/e2e_util.h"

namespace mp::e2e {
namespace {

const char* kMessage =
    "From: Info <info@example.test>\r\n"
    "To: ap@widget.com\r\n"
    "Subject: Invoice 42\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <42@example.test>\r\n"
    "\r\n"
    "Please find the invoice attached.\r\n";

const char* kPolicy = R"(
if spf is "fail" then reject "550 5.7.1 SPF says no"
if dmarc is "fail" and dmarc.policy is "reject" then reject "550 5.7.1 DMARC"
if spf is "pass" then tag "spf-pass"
if dkim is "pass" and dkim.domains is example.test then tag "dkim-pass"
if dkim is "fail" then tag "dkim-fail"
if dmarc is "pass" then tag "dmarc-pass"
if fcrdns is "pass" and ptr is mail.example.test then tag "fcrdns"
if helo.checks is "ok" then tag "helo-ok"
if helo.checks is "localhost" then tag "helo-localhost"
)";

bool python_dkim_available() {
  return run_shell("/usr/bin/python3 -c 'import dkim' 2>/dev/null").status == 0 &&
         run_shell("openssl version >/dev/null 2>&1").status == 0;
}

class FactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!python_dkim_available()) GTEST_SKIP() << "/usr/bin/python3 with python3-dkim is needed";
    ASSERT_EQ(run_shell("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                        shell_quote((dir.path() / "key.pem").string()) + " 2>/dev/null")
                  .status,
              0);
    std::string record = auth::dkim_public_key_record(read_text(dir.path() / "key.pem"));
    zone = std::string(R"(
example.test.                300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.test.         300 IN TXT "v=DMARC1; p=reject"
mail.example.test.           300 IN A   192.0.2.10
10.2.0.192.in-addr.arpa.     300 IN PTR mail.example.test.
slow.test.                   TIMEOUT
10.2.0.192.zen.test.         300 IN A   127.0.0.2
10.2.0.192.zen.test.         300 IN A   127.0.0.4
10.2.0.192.wl.test.          300 IN A   127.0.10.1
7.100.51.198.zen.test.       TIMEOUT
example.test.                300 IN MX  10 mail.example.test.
example.net.                 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.net.          300 IN TXT "v=DMARC1; p=none"
_dmarc.example.com.          300 IN TXT "v=DMARC1; p=reject"
10.2.0.192.bl2.test.         300 IN A   127.0.0.3
nullmx.test.                 300 IN MX  0 .
aonly.test.                  300 IN A   192.0.2.50
inside.test.                 300 IN MX  10 mx.inside.test.
badhost.test.                300 IN MX  10 localhost.
mx.inside.test.              300 IN A   10.1.2.3
sel._domainkey.example.test. 300 IN TXT )") +
           split_txt(record) + "\n";
    server = std::make_unique<testing::TestDnsServer>(zone);
    policy = dir.write("policy.mp", kPolicy);
  }

  // A TXT value of any length in master-file syntax (strings of at most 255 octets).
  static std::string split_txt(const std::string& value) {
    std::string out;
    for (size_t i = 0; i < value.size(); i += 255) out += "\"" + value.substr(i, 255) + "\" ";
    return out;
  }

  // The message signed by python3-dkim (rsa-sha256, relaxed/relaxed).
  std::filesystem::path signed_message(const std::string& name,
                                       const std::string& appended_after_signing = "") {
    auto unsigned_path = dir.write(name + ".unsigned", kMessage);
    std::string script =
        "import dkim,sys\n"
        "msg=open(sys.argv[1],'rb').read(); key=open(sys.argv[2],'rb').read()\n"
        "sig=dkim.sign(msg,b'sel',b'example.test',key,canonicalize=(b'relaxed',b'relaxed'),"
        "include_headers=[b'from',b'to',b'subject',b'date',b'message-id'])\n"
        "sys.stdout.buffer.write(sig+msg)\n";
    auto script_path = dir.write("sign.py", script);
    auto r = run_program({"/usr/bin/python3", script_path.string(), unsigned_path.string(),
                          (dir.path() / "key.pem").string()});
    EXPECT_EQ(r.status, 0) << describe(r);
    return dir.write(name, r.out + appended_after_signing);
  }

  RunResult run(const std::vector<std::string>& extra, const std::filesystem::path& message,
                const std::string& client = "192.0.2.10", const std::string& sender = "info@example.test") {
    std::vector<std::string> args = {"run",
                                     policy.string(),
                                     message.string(),
                                     "--client-ip",
                                     client,
                                     "--sender",
                                     sender,
                                     "--helo",
                                     "mail.example.test",
                                     "--dns-server",
                                     server->address(),
                                     "--dns-timeout",
                                     "300"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_policyc(args);
  }

  TempDir dir;
  std::string zone;
  std::unique_ptr<testing::TestDnsServer> server;
  std::filesystem::path policy;
};

TEST_F(FactsTest, AuthenticatedMailPassesEveryCheck) {
  auto r = run({"--format", "json"}, signed_message("good.eml"));
  ASSERT_EQ(r.status, 0) << describe(r);
  auto j = parse_json_line(r.last_line());
  EXPECT_EQ(j["action"], "deliver");
  EXPECT_EQ(j["tags"], nlohmann::json({"spf-pass", "dkim-pass", "dmarc-pass", "fcrdns", "helo-ok"})) << r.out;
  EXPECT_EQ(j["auth"], nlohmann::json({{"spf", "pass"}, {"dkim", "pass"}, {"dmarc", "pass"}})) << r.out;
  bool saw_spf = false;
  for (const auto& f : j["facts"]) saw_spf |= f["fact"] == "spf" && f["value"] == "pass";
  EXPECT_TRUE(saw_spf) << r.out;
}

TEST_F(FactsTest, SpfFailRejectsAndSaysWhichMechanism) {
  auto r = run({"--explain"}, signed_message("spoof.eml"), "198.51.100.7");
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("reject"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fact spf = fail — mailfrom example.test: matched -all"), std::string::npos) << r.out;
}

TEST_F(FactsTest, AFooterAddedAfterSigningBreaksDkimAndTheTraceSaysWhy) {
  auto r = run({"--explain"}, signed_message("footer.eml", "--\r\nSent through the list footer tool\r\n"));
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("tag=\"dkim-fail\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("d=example.test s=sel: fail (body hash mismatch)"), std::string::npos) << r.out;
  // SPF still passes and aligns, so DMARC passes.
  EXPECT_NE(r.out.find("tag=\"dmarc-pass\""), std::string::npos) << r.out;
}

TEST_F(FactsTest, WriteHeadersAddsAuthenticationResults) {
  auto r = run({"--write-headers", (dir.path() / "out").string()}, signed_message("ar.eml"));
  ASSERT_EQ(r.status, 0) << describe(r);
  std::string written = read_text(dir.path() / "out" / "ar.eml");
  EXPECT_NE(written.find("Authentication-Results: mailpolicy;"), std::string::npos) << written;
  EXPECT_NE(written.find("spf=pass smtp.mailfrom=info@example.test"), std::string::npos) << written;
  EXPECT_NE(written.find("dkim=pass header.d=example.test header.s=sel"), std::string::npos) << written;
  EXPECT_NE(written.find("dmarc=pass header.from=example.test"), std::string::npos) << written;
}

TEST_F(FactsTest, ADnsTimeoutTempfailsNamingTheFact) {
  auto r = run({"--format", "json"}, signed_message("slow.eml"), "192.0.2.10", "info@slow.test");
  ASSERT_EQ(r.status, 0) << describe(r);
  auto j = parse_json_line(r.last_line());
  EXPECT_EQ(j["action"], "tempfail") << r.out;
  std::string text = j["text"];
  EXPECT_NE(text.find("spf"), std::string::npos) << text;
  EXPECT_NE(text.find("timeout"), std::string::npos) << text;
  EXPECT_EQ(j["rule"], nullptr);
}

TEST_F(FactsTest, OnTemperrorIgnoreLetsRulesSeeTheTemperror) {
  policy = dir.write("ignore.mp",
                     "settings { facts.on_temperror = ignore }\n"
                     "if spf is \"temperror\" then score 1 \"SPF could not be checked\"\n");
  auto r = run({"--format", "json"}, signed_message("slow.eml"), "192.0.2.10", "info@slow.test");
  ASSERT_EQ(r.status, 0) << describe(r);
  auto j = parse_json_line(r.last_line());
  EXPECT_EQ(j["action"], "deliver") << r.out;
  EXPECT_EQ(j["score"], 1) << r.out;
  EXPECT_EQ(j["auth"]["spf"], "temperror") << r.out;
}

TEST_F(FactsTest, HeloLocalhostIsFlagged) {
  auto message = signed_message("helo.eml");
  auto r = run_policyc({"run", policy.string(), message.string(), "--client-ip", "192.0.2.10", "--sender",
                        "info@example.test", "--helo", "localhost", "--dns-server", server->address()});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("tag=\"helo-localhost\""), std::string::npos) << r.out;
}

TEST_F(FactsTest, DnsListsReturnTheirCodesPerZone) {
  policy = dir.write("lists.mp",
                     "if dnsbl(\"zen.test\") in [127.0.0.4] then tag \"zen-xbl\"\n"
                     "if dnsbl(\"zen.test\") in [127.0.0.9] then tag \"zen-other\"\n"
                     "if dnsbl(\"other.test\") then tag \"other-listed\"\n"
                     "if dnswl(\"wl.test\") then tag \"allow-listed\"\n");
  auto r = run({"--format", "json"}, signed_message("lists.eml"));
  ASSERT_EQ(r.status, 0) << describe(r);
  auto j = parse_json_line(r.last_line());
  EXPECT_EQ(j["tags"], nlohmann::json({"zen-xbl", "allow-listed"})) << r.out;
  // A zone that times out is a temperror (here: tempfail by default).
  auto slow = run({"--format", "json"}, signed_message("slow-list.eml"), "198.51.100.7");
  auto k = parse_json_line(slow.last_line());
  EXPECT_EQ(k["action"], "tempfail") << slow.out;
  EXPECT_NE(std::string(k["text"]).find("dnsbl"), std::string::npos) << slow.out;
}

// Issue 9: each zone is its own fact, in the trace and in JSON, never "dnsbl(\"ZONE\")".
TEST_F(FactsTest, EachDnsListIsReportedUnderItsOwnName) {
  policy =
      dir.write("two-lists.mp",
                "if dnsbl(\"zen.test\") in [127.0.0.2] and dnsbl(\"bl2.test\") in [127.0.0.3] "
                "then tag \"both\"\nif mx(sender.domain) is mx and mx(helo) is not none then tag \"mx\"\n");
  auto message = signed_message("two-lists.eml");
  auto r = run({"--format", "json"}, message);
  ASSERT_EQ(r.status, 0) << describe(r);
  auto j = parse_json_line(r.last_line());
  EXPECT_EQ(j["tags"], nlohmann::json({"both", "mx"})) << r.out;
  std::map<std::string, std::string> facts;
  for (const auto& f : j["facts"]) facts[f["fact"]] = f["value"];
  EXPECT_EQ(facts["dnsbl(\"zen.test\")"], "127.0.0.2, 127.0.0.4") << r.out;
  EXPECT_EQ(facts["dnsbl(\"bl2.test\")"], "127.0.0.3") << r.out;
  EXPECT_EQ(facts["mx(sender.domain)"], "mx") << r.out;
  EXPECT_EQ(facts["mx(helo)"], "a_only") << r.out;
  EXPECT_EQ(facts.count("dnsbl(\"ZONE\")"), 0u) << r.out;
  auto text = run({"--explain"}, message);
  EXPECT_NE(text.out.find("fact dnsbl(\"bl2.test\") = 127.0.0.3"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("mx(helo) is not none: true — value \"a_only\""), std::string::npos) << text.out;
  auto listing = run_policyc({"disasm", policy.string()});
  EXPECT_NE(listing.out.find("dnsbl(\"bl2.test\")"), std::string::npos) << listing.out;
  EXPECT_NE(listing.out.find("mx(helo)"), std::string::npos) << listing.out;
}

TEST_F(FactsTest, ATempfailByAFactSaysSo) {
  auto r = run({}, signed_message("slow-text.eml"), "192.0.2.10", "info@slow.test");
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("tempfail by fact spf (rule "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("by score"), std::string::npos) << r.out;
  auto j = parse_json_line(
      run({"--format", "json"}, signed_message("slow-json.eml"), "192.0.2.10", "info@slow.test").last_line());
  EXPECT_EQ(j["fact"], "spf");
}

// A zone that times out stops only the rule that reads it: an earlier rule's reject
// over another zone still decides (issue 9).
TEST_F(FactsTest, ATimeoutOfOneZoneStopsOnlyTheRuleThatReadsIt) {
  policy = dir.write("zones.mp",
                     "stage custom_filters {\n  rule bl: if dnsbl(\"zen.test\") then reject \"550 5.7.1 listed\"\n}\n"
                     "stage spam_engine {\n  rule slow: if dnsbl(\"slowlist.test\") then score 3 \"slow\"\n}\n");
  zone += "10.2.0.192.slowlist.test. TIMEOUT\n";
  server = std::make_unique<testing::TestDnsServer>(zone);
  auto r = run({}, signed_message("zones.eml"));
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("reject by custom_filters.bl"), std::string::npos) << r.out;
  policy = dir.write("zones-tag.mp",
                     "stage custom_filters {\n  rule bl: if dnsbl(\"zen.test\") then tag \"listed\"\n}\n"
                     "stage spam_engine {\n  rule slow: if dnsbl(\"slowlist.test\") then score 3 \"slow\"\n}\n");
  auto t = run({}, signed_message("zones-tag.eml"));
  EXPECT_NE(t.out.find("tempfail by fact dnsbl(\"slowlist.test\") (rule spam_engine.slow"), std::string::npos)
      << t.out;
}

// The seed of issue 9: SPF passes for the attacker's domain, the CEO's domain asks
// for reject; the order of the mailboxes never changes the verdict.
TEST_F(FactsTest, EveryAuthorDomainCountsForDmarc) {
  for (const char* from : {"<attacker@example.net>, Chief Executive <ceo@example.com>",
                           "Chief Executive <ceo@example.com>, <attacker@example.net>"}) {
    auto message =
        dir.write("two-authors.eml",
                  std::string("From: ") + from + "\r\nTo: ap@widget.com\r\nSubject: wire\r\n\r\npay now\r\n");
    auto r = run({"--format", "json"}, message, "192.0.2.10", "attacker@example.net");
    ASSERT_EQ(r.status, 0) << describe(r);
    auto j = parse_json_line(r.last_line());
    EXPECT_EQ(j["action"], "reject") << from << "\n" << r.out;
    EXPECT_EQ(j["auth"]["dmarc"], "fail") << r.out;
  }
  auto two_fields = dir.write("two-from-fields.eml",
                              "From: attacker@example.net\r\nFrom: Chief Executive <ceo@example.com>\r\n"
                              "To: ap@widget.com\r\nSubject: wire\r\n\r\npay now\r\n");
  auto r = run({"--format", "json"}, two_fields, "192.0.2.10", "attacker@example.net");
  EXPECT_EQ(parse_json_line(r.last_line())["action"], "reject") << r.out;
}

TEST_F(FactsTest, MxChecksOfTheSenderDomain) {
  policy = dir.write("mx.mp",
                     "if mx(sender.domain) is \"mx\" then tag \"mx\"\n"
                     "if mx(sender.domain) is \"null_mx\" then tag \"null_mx\"\n"
                     "if mx(sender.domain) is \"a_only\" then tag \"a_only\"\n"
                     "if mx(sender.domain) is \"none\" then tag \"none\"\n"
                     "if mx(sender.domain) is \"private\" then tag \"private\"\n"
                     "if mx(sender.domain) is \"bad_host\" then tag \"bad_host\"\n");
  auto message = signed_message("mx.eml");
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"a@example.test", {"mx"}},           {"a@nullmx.test", {"null_mx"}},
      {"a@aonly.test", {"a_only"}},         {"a@nowhere.test", {"none"}},
      {"a@inside.test", {"mx", "private"}}, {"a@badhost.test", {"mx", "bad_host"}},
  };
  for (const auto& [sender, tags] : cases) {
    auto r = run({"--format", "json"}, message, "192.0.2.10", sender);
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(parse_json_line(r.last_line())["tags"], nlohmann::json(tags)) << sender << ": " << r.out;
  }
}

TEST_F(FactsTest, CountryFromAGeoIpDatabase) {
  if (run_shell("perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null").status != 0) {
    GTEST_SKIP() << "libmaxmind-db-writer-perl is needed to build the test database";
  }
  auto db = dir.path() / "test.mmdb";
  ASSERT_EQ(
      run_shell("perl " + shell_quote(std::string(MP_SOURCE_DIR) + "/tests/data/geoip/make_test_db.pl") +
                " " + shell_quote(db.string()))
          .status,
      0);
  policy = dir.write("country.mp",
                     "if country(client.ip) in [DE, RU] then tag \"geo\"\n"
                     "if country(client.ip) is \"US\" then tag \"us\"\n");
  auto message = signed_message("geo.eml");
  auto us = run({"--format", "json", "--geoip", db.string()}, message, "192.0.2.10");
  EXPECT_EQ(parse_json_line(us.last_line())["tags"], nlohmann::json({"us"})) << us.out;
  auto de = run({"--format", "json", "--geoip", db.string()}, message, "198.51.100.7");
  EXPECT_EQ(parse_json_line(de.last_line())["tags"], nlohmann::json({"geo"})) << de.out;
  auto missing = run({"--geoip", (dir.path() / "nope.mmdb").string()}, message);
  EXPECT_EQ(missing.status, 2) << describe(missing);
  EXPECT_NE(missing.err.find("--geoip"), std::string::npos) << missing.err;
}

TEST_F(FactsTest, SignedByPolicycVerifiesHereAndInPythonDkim) {
  auto unsigned_message = dir.write("out.eml", kMessage);
  auto r =
      run_policyc({"sign", unsigned_message.string(), "--domain", "example.test", "--selector", "sel",
                   "--key", (dir.path() / "key.pem").string(), "--output", (dir.path() / "signed").string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  auto signed_path = dir.path() / "signed" / "out.eml";
  ASSERT_EQ(read_text(signed_path).rfind("DKIM-Signature: v=1; a=rsa-sha256;", 0), 0u)
      << read_text(signed_path);
  auto here = run({"--format", "json"}, signed_path);
  EXPECT_EQ(parse_json_line(here.last_line())["auth"]["dkim"], "pass") << here.out;
  std::string script =
      "import dkim,sys\n"
      "record=sys.argv[2].encode()\n"
      "ok=dkim.verify(open(sys.argv[1],'rb').read(),dnsfunc=lambda name,timeout=5: record)\n"
      "sys.exit(0 if ok else 1)\n";
  auto verify = dir.write("verify.py", script);
  std::string record = auth::dkim_public_key_record(read_text(dir.path() / "key.pem"));
  auto python = run_program({"/usr/bin/python3", verify.string(), signed_path.string(), record});
  EXPECT_EQ(python.status, 0) << describe(python);
  auto bad_key =
      run_policyc({"sign", unsigned_message.string(), "--domain", "example.test", "--selector", "sel",
                   "--key", unsigned_message.string(), "--output", (dir.path() / "x").string()});
  EXPECT_EQ(bad_key.status, 1) << describe(bad_key);
}

TEST_F(FactsTest, FactsNobodyReadsAreNotComputed) {
  policy = dir.write("plain.mp", "if subject contains \"Invoice\" then tag \"invoice\"\n");
  auto r = run({"--format", "json"}, signed_message("plain.eml"));
  ASSERT_EQ(r.status, 0) << describe(r);
  auto j = parse_json_line(r.last_line());
  EXPECT_TRUE(j["facts"].empty()) << r.out;
  EXPECT_FALSE(j.contains("auth")) << r.out;
  EXPECT_EQ(server->queries(), 0u);
}

TEST_F(FactsTest, ABadDnsServerIsAUsageError) {
  auto r =
      run_policyc({"run", policy.string(), signed_message("x.eml").string(), "--dns-server", "nonsense"});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_NE(r.err.find("--dns-server"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mp::e2e
