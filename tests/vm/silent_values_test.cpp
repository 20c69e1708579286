// Values that used to be accepted and never match (issue 9, section 4), and the
// identity and structure cases of sections 1-2 as a policy sees them.
#include "tests/vm/interpreter_test_util.h"

namespace mp::vm::interpreter_test {
namespace {

TEST(SilentValues, ExtensionWithADotMatches) {
  Policy p(
      "if attachments.extension in [\".htm\", \".html\"] then quarantine \"html\"\n"
      "if attachments.extension is \".EXE\" then reject \"550 5.7.1 exe\"\n");
  EXPECT_EQ(p.run(with_attachments({{"delivery_form.htm", "<form>"}})).action, Action::Quarantine);
  EXPECT_EQ(p.run(with_attachments({{"run.exe", "MZ"}})).action, Action::Reject);
  EXPECT_EQ(p.run(with_attachments({{"notes.txt", "x"}})).action, Action::Deliver);
}

// `*.example.com` in a domain list is every subdomain of example.com, not the domain
// itself and not a domain that merely ends in the same letters.
TEST(SilentValues, DomainListsTakeSubdomainWildcards) {
  Policy p(
      "if sender.domain in [\"*.Partner.Example\", solo.example] then tag \"known\"\n"
      "if sender.domain not in [\"*.corp.example\"] then tag \"outside\"\n");
  auto tags = [&](const std::string& sender) { return p.run(simple("x"), envelope(sender)).tags; };
  EXPECT_EQ(tags("a@mx.partner.example"), (std::vector<std::string>{"known", "outside"}));
  EXPECT_EQ(tags("a@a.b.PARTNER.example"), (std::vector<std::string>{"known", "outside"}));
  EXPECT_EQ(tags("a@solo.example"), (std::vector<std::string>{"known", "outside"}));
  EXPECT_EQ(tags("a@partner.example"), std::vector<std::string>{"outside"});
  EXPECT_EQ(tags("a@notpartner.example"), std::vector<std::string>{"outside"});
  EXPECT_TRUE(tags("a@hq.corp.example").empty());
}

// A HELO name and a link's host may be bare IPv4 addresses; written unquoted they are
// compared as the text they are, as quoted ones always were.
TEST(SilentValues, HeloAndLinkHostsTakeIpv4Literals) {
  Policy p(
      "if helo is 192.0.2.1 then tag \"ip-helo\"\n"
      "if urls.domain in [198.51.100.7, evil.example] then tag \"ip-link\"\n");
  auto tags = [&](const std::string& helo, const std::string& body) {
    return p
        .run("From: a@b.example\r\nSubject: x\r\n\r\n" + body + "\r\n", envelope("a@b.example", {}, "", helo))
        .tags;
  };
  EXPECT_EQ(tags("192.0.2.1", "hello"), std::vector<std::string>{"ip-helo"});
  EXPECT_EQ(tags("mail.b.example", "see http://198.51.100.7/login"), std::vector<std::string>{"ip-link"});
  EXPECT_TRUE(tags("192.0.2.10", "see http://198.51.100.70/").empty());
}

TEST(SilentValues, AddressListsTakeDomainWildcardsAndDisplayNames) {
  Policy p(
      "if sender in [\"*@partner.example\", \"@Vendor.Example\", \"\\\"Jane\\\" <jane@solo.example>\"] "
      "then tag \"known\"\n"
      "if from in [\"*@partner.example\"] then tag \"from-partner\"\n");
  auto tags = [&](const std::string& sender) { return p.run(simple("x"), envelope(sender)).tags; };
  EXPECT_EQ(tags("a@partner.example"), std::vector<std::string>{"known"});
  EXPECT_EQ(tags("b@vendor.example"), std::vector<std::string>{"known"});
  EXPECT_EQ(tags("jane@solo.example"), std::vector<std::string>{"known"});
  EXPECT_TRUE(tags("a@sub.partner.example").empty());
  EXPECT_TRUE(tags("other@solo.example").empty());
  const std::string from_partner = "From: x@partner.example\r\nSubject: s\r\n\r\nb\r\n";
  EXPECT_EQ(p.run(from_partner, envelope("")).tags, std::vector<std::string>{"from-partner"});
}

TEST(SilentValues, NegatedWildcardListStaysNegated) {
  Policy p("if sender not in [\"*@partner.example\", boss@home.example] then tag \"stranger\"\n");
  EXPECT_TRUE(p.run(simple("x"), envelope("a@partner.example")).tags.empty());
  EXPECT_TRUE(p.run(simple("x"), envelope("boss@home.example")).tags.empty());
  EXPECT_EQ(p.run(simple("x"), envelope("eve@evil.example")).tags, std::vector<std::string>{"stranger"});
}

TEST(PolicySeesStructure, SecondFromFieldAndDefects) {
  Policy p(
      "if from.domain is example.com then tag \"ceo-domain\"\n"
      "if message.defects contains duplicate_from then quarantine \"two From fields\"\n");
  const Verdict v =
      p.run("From: attacker@example.net\r\nFrom: CEO <ceo@example.com>\r\nSubject: wire\r\n\r\nb\r\n");
  EXPECT_EQ(v.action, Action::Quarantine);
  EXPECT_EQ(v.tags, std::vector<std::string>{"ceo-domain"});
}

TEST(PolicySeesStructure, EmptyGroupHasNoMailbox) {
  Policy p("if count(cc) == 0 then tag \"no-cc\"\nif cc contains \"\" then tag \"empty\"\n");
  EXPECT_EQ(p.run("From: a@example.org\r\nCc: Undisclosed recipients:;\r\n\r\nb\r\n").tags,
            std::vector<std::string>{"no-cc"});
}

TEST(PolicySeesStructure, NulInSubjectAndDepthSetting) {
  Policy p(
      "settings { mime.max_depth = 3 }\n"
      "if subject contains \"after\" then tag \"seen\"\n"
      "if message.defects in [nul_in_header, mime_depth_exceeded] then tag \"defect\"\n");
  const std::string nul_subject =
      std::string("From: a@example.org\r\nSubject: before") + '\0' + "after\r\n\r\nb\r\n";
  EXPECT_EQ(p.run(nul_subject).tags, (std::vector<std::string>{"seen", "defect"}));
  std::string deep = "From: a@example.org\r\n";
  for (int i = 0; i < 6; ++i) {
    deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
            std::to_string(i) + "\r\n";
  }
  deep += "Content-Type: text/plain\r\n\r\nhidden\r\n";
  const Message parsed = Message::parse(deep, p.evaluator().program().parse_options());
  EXPECT_EQ(p.run(parsed).tags, std::vector<std::string>{"defect"});
}

TEST(PolicySeesStructure, V4MappedClientMatchesSettingsPrefixes) {
  Policy p(
      "settings { org.domains = [widget.com]\n org.sending_servers = [203.0.113.0/24] }\n"
      "if client.ip in [203.0.113.0/24] then tag \"ours\"\n");
  const Verdict v = p.run(simple("x"), envelope("a@widget.com", {"b@example.org"}, "::ffff:203.0.113.10"));
  EXPECT_EQ(v.tags, std::vector<std::string>{"ours"});
  EXPECT_EQ(v.direction, Direction::Outbound);
}

}  // namespace
}  // namespace mp::vm::interpreter_test
