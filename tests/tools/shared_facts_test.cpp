// SharedFacts (each fact computed once per message, only where the run has a source)
// and StatedFacts (a case's stated facts first, the rest from SharedFacts).
#include <gtest/gtest.h>

#include "tools/mptest.h"
#include "tools/shared_facts.h"
#include "tools/stated_facts.h"

namespace mp::tools {
namespace {

using vm::FieldId;

// Answers "pass" / 127.0.0.N, with a fresh value each time: a second computation shows.
class CountingFacts final : public vm::FactSource {
 public:
  void prefetch(std::span<const vm::FactUse> facts) override { prefetched += facts.size(); }
  vm::FactValue compute(FieldId, std::span<const std::string> arguments) override {
    ++computed;
    vm::FactValue v;
    v.text.push_back("call" + std::to_string(computed));
    for (const auto& a : arguments) v.arguments.push_back(a);
    return v;
  }
  int computed = 0;
  size_t prefetched = 0;
};

TEST(SharedFactsTest, ComputesEachFactOnceForEveryEvaluation) {
  CountingFacts inner;
  SharedFacts facts(&inner, {.dns = true, .geoip = false});
  EXPECT_EQ(facts.compute(FieldId::Spf, {}).text, std::vector<std::string>{"call1"});
  EXPECT_EQ(facts.compute(FieldId::Spf, {}).text, std::vector<std::string>{"call1"});
  std::vector<std::string> zones = {"a.example", "b.example"};
  facts.compute(FieldId::Dnsbl, zones);
  std::vector<std::string> one = {"b.example"};
  EXPECT_EQ(facts.compute(FieldId::Dnsbl, one).text, std::vector<std::string>{"call3"});  // per zone
  EXPECT_EQ(inner.computed, 3);
}

TEST(SharedFactsTest, FactsWithoutASourceReadAsNoValue) {
  CountingFacts inner;
  SharedFacts facts(&inner, {.dns = false, .geoip = true});
  std::vector<std::string> field = {"client.ip"};
  EXPECT_TRUE(facts.compute(FieldId::Spf, {}).text.empty());
  EXPECT_EQ(facts.compute(FieldId::Country, field).text.size(), 1u);
  std::vector<vm::FactUse> uses = {{FieldId::Spf, {}}, {FieldId::Country, {"client.ip"}}};
  facts.prefetch(uses);
  EXPECT_EQ(inner.computed, 1);
  EXPECT_EQ(inner.prefetched, 0u);  // country is known already, spf has no source
}

TEST(StatedFactsTest, StatedZonesAnsweredTheOthersNoted) {
  auto stated = parse_fact_key("dnsbl(\"zen.example\")");
  ASSERT_TRUE(stated);
  ASSERT_FALSE(parse_fact_value(*stated, "127.0.0.2"));
  std::vector<StatedFact> all = {*stated};
  SharedFacts computed(nullptr, {});
  StatedFacts facts(all, computed);
  std::vector<std::string> zones = {"zen.example", "other.example"};
  vm::FactValue v = facts.compute(FieldId::Dnsbl, zones);
  ASSERT_EQ(v.ips.size(), 1u);
  EXPECT_EQ(v.ips[0].str(), "127.0.0.2");
  EXPECT_EQ(v.arguments, std::vector<std::string>{"zen.example"});
  EXPECT_EQ(facts.unstated(), std::vector<std::string>{"dnsbl(\"other.example\")"});
}

TEST(StatedFactsTest, KeysAndValues) {
  EXPECT_FALSE(parse_fact_key("dnsbl"));  // needs its zone
  EXPECT_FALSE(parse_fact_key("dnsbl(zen.example)"));
  EXPECT_FALSE(parse_fact_key("helo"));  // the envelope key, not a fact
  auto mx = parse_fact_key("mx");
  ASSERT_TRUE(mx);
  EXPECT_EQ(mx->argument, "");
  auto country = parse_fact_key("country(client.effective_ip)");
  ASSERT_TRUE(country);
  EXPECT_EQ(country->argument, "client.effective_ip");
  auto spf = parse_fact_key("spf");
  ASSERT_TRUE(spf);
  EXPECT_EQ(parse_fact_value(*spf, "pass, fail").value_or(""), "spf has one value at most, not 2");
  auto temp = *spf;
  ASSERT_FALSE(parse_fact_value(temp, "temperror"));
  EXPECT_TRUE(temp.temp_error);
  EXPECT_EQ(temp.text, std::vector<std::string>{"temperror"});
  auto ptr = *parse_fact_key("ptr");
  ASSERT_FALSE(parse_fact_value(ptr, "temperror"));  // a list fact: no value, failed
  EXPECT_TRUE(ptr.temp_error && ptr.text.empty());
}

// A stated value reads as the VM would compute it: a domain lowercased (the VM folds
// domains), a signature name as clamd writes it, whose case a rule tests.
TEST(StatedFactsTest, AValueKeepsTheCaseTheFactHas) {
  auto ptr = *parse_fact_key("ptr");
  ASSERT_FALSE(parse_fact_value(ptr, "Mail.Example.COM"));
  EXPECT_EQ(ptr.text, std::vector<std::string>{"mail.example.com"});
  auto signature = *parse_fact_key("av.signature");
  ASSERT_FALSE(parse_fact_value(signature, "Win.Test.EICAR_HDB-1"));
  EXPECT_EQ(signature.text, std::vector<std::string>{"Win.Test.EICAR_HDB-1"});
}

// A value in double quotes is one value, quotes off: `"a b"` was two values, `"a` and
// `b"`, and `ptr: ""` a name of two quote marks the trace showed as `""`. An empty one
// is refused with the way to say "no value".
TEST(StatedFactsTest, AQuotedValueIsOneValueWithoutItsQuotes) {
  auto signature = *parse_fact_key("av.signature");
  ASSERT_FALSE(parse_fact_value(signature, "\"Local Sig-1\", Win.Test.EICAR_HDB-1"));
  EXPECT_EQ(signature.text, (std::vector<std::string>{"Local Sig-1", "Win.Test.EICAR_HDB-1"}));
  auto ptr = *parse_fact_key("ptr");
  EXPECT_EQ(parse_fact_value(ptr, "\"\"").value_or(""),
            "an empty value is none ptr has; `none` states that it has no value");
  auto none = *parse_fact_key("ptr");
  ASSERT_FALSE(parse_fact_value(none, "none"));
  EXPECT_TRUE(none.text.empty());
  EXPECT_EQ(split_words("\"john doe\"@example.com, b@example.com"),
            (std::vector<std::string>{"\"john doe\"@example.com", "b@example.com"}));
}

}  // namespace
}  // namespace mp::tools
