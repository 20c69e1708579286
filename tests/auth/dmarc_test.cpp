// Tests for auth/dmarc.h: record grammar, organizational domains (libpsl), alignment,
// policy discovery and pct sampling. DNS is a map of TXT answers here; the
// end-to-end tests drive the same code through a real resolver.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "auth/dmarc.h"

namespace mp::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// --- record grammar -----------------------------------------------------------------

DmarcRecord parsed(std::string_view txt) {
  std::string error;
  const std::optional<DmarcRecord> record = parse_dmarc_record(txt, &error);
  EXPECT_TRUE(record) << txt << ": " << error;
  return record.value_or(DmarcRecord{});
}

// The parse error for `txt`, or "(parsed)" when it parses.
std::string parse_error(std::string_view txt) {
  std::string error;
  return parse_dmarc_record(txt, &error) ? "(parsed)" : error;
}

TEST(DmarcRecordParse, ReadsEveryTag) {
  const DmarcRecord record = parsed(
      "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s; pct=50; "
      "rua=mailto:agg@example.com,mailto:agg@example.net!10m; ruf=mailto:fail@example.com; fo=1; ri=3600");
  EXPECT_EQ(record.p, DmarcPolicy::Reject);
  EXPECT_EQ(record.sp, DmarcPolicy::Quarantine);
  EXPECT_TRUE(record.strict_dkim);
  EXPECT_TRUE(record.strict_spf);
  EXPECT_EQ(record.pct, 50);
  EXPECT_THAT(record.rua, ElementsAre("mailto:agg@example.com", "mailto:agg@example.net!10m"));
  EXPECT_THAT(record.ruf, ElementsAre("mailto:fail@example.com"));
}

TEST(DmarcRecordParse, AbsentTagsTakeTheRfcDefaults) {
  const DmarcRecord record = parsed("v=DMARC1; p=quarantine");
  EXPECT_EQ(record.p, DmarcPolicy::Quarantine);
  EXPECT_EQ(record.sp, DmarcPolicy::Quarantine) << "sp defaults to p";
  EXPECT_FALSE(record.strict_dkim);
  EXPECT_FALSE(record.strict_spf);
  EXPECT_EQ(record.pct, 100);
  EXPECT_THAT(record.rua, IsEmpty());
  EXPECT_THAT(record.ruf, IsEmpty());
  EXPECT_FALSE(parsed("v=DMARC1; p=none; adkim=r; aspf=r").strict_dkim);
}

TEST(DmarcRecordParse, WhitespaceAroundSeparatorsIsIgnored) {
  const DmarcRecord record =
      parsed("  v = DMARC1 ;p = reject ;\tpct= 20 ;; rua = mailto:a@example.com , mailto:b@example.org ; ");
  EXPECT_EQ(record.p, DmarcPolicy::Reject);
  EXPECT_EQ(record.pct, 20);
  EXPECT_THAT(record.rua, ElementsAre("mailto:a@example.com", "mailto:b@example.org"));
}

TEST(DmarcRecordParse, TagNamesAndKeywordsIgnoreCase) {
  const DmarcRecord record = parsed("V=dmarc1; P=Reject; SP=NONE; ADKIM=S; Aspf=s");
  EXPECT_EQ(record.p, DmarcPolicy::Reject);
  EXPECT_EQ(record.sp, DmarcPolicy::None);
  EXPECT_TRUE(record.strict_dkim);
  EXPECT_TRUE(record.strict_spf);
}

TEST(DmarcRecordParse, UnknownAndReportingOnlyTagsAreSkipped) {
  const DmarcRecord record =
      parsed("v=DMARC1; p=reject; np=none; psd=y; x-future=1:2; fo=bogus; rf=?; ri=soon");
  EXPECT_EQ(record.p, DmarcPolicy::Reject);
}

TEST(DmarcRecordParse, MustStartWithVersionOne) {
  for (std::string_view txt : {"", "p=reject; v=DMARC1", "v=DMARC2; p=reject", "v=DMARC10; p=reject",
                               "v=spf1 -all", "v=DMARC1p=reject", "DMARC1; p=reject"}) {
    EXPECT_EQ(parse_error(txt), "does not start with v=DMARC1") << txt;
  }
}

