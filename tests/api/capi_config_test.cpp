// The C API's configuration and facts: every documented key takes a good value and
// refuses a bad one naming the key; the values reach the evaluator (facts off, a DNS
// server that never answers, its timeout, the fact budget, authserv_id, the message
// size limit, geoip.path; trace is in capi_verdict_test.cpp); an evaluator keeps the
// values it was made with.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/api/api_test_util.h"

namespace mp::api_test {
namespace {

using nlohmann::json;

// ---- Keys --------------------------------------------------------------------------------

struct Key {
  std::string key, good;
  std::vector<std::string> bad;
};

void PrintTo(const Key& k, std::ostream* os) {
  *os << k.key;
}

class CapiConfigKey : public testing::TestWithParam<Key> {};

TEST_P(CapiConfigKey, TakesAGoodValueAndRefusesBadOnesNamingTheKey) {
  const Key& k = GetParam();
  Config config(mp_config_new());
  mp_error err = dirty_error();
  EXPECT_EQ(mp_config_set(config.get(), k.key.c_str(), k.good.c_str(), &err), MP_OK) << err.message;
  EXPECT_EQ(err.code, MP_OK);
  EXPECT_STREQ(err.message, "");
  for (const std::string& bad : k.bad) {
    err = dirty_error();
    EXPECT_EQ(mp_config_set(config.get(), k.key.c_str(), bad.c_str(), &err), MP_ERR_INVALID_ARGUMENT) << bad;
    EXPECT_EQ(err.code, MP_ERR_INVALID_ARGUMENT) << bad;
    EXPECT_TRUE(std::string(err.message).starts_with(k.key + ": ")) << bad << ": " << err.message;
  }
}

const Key kKeys[] = {
    Key{"dns.servers", "127.0.0.1:5353, 192.0.2.53 [::1]:53", {"not-a-server", "192.0.2.1:dns"}},
    Key{"dns.timeout_ms", "100", {"0", "60001", "", "ten", "100ms", "-5"}},
    Key{"facts", "off", {"", "maybe", "OFF "}}, Key{"facts.budget_ms", "600000", {"0", "600001", "1.5"}},
    Key{"facts.max_queries", "0", {"-1", "100001", "x"}},
    Key{"authserv_id", "mx.widget.com", {"", "two words", "a;b"}},
    Key{"limits.max_message_bytes", "2147483647", {"0", "2147483648", "64MiB"}},
    Key{"trace", "on", {"", "sometimes"}},
    Key{"clamd", "unix:/run/clamav/clamd.ctl", {"clamd", "127.0.0.1:99999", "unix:"}},
    Key{"clamd.timeout_ms", "30000", {"0", "600001", "30s"}},
    // A Redis that is down is fine to name (it is tried per message); an address that
    // names no store, or an LMDB file in no directory, is not.
    Key{"state",
        "redis://127.0.0.1:1/2",
        {"", "redis://nohost", "memcached://x:1", "lmdb:/nonexistent/dir/s.mdb"}}};

INSTANTIATE_TEST_SUITE_P(
    Keys, CapiConfigKey, testing::ValuesIn(kKeys),
    [](const testing::TestParamInfo<Key>& info) {
      std::string name = info.param.key;
      std::replace(name.begin(), name.end(), '.', '_');
      return name;
    });

TEST(CapiConfig, UnknownKeyIsRefusedNamingIt) {
  Config config(mp_config_new());
  mp_error err = dirty_error();
  EXPECT_EQ(mp_config_set(config.get(), "dns.server", "127.0.0.1", &err), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(err.code, MP_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err.message).find("`dns.server`"), std::string::npos) << err.message;
}

// The backquoted words of the first column of `text`'s Markdown table rows.
std::set<std::string> table_keys(const std::string& text) {
  std::set<std::string> keys;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("| `")) keys.insert(line.substr(3, line.find('`', 3) - 3));
  }
  return keys;
}

TEST(CapiConfig, TheKeysKnownAreTheKeysDocumentedAndTestedHere) {
  Config config(mp_config_new());
  mp_error err = dirty_error();
  ASSERT_EQ(mp_config_set(config.get(), "?", "", &err), MP_ERR_INVALID_ARGUMENT);
  // "unknown config key `?` (known: dns.servers, dns.timeout_ms, ...)"
  const std::string message = err.message;
  const size_t list = message.find("known: ") + 7;
  std::istringstream words(message.substr(list, message.find(')', list) - list));
  std::set<std::string> keys;
  for (std::string key; std::getline(words >> std::ws, key, ',');) keys.insert(key);
  EXPECT_EQ(keys.size(), 12u) << message;
  std::string doc = e2e::read_text(fs::path(MP_SOURCE_DIR) / "docs" / "embedding.md");
  size_t section = doc.find("### Configuration");
  ASSERT_NE(section, std::string::npos);
  EXPECT_EQ(table_keys(doc.substr(section, doc.find("\n### ", section + 1) - section)), keys)
      << "docs/embedding.md, Configuration";
  std::set<std::string> tested = {"geoip.path"};  // AMissingGeoipDatabaseIsIo
  for (const Key& k : kKeys) tested.insert(k.key);
  EXPECT_EQ(tested, keys);
}