TEST(DmarcRecordParse, MissingOrBadPolicyWithoutRuaIsAnError) {
  EXPECT_EQ(parse_error("v=DMARC1"), "no p tag and no valid rua");
  EXPECT_EQ(parse_error("v=DMARC1; sp=reject"), "no p tag and no valid rua");
  EXPECT_EQ(parse_error("v=DMARC1; p=rejct"),
            "bad p value \"rejct\" (none, quarantine or reject) and no valid rua");
  EXPECT_EQ(parse_error("v=DMARC1; p=none; sp=bogus"),
            "bad sp value \"bogus\" (none, quarantine or reject) and no valid rua");
  EXPECT_EQ(parse_error("v=DMARC1; p="), "bad p value \"\" (none, quarantine or reject) and no valid rua");
  EXPECT_EQ(parse_error("v=DMARC1; p=reject; rua=not a uri"), "(parsed)") << "rua matters only without p";
  EXPECT_EQ(parse_error("v=DMARC1; rua=not a uri"), "no p tag and no valid rua");
}

TEST(DmarcRecordParse, MissingOrBadPolicyWithRuaReadsAsPolicyNone) {
  // RFC 7489 6.6.3: act as if "v=DMARC1; p=none" was published; only the reports survive.
  for (std::string_view txt : {"v=DMARC1; rua=mailto:d@example.com; adkim=s; pct=10",
                               "v=DMARC1; p=bogus; rua=mailto:d@example.com; adkim=s; pct=10",
                               "v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com; adkim=s; pct=10"}) {
    const DmarcRecord record = parsed(txt);
    EXPECT_EQ(record.p, DmarcPolicy::None) << txt;
    EXPECT_EQ(record.sp, DmarcPolicy::None) << txt;
    EXPECT_FALSE(record.strict_dkim) << txt;
    EXPECT_EQ(record.pct, 100) << txt;
    EXPECT_THAT(record.rua, ElementsAre("mailto:d@example.com")) << txt;
  }
}

TEST(DmarcRecordParse, BadValuesAreErrors) {
  EXPECT_EQ(parse_error("v=DMARC1; p=none; pct=101"), "bad pct value \"101\" (an integer 0..100)");
  for (std::string_view pct : {"-1", "-0", "abc", "", "50.5", "+5", "5 0", "99999999999999999999"}) {
    EXPECT_THAT(parse_error("v=DMARC1; p=none; pct=" + std::string(pct)), HasSubstr("bad pct value")) << pct;
  }
  EXPECT_EQ(parse_error("v=DMARC1; p=none; adkim=x"), "bad adkim value \"x\" (r or s)");
  EXPECT_EQ(parse_error("v=DMARC1; p=none; aspf=relaxed"), "bad aspf value \"relaxed\" (r or s)");
}

TEST(DmarcRecordParse, PctBoundsAreInclusive) {
  EXPECT_EQ(parsed("v=DMARC1; p=reject; pct=0").pct, 0);
  EXPECT_EQ(parsed("v=DMARC1; p=reject; pct=100").pct, 100);
  EXPECT_EQ(parsed("v=DMARC1; p=reject; pct=007").pct, 7);
}

TEST(DmarcRecordParse, MalformedOrRepeatedTagsAreErrors) {
  EXPECT_EQ(parse_error("v=DMARC1; p=none; garbage"), "malformed tag \"garbage\"");
  EXPECT_EQ(parse_error("v=DMARC1; p=none; =x"), "malformed tag \"=x\"");
  EXPECT_EQ(parse_error("v=DMARC1; p=none; p=reject"), "tag p appears twice");
  EXPECT_EQ(parse_error("v=DMARC1; p=none; P=reject"), "tag P appears twice");
  EXPECT_EQ(parse_error("v=DMARC1; p=none; v=DMARC1"), "tag v appears twice");
}

TEST(DmarcRecordParse, InvalidReportUrisAreDropped) {
  const DmarcRecord record =
      parsed("v=DMARC1; p=none; rua=mailto:ok@example.com, not-a-uri, :x, mailto:, 1http://x, mailto:a b@c");
  EXPECT_THAT(record.rua, ElementsAre("mailto:ok@example.com"));
}

TEST(DmarcRecordParse, ErrorOutputIsOptional) {
  EXPECT_FALSE(parse_dmarc_record("v=DMARC1; p=maybe", nullptr));
  EXPECT_TRUE(parse_dmarc_record("v=DMARC1; p=none", nullptr));
}

TEST(DmarcNames, StatusAndPolicyNames) {
  EXPECT_EQ(dmarc_status_name(DmarcStatus::None), "none");
  EXPECT_EQ(dmarc_status_name(DmarcStatus::Pass), "pass");
  EXPECT_EQ(dmarc_status_name(DmarcStatus::Fail), "fail");
  EXPECT_EQ(dmarc_status_name(DmarcStatus::TempError), "temperror");
  EXPECT_EQ(dmarc_status_name(DmarcStatus::PermError), "permerror");
  EXPECT_EQ(dmarc_policy_name(DmarcPolicy::None), "none");
  EXPECT_EQ(dmarc_policy_name(DmarcPolicy::Quarantine), "quarantine");
  EXPECT_EQ(dmarc_policy_name(DmarcPolicy::Reject), "reject");
}

// --- organizational domains ---------------------------------------------------------

TEST(OrganizationalDomain, IsTheRegistrableDomain) {
  EXPECT_EQ(organizational_domain("example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(organizational_domain("example.com"), "example.com");
  EXPECT_EQ(organizational_domain("city.kawasaki.jp"), "city.kawasaki.jp") << "PSL exception rule";
}

TEST(OrganizationalDomain, IsFolded) {
  EXPECT_EQ(organizational_domain("MAIL.Example.COM."), "example.com");
  EXPECT_EQ(organizational_domain("post.bücher.example"), "xn--bcher-kva.example");
}

TEST(OrganizationalDomain, PublicSuffixIsItsOwn) {
  EXPECT_EQ(organizational_domain("co.uk"), "co.uk");
  EXPECT_EQ(organizational_domain("com"), "com");
  EXPECT_EQ(organizational_domain("localhost"), "localhost");
  EXPECT_EQ(organizational_domain(""), "");
}

TEST(DmarcQueries, FromDomainThenOrganizationalDomain) {
  EXPECT_THAT(dmarc_queries({"Mail.Example.com"}),
              ElementsAre("_dmarc.mail.example.com", "_dmarc.example.com"));
  EXPECT_THAT(dmarc_queries({"example.co.uk"}), ElementsAre("_dmarc.example.co.uk"));
  EXPECT_THAT(dmarc_queries({""}), IsEmpty());
}

// --- evaluation ---------------------------------------------------------------------

DmarcInput unauthenticated(std::string from) {
  DmarcInput in;
  in.from_domains = {std::move(from)};
  in.spf_result = "fail";
  return in;
}

DmarcInput spf_pass(std::string from, std::string spf_domain) {
  DmarcInput in = unauthenticated(std::move(from));
  in.spf_result = "pass";
  in.spf_domain = std::move(spf_domain);
  return in;
}

DmarcInput dkim_pass(std::string from, std::string signing_domain) {
  DmarcInput in = unauthenticated(std::move(from));
  in.dkim_pass_domains = {std::move(signing_domain)};
  return in;
}

dns::Record txt_record(std::vector<std::string> strings) {
  dns::Record record;
  record.type = dns::RrType::Txt;
  record.strings = std::move(strings);
  return record;
}

dns::Answer answer_with_status(dns::Status status) {
  dns::Answer answer;
  answer.status = status;
  return answer;
}

class DmarcEvaluation : public ::testing::Test {
 protected:
  // TXT records at `name`, one character-string each.
  void publish(const std::string& name, const std::vector<std::string>& texts) {
    dns::Answer& answer = answers_[name] = answer_with_status(dns::Status::Ok);
    for (const std::string& text : texts) answer.records.push_back(txt_record({text}));
  }
  void fail_lookup(const std::string& name, std::string reason) {
    answers_[name] = answer_with_status(dns::Status::TempError);
    answers_[name].reason = std::move(reason);
  }

  DmarcResult evaluate(const DmarcInput& in, uint32_t sampling_roll = 0) {
    const TxtLookup lookup = [this](const std::string& name) {
      asked_.push_back(name);
      const auto found = answers_.find(name);
      return found != answers_.end() ? found->second : answer_with_status(dns::Status::NxDomain);
    };
    return evaluate_dmarc(in, lookup, sampling_roll);
  }

  std::map<std::string, dns::Answer> answers_;
  std::vector<std::string> asked_;
};

TEST_F(DmarcEvaluation, AlignedSpfPasses) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  const DmarcResult result = evaluate(spf_pass("example.com", "bounce.example.com"));
  EXPECT_EQ(result.status, DmarcStatus::Pass);
  EXPECT_TRUE(result.spf_aligned);
  EXPECT_FALSE(result.dkim_aligned);
  EXPECT_EQ(result.policy, DmarcPolicy::None) << "nothing to apply to a passing message";
  EXPECT_EQ(result.published_policy, DmarcPolicy::Reject);
  EXPECT_EQ(result.record_domain, "_dmarc.example.com");
  EXPECT_EQ(result.reason, "SPF aligned with example.com (aspf=r adkim=r)");
  EXPECT_THAT(asked_, ElementsAre("_dmarc.example.com"));
}

TEST_F(DmarcEvaluation, SpfCountsOnlyWhenItPassed) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  for (std::string_view spf : {"fail", "softfail", "neutral", "none", "temperror", ""}) {
    DmarcInput in = spf_pass("example.com", "example.com");
    in.spf_result = spf;
    EXPECT_EQ(evaluate(in).status, DmarcStatus::Fail) << spf;
  }
  DmarcInput in = spf_pass("example.com", "example.com");
  in.spf_result = "Pass";
  EXPECT_EQ(evaluate(in).status, DmarcStatus::Pass);
}