TEST(CapiConfig, AMissingGeoipDatabaseIsIo) {
  Config config(mp_config_new());
  mp_error err = dirty_error();
  EXPECT_EQ(mp_config_set(config.get(), "geoip.path", "/nonexistent/GeoLite2-Country.mmdb", &err), MP_ERR_IO);
  EXPECT_EQ(err.code, MP_ERR_IO);
  EXPECT_TRUE(std::string(err.message).starts_with("geoip.path: ")) << err.message;
}

TEST(CapiConfig, GeoipDatabaseAnswersCountry) {
  if (e2e::run_shell("perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null").status != 0) {
    GTEST_SKIP() << "libmaxmind-db-writer-perl is needed to build the test database";
  }
  e2e::TempDir dir;
  const fs::path db = dir.path() / "country.mmdb";
  ASSERT_EQ(e2e::run_shell(
                "perl " + e2e::shell_quote(std::string(MP_SOURCE_DIR) + "/tests/data/geoip/make_test_db.pl") +
                " " + e2e::shell_quote(db.string()))
                .status,
            0);
  Program program = compile(dir.write("geo.mp", "if country(client.ip) is \"DE\" then tag \"de\"\n"));
  Config config = api_test::config({{"geoip.path", db.c_str()}, {"facts", "on"}});
  Evaluator evaluator(mp_evaluator_new(program.get(), config.get(), nullptr));
  Verdict v =
      evaluate(evaluator.get(), "Subject: x\n\nhi\n", envelope({"--client-ip", "198.51.100.7"}).get());
  ASSERT_EQ(mp_verdict_tag_count(v.get()), 1u);
  EXPECT_STREQ(mp_verdict_tag(v.get(), 0), "de");
}

// ---- Limits and trace ---------------------------------------------------------------------