TEST_F(DmarcEvaluation, RelaxedAlignmentMeansTheSameOrganizationEitherWay) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  publish("_dmarc.news.example.com", {"v=DMARC1; p=reject"});
  EXPECT_EQ(evaluate(dkim_pass("example.com", "mail.example.com")).status, DmarcStatus::Pass);
  EXPECT_EQ(evaluate(dkim_pass("news.example.com", "example.com")).status, DmarcStatus::Pass);
  EXPECT_EQ(evaluate(dkim_pass("news.example.com", "other.example.com")).status, DmarcStatus::Pass);
  EXPECT_EQ(evaluate(spf_pass("news.example.com", "bounce.example.com")).status, DmarcStatus::Pass);
  EXPECT_EQ(evaluate(dkim_pass("example.com", "Example.COM.")).status, DmarcStatus::Pass) << "folded";
}

TEST_F(DmarcEvaluation, RelaxedAlignmentStopsAtTheOrganization) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  publish("_dmarc.example.co.uk", {"v=DMARC1; p=reject"});
  for (std::string_view other : {"example.net", "evilexample.com", "example.com.evil.net", "com", ""}) {
    EXPECT_EQ(evaluate(dkim_pass("example.com", std::string(other))).status, DmarcStatus::Fail) << other;
    EXPECT_EQ(evaluate(spf_pass("example.com", std::string(other))).status, DmarcStatus::Fail) << other;
  }
  EXPECT_EQ(evaluate(dkim_pass("example.co.uk", "other.co.uk")).status, DmarcStatus::Fail)
      << "sharing a public suffix is not alignment";
}

TEST_F(DmarcEvaluation, StrictAlignmentNeedsTheExactDomainEitherWay) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject; adkim=s; aspf=s"});
  publish("_dmarc.news.example.com", {"v=DMARC1; p=reject; adkim=s; aspf=s"});
  EXPECT_EQ(evaluate(dkim_pass("example.com", "mail.example.com")).status, DmarcStatus::Fail);
  EXPECT_EQ(evaluate(dkim_pass("news.example.com", "example.com")).status, DmarcStatus::Fail);
  EXPECT_EQ(evaluate(spf_pass("example.com", "bounce.example.com")).status, DmarcStatus::Fail);
  EXPECT_EQ(evaluate(spf_pass("news.example.com", "example.com")).status, DmarcStatus::Fail);
  EXPECT_EQ(evaluate(dkim_pass("news.example.com", "NEWS.example.com")).status, DmarcStatus::Pass);
  EXPECT_EQ(evaluate(spf_pass("example.com", "example.com")).status, DmarcStatus::Pass);
}

TEST_F(DmarcEvaluation, AlignmentModesAreSeparatePerMechanism) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject; adkim=s"});
  EXPECT_EQ(evaluate(dkim_pass("example.com", "mail.example.com")).status, DmarcStatus::Fail);
  EXPECT_EQ(evaluate(spf_pass("example.com", "mail.example.com")).status, DmarcStatus::Pass);
}

TEST_F(DmarcEvaluation, AnyAlignedSignatureIsEnough) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  DmarcInput in = unauthenticated("example.com");
  in.spf_domain = "example.com";
  in.dkim_pass_domains = {"esp.example.net", "example.com"};
  const DmarcResult result = evaluate(in);
  EXPECT_EQ(result.status, DmarcStatus::Pass);
  EXPECT_FALSE(result.spf_aligned);
  EXPECT_TRUE(result.dkim_aligned);
  EXPECT_EQ(result.reason, "DKIM aligned with example.com (aspf=r adkim=r)");

  in.spf_result = "pass";
  EXPECT_EQ(evaluate(in).reason, "SPF and DKIM aligned with example.com (aspf=r adkim=r)");
}

TEST_F(DmarcEvaluation, FailureCarriesThePolicy) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject; sp=none; adkim=s"});
  const DmarcResult result = evaluate(unauthenticated("example.com"));
  EXPECT_EQ(result.status, DmarcStatus::Fail);
  EXPECT_EQ(result.policy, DmarcPolicy::Reject) << "the From domain is the organizational domain: p";
  EXPECT_EQ(result.published_policy, DmarcPolicy::Reject);
  EXPECT_EQ(result.reason, "neither SPF nor DKIM aligned with example.com (aspf=r adkim=s)");
}

TEST_F(DmarcEvaluation, SubdomainFallsBackToTheOrganizationalRecordAndItsSp) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject; sp=quarantine"});
  const DmarcResult result = evaluate(unauthenticated("a.b.example.com"));
  EXPECT_EQ(result.status, DmarcStatus::Fail);
  EXPECT_EQ(result.policy, DmarcPolicy::Quarantine);
  EXPECT_EQ(result.record_domain, "_dmarc.example.com");
  EXPECT_THAT(asked_, ElementsAre("_dmarc.a.b.example.com", "_dmarc.example.com"));
}

TEST_F(DmarcEvaluation, SpDefaultsToP) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  EXPECT_EQ(evaluate(unauthenticated("mail.example.com")).policy, DmarcPolicy::Reject);
}

TEST_F(DmarcEvaluation, SubdomainWithItsOwnRecordUsesItsP) {
  publish("_dmarc.mail.example.com", {"v=DMARC1; p=none; sp=reject"});
  publish("_dmarc.example.com", {"v=DMARC1; p=reject; sp=reject"});
  const DmarcResult result = evaluate(unauthenticated("mail.example.com"));
  EXPECT_EQ(result.status, DmarcStatus::Fail);
  EXPECT_EQ(result.policy, DmarcPolicy::None);
  EXPECT_EQ(result.record_domain, "_dmarc.mail.example.com");
  EXPECT_THAT(asked_, ElementsAre("_dmarc.mail.example.com")) << "no second query";
}