TEST(CapiConfig, MessagesOverTheSizeLimitAreNotJudged) {
  Program program = compile(kWidgetPolicy);
  Config config = api_test::config({{"limits.max_message_bytes", "64"}});
  Evaluator evaluator(mp_evaluator_new(program.get(), config.get(), nullptr));
  Envelope env(mp_envelope_new());
  const std::string fits = "Subject: x\n\n" + std::string(52, 'a');
  ASSERT_EQ(fits.size(), 64u);
  EXPECT_NE(evaluate(evaluator.get(), fits, env.get()), nullptr);

  const std::string over = fits + "b";
  mp_error err = dirty_error();
  EXPECT_EQ(mp_evaluate(evaluator.get(), over.data(), over.size(), env.get(), &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_TOO_LARGE);
  EXPECT_NE(std::string(err.message).find("limits.max_message_bytes"), std::string::npos) << err.message;
}

TEST(CapiConfig, AnEvaluatorKeepsTheValuesItWasMadeWith) {
  Program program = compile(kWidgetPolicy);
  Config config(mp_config_new());
  Evaluator before(mp_evaluator_new(program.get(), config.get(), nullptr));
  ASSERT_EQ(mp_config_set(config.get(), "limits.max_message_bytes", "10", nullptr), MP_OK);
  Evaluator after(mp_evaluator_new(program.get(), config.get(), nullptr));
  const std::string message = "Subject: more than ten bytes\n\n";
  Envelope env(mp_envelope_new());
  EXPECT_NE(evaluate(before.get(), message, env.get()), nullptr);
  mp_error err = dirty_error();
  EXPECT_EQ(mp_evaluate(after.get(), message.data(), message.size(), env.get(), &err), nullptr);
  EXPECT_EQ(err.code, MP_ERR_TOO_LARGE);
}

// ---- Facts ---------------------------------------------------------------------------------

const char* const kSpfPolicy = "if spf is \"fail\" then reject\n";
const std::vector<std::string> kSpfEnvelope = {"--client-ip", "192.0.2.1", "--sender", "a@example.org"};
const std::string kSpfMessage = "From: a@example.org\nSubject: spf\n\nhi\n";

std::vector<mp_fact> facts_of(const mp_verdict* v) {
  std::vector<mp_fact> out(mp_verdict_fact_count(v));
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(mp_verdict_fact_at(v, i, &out[i]), MP_OK);
  mp_fact past{};
  EXPECT_EQ(mp_verdict_fact_at(v, out.size(), &past), MP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_verdict_fact_at(v, 0, nullptr), MP_ERR_INVALID_ARGUMENT);
  return out;
}

TEST(CapiFacts, OffReportsTheFactWithoutValueAndAsksNoDns) {
  SilentDnsServer dns;
  e2e::TempDir dir;
  Program program = compile(dir.write("spf.mp", kSpfPolicy));
  Config config = api_test::config({{"facts", "off"}, {"dns.servers", dns.server()}});
  Evaluator evaluator(mp_evaluator_new(program.get(), config.get(), nullptr));
  Verdict v = evaluate(evaluator.get(), kSpfMessage, envelope(kSpfEnvelope).get());
  EXPECT_EQ(mp_verdict_action(v.get()), MP_ACTION_DELIVER);
  EXPECT_EQ(mp_verdict_fact(v.get()), nullptr);
  std::vector<mp_fact> facts = facts_of(v.get());
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_STREQ(facts[0].name, "spf");
  EXPECT_STREQ(facts[0].value, "");
  EXPECT_EQ(facts[0].temp_error, 0);
  EXPECT_STRNE(facts[0].detail, "");
  EXPECT_EQ(mp_verdict_result_header_count(v.get()), 2u) << "no Authentication-Results";
  EXPECT_EQ(dns.questions(), 0);
}

TEST(CapiFacts, ADnsServerThatNeverAnswersTempfailsNamingTheFact) {
  SilentDnsServer dns;
  e2e::TempDir dir;
  Program program = compile(dir.write("spf.mp", kSpfPolicy));
  Config config = api_test::config({{"dns.servers", dns.server()}, {"dns.timeout_ms", "100"}});
  Evaluator evaluator(mp_evaluator_new(program.get(), config.get(), nullptr));
  Verdict v = evaluate(evaluator.get(), kSpfMessage, envelope(kSpfEnvelope).get());
  EXPECT_EQ(mp_verdict_action(v.get()), MP_ACTION_TEMPFAIL);
  EXPECT_STREQ(mp_verdict_fact(v.get()), "spf");
  EXPECT_EQ(mp_verdict_smtp_code(v.get()), 451);
  EXPECT_STREQ(mp_verdict_smtp_status(v.get()), "4.4.3");
  EXPECT_TRUE(std::string(mp_verdict_smtp_text(v.get())).starts_with("temporary failure computing spf"))
      << mp_verdict_smtp_text(v.get());
  // The rule that read it.
  EXPECT_STREQ(mp_verdict_rule(v.get()), "line_1");
  EXPECT_STREQ(mp_verdict_stage(v.get()), "custom_filters");
  EXPECT_EQ(mp_verdict_location(v.get()), (dir.path() / "spf.mp").string() + ":1:1");
  std::vector<mp_fact> facts = facts_of(v.get());
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_STREQ(facts[0].value, "temperror");
  EXPECT_EQ(facts[0].temp_error, 1);
  EXPECT_GT(facts[0].seconds, 0.05);
  // 100 ms a try, not the default 2 s.
  EXPECT_LT(mp_verdict_seconds(v.get()), 2.0);
  EXPECT_GT(dns.questions(), 0) << "the questions went to dns.servers";
  json j = json::parse(mp_verdict_json(v.get()));
  EXPECT_EQ(j["fact"], "spf");
  EXPECT_EQ(j["rule"], nullptr) << "no terminal action decided";
}

TEST(CapiFacts, AuthenticationResultsNameTheAuthservId) {
  SilentDnsServer dns;
  e2e::TempDir dir;
  Program program = compile(dir.write("spf.mp",
                                      "settings { facts.on_temperror = ignore }\n"
                                      "if spf is \"temperror\" then tag \"spf-unknown\"\n"));
  Config config = api_test::config(
      {{"dns.servers", dns.server()}, {"dns.timeout_ms", "100"}, {"authserv_id", "mx.widget.com"}});
  Evaluator evaluator(mp_evaluator_new(program.get(), config.get(), nullptr));
  Verdict v = evaluate(evaluator.get(), kSpfMessage, envelope(kSpfEnvelope).get());
  EXPECT_EQ(mp_verdict_action(v.get()), MP_ACTION_DELIVER);
  ASSERT_EQ(mp_verdict_tag_count(v.get()), 1u);
  ASSERT_EQ(mp_verdict_result_header_count(v.get()), 3u);
  mp_header h{};
  ASSERT_EQ(mp_verdict_result_header(v.get(), 2, &h), MP_OK);
  EXPECT_STREQ(h.name, "Authentication-Results");
  // Folded (RFC 5322 2.2.3) before each method, as mailpolicy.h says.
  EXPECT_TRUE(std::string(h.value).starts_with("mx.widget.com;\r\n\tspf=temperror")) << h.value;
  EXPECT_EQ(json::parse(mp_verdict_json(v.get()))["auth"], json({{"spf", "temperror"}}));
}

TEST(CapiFacts, TheFactBudgetEndsTheWait) {
  SilentDnsServer dns;
  e2e::TempDir dir;
  Program program = compile(dir.write("spf.mp", kSpfPolicy));
  Config config = api_test::config(
      {{"dns.servers", dns.server()}, {"facts.budget_ms", "300"}, {"dns.timeout_ms", "5000"}});
  Evaluator evaluator(mp_evaluator_new(program.get(), config.get(), nullptr));
  Verdict v = evaluate(evaluator.get(), kSpfMessage, envelope(kSpfEnvelope).get());
  EXPECT_EQ(mp_verdict_action(v.get()), MP_ACTION_TEMPFAIL);
  EXPECT_STREQ(mp_verdict_fact(v.get()), "spf");
  // 300 ms for the message's DNS, not 5 s a try.
  EXPECT_GT(mp_verdict_seconds(v.get()), 0.25);
  EXPECT_LT(mp_verdict_seconds(v.get()), 3.0);
}

}  // namespace
}  // namespace mp::api_test