TEST_F(DmarcEvaluation, NonDmarcTxtRecordsAreIgnored) {
  publish("_dmarc.mail.example.com", {"v=spf1 -all", "google-site-verification=abc"});
  publish("_dmarc.example.com", {"v=DMARC1; p=quarantine", "v=DMARC2; p=none", "verification=xyz"});
  const DmarcResult result = evaluate(unauthenticated("mail.example.com"));
  EXPECT_EQ(result.status, DmarcStatus::Fail);
  EXPECT_EQ(result.policy, DmarcPolicy::Quarantine);
  EXPECT_EQ(result.record_domain, "_dmarc.example.com");
}

TEST_F(DmarcEvaluation, RecordSplitIntoSeveralStringsIsJoined) {
  answers_["_dmarc.example.com"] = answer_with_status(dns::Status::Ok);
  answers_["_dmarc.example.com"].records.push_back(txt_record({"v=DMARC1; p=re", "ject"}));
  EXPECT_EQ(evaluate(unauthenticated("example.com")).policy, DmarcPolicy::Reject);
}

TEST_F(DmarcEvaluation, PctSamplingWeakensThePolicyOneStep) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject; pct=50"});
  publish("_dmarc.quarantine.example", {"v=DMARC1; p=quarantine; pct=50"});
  EXPECT_EQ(evaluate(unauthenticated("example.com"), 0).policy, DmarcPolicy::Reject);
  EXPECT_EQ(evaluate(unauthenticated("example.com"), 49).policy, DmarcPolicy::Reject);
  const DmarcResult sampled_out = evaluate(unauthenticated("example.com"), 50);
  EXPECT_EQ(sampled_out.status, DmarcStatus::Fail);
  EXPECT_EQ(sampled_out.policy, DmarcPolicy::Quarantine);
  EXPECT_EQ(sampled_out.published_policy, DmarcPolicy::Reject);
  EXPECT_EQ(sampled_out.pct, 50);
  EXPECT_THAT(sampled_out.reason, HasSubstr("outside pct=50, reject applied as quarantine"));
  EXPECT_EQ(evaluate(unauthenticated("quarantine.example"), 99).policy, DmarcPolicy::None);
  EXPECT_EQ(evaluate(unauthenticated("quarantine.example"), 10).policy, DmarcPolicy::Quarantine);
}

TEST_F(DmarcEvaluation, PctEdgesAndRollTakenModulo100) {
  publish("_dmarc.all.example", {"v=DMARC1; p=reject"});
  publish("_dmarc.nothing.example", {"v=DMARC1; p=reject; pct=0"});
  publish("_dmarc.half.example", {"v=DMARC1; p=reject; pct=50"});
  EXPECT_EQ(evaluate(unauthenticated("all.example"), 99).policy, DmarcPolicy::Reject);
  EXPECT_EQ(evaluate(unauthenticated("all.example"), 4'000'000'000u).policy, DmarcPolicy::Reject);
  EXPECT_EQ(evaluate(unauthenticated("nothing.example"), 0).policy, DmarcPolicy::Quarantine);
  EXPECT_EQ(evaluate(unauthenticated("half.example"), 149).policy, DmarcPolicy::Reject);
  EXPECT_EQ(evaluate(unauthenticated("half.example"), 150).policy, DmarcPolicy::Quarantine);
}

TEST_F(DmarcEvaluation, PctDoesNotTouchAPass) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject; pct=0"});
  const DmarcResult result = evaluate(dkim_pass("example.com", "example.com"), 99);
  EXPECT_EQ(result.status, DmarcStatus::Pass);
  EXPECT_EQ(result.policy, DmarcPolicy::None);
  EXPECT_EQ(result.reason, "DKIM aligned with example.com (aspf=r adkim=r)");
}

TEST_F(DmarcEvaluation, NoRecordIsNone) {
  const DmarcResult result = evaluate(unauthenticated("mail.example.com"));
  EXPECT_EQ(result.status, DmarcStatus::None);
  EXPECT_EQ(result.policy, DmarcPolicy::None);
  EXPECT_EQ(result.record_domain, "");
  EXPECT_EQ(result.reason, "no DMARC record at _dmarc.mail.example.com or _dmarc.example.com");

  publish("_dmarc.example.com", {});  // NOERROR, no records
  EXPECT_EQ(evaluate(unauthenticated("example.com")).reason, "no DMARC record at _dmarc.example.com");
}

TEST_F(DmarcEvaluation, SeveralRecordsMeanNoPolicyAndNoFallback) {
  publish("_dmarc.mail.example.com", {"v=DMARC1; p=reject", "v=DMARC1; p=none"});
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  const DmarcResult result = evaluate(unauthenticated("mail.example.com"));
  EXPECT_EQ(result.status, DmarcStatus::None);
  EXPECT_EQ(result.policy, DmarcPolicy::None);
  EXPECT_EQ(result.record_domain, "_dmarc.mail.example.com");
  EXPECT_EQ(result.reason, "2 DMARC records at _dmarc.mail.example.com, so none applies");
  EXPECT_THAT(asked_, ElementsAre("_dmarc.mail.example.com"));
}

TEST_F(DmarcEvaluation, SeveralRecordsAtTheOrganizationalDomain) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject", "v=DMARC1; p=reject"});
  EXPECT_EQ(evaluate(unauthenticated("mail.example.com")).status, DmarcStatus::None);
}

TEST_F(DmarcEvaluation, UnusableRecordIsPermerror) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject; pct=150"});
  const DmarcResult result = evaluate(dkim_pass("mail.example.com", "example.com"));
  EXPECT_EQ(result.status, DmarcStatus::PermError);
  EXPECT_EQ(result.policy, DmarcPolicy::None);
  EXPECT_EQ(result.record_domain, "_dmarc.example.com");
  EXPECT_EQ(result.reason,
            "unusable DMARC record at _dmarc.example.com: bad pct value \"150\" (an integer 0..100)");
}

TEST_F(DmarcEvaluation, RuaOnlyRecordFailsWithPolicyNone) {
  publish("_dmarc.example.com", {"v=DMARC1; rua=mailto:reports@example.com"});
  const DmarcResult result = evaluate(unauthenticated("example.com"));
  EXPECT_EQ(result.status, DmarcStatus::Fail);
  EXPECT_EQ(result.policy, DmarcPolicy::None);
}

TEST_F(DmarcEvaluation, TempErrorAtTheFromDomainStops) {
  fail_lookup("_dmarc.mail.example.com", "timeout");
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  const DmarcResult result = evaluate(spf_pass("mail.example.com", "example.com"));
  EXPECT_EQ(result.status, DmarcStatus::TempError);
  EXPECT_EQ(result.policy, DmarcPolicy::None);
  EXPECT_EQ(result.reason, "DNS lookup of _dmarc.mail.example.com failed: timeout");
  EXPECT_THAT(asked_, ElementsAre("_dmarc.mail.example.com"));
}

TEST_F(DmarcEvaluation, TempErrorAtTheOrganizationalDomain) {
  fail_lookup("_dmarc.example.com", "SERVFAIL");
  const DmarcResult result = evaluate(unauthenticated("mail.example.com"));
  EXPECT_EQ(result.status, DmarcStatus::TempError);
  EXPECT_EQ(result.reason, "DNS lookup of _dmarc.example.com failed: SERVFAIL");
}

TEST_F(DmarcEvaluation, MissingFromDomainIsPermerror) {
  const DmarcResult result = evaluate(spf_pass("", "example.com"));
  EXPECT_EQ(result.status, DmarcStatus::PermError);
  EXPECT_EQ(result.reason, "no RFC5322.From domain");
  EXPECT_THAT(asked_, IsEmpty());
}

TEST_F(DmarcEvaluation, FromDomainIsFolded) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject; adkim=s"});
  const DmarcResult result = evaluate(dkim_pass("EXAMPLE.com.", "example.com"));
  EXPECT_EQ(result.status, DmarcStatus::Pass);
  EXPECT_THAT(asked_, ElementsAre("_dmarc.example.com"));
}

}  // namespace
}  // namespace mp::auth

// ---- Every author domain counts (RFC 7489 6.6.1; issue 9) ---------------------------

namespace mp::auth {
namespace {

DmarcInput authors(std::vector<std::string> from_domains, DmarcInput in) {
  in.from_domains = std::move(from_domains);
  return in;
}

// The attacker's SPF passes for its own domain; the CEO's domain publishes p=reject.
TEST_F(DmarcEvaluation, SecondAuthorCannotBorrowTheFirstsPass) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  publish("_dmarc.example.net", {"v=DMARC1; p=none"});
  for (const auto& order : {std::vector<std::string>{"example.net", "example.com"},
                            std::vector<std::string>{"example.com", "example.net"},
                            std::vector<std::string>{"EXAMPLE.com", "example.net", "example.com"}}) {
    const DmarcResult result = evaluate(authors(order, spf_pass("", "example.net")));
    EXPECT_EQ(result.status, DmarcStatus::Fail);
    EXPECT_EQ(result.policy, DmarcPolicy::Reject);
    EXPECT_EQ(result.author_domain, "example.com");
    EXPECT_NE(result.reason.find("example.net: pass"), std::string::npos) << result.reason;
    EXPECT_NE(result.reason.find("example.com: fail"), std::string::npos) << result.reason;
  }
}

TEST_F(DmarcEvaluation, StrictestFailingPolicyApplies) {
  publish("_dmarc.a.example", {"v=DMARC1; p=quarantine"});
  publish("_dmarc.b.example", {"v=DMARC1; p=reject"});
  publish("_dmarc.c.example", {"v=DMARC1; p=none"});
  const DmarcResult result = evaluate(authors({"c.example", "a.example", "b.example"}, unauthenticated("")));
  EXPECT_EQ(result.status, DmarcStatus::Fail);
  EXPECT_EQ(result.policy, DmarcPolicy::Reject);
  EXPECT_EQ(result.record_domain, "_dmarc.b.example");
}

TEST_F(DmarcEvaluation, PassOnlyWhenEveryAuthorPasses) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  // example.org has no record: its author is unauthenticated, so no overall pass.
  const DmarcResult none = evaluate(authors({"example.com", "example.org"}, spf_pass("", "example.com")));
  EXPECT_EQ(none.status, DmarcStatus::None);
  EXPECT_EQ(none.author_domain, "example.org");
  publish("_dmarc.example.org", {"v=DMARC1; p=none"});
  DmarcInput both = spf_pass("", "example.com");
  both.dkim_pass_domains = {"example.org"};
  EXPECT_EQ(evaluate(authors({"example.com", "example.org"}, both)).status, DmarcStatus::Pass);
}

TEST_F(DmarcEvaluation, TempErrorOfOneAuthorIsNotHiddenByAnothersPass) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  fail_lookup("_dmarc.slow.example", "timeout");
  const DmarcResult result = evaluate(authors({"example.com", "slow.example"}, spf_pass("", "example.com")));
  EXPECT_EQ(result.status, DmarcStatus::TempError);
}

TEST_F(DmarcEvaluation, MailboxWithoutDomainBesideAnotherIsPermError) {
  publish("_dmarc.example.com", {"v=DMARC1; p=reject"});
  const DmarcResult result = evaluate(authors({"", "example.com"}, spf_pass("", "example.com")));
  EXPECT_EQ(result.status, DmarcStatus::PermError);
}

TEST(DmarcQueries, EveryAuthorDomainOnce) {
  EXPECT_THAT(dmarc_queries({"mail.example.com", "Example.NET", "example.net"}),
              ElementsAre("_dmarc.example.net", "_dmarc.mail.example.com", "_dmarc.example.com"));
}

}  // namespace
}  // namespace mp::auth
