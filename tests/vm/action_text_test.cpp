// Tag, banner and header texts from a const or option (`tag anti_spoofing.external_tag`):
// the stdlib's warning tags are options; an empty option turns the action off.
#include <gtest/gtest.h>

#include <string>

#include "tests/vm/interpreter_test_util.h"
#include "vm/vm.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

const char* kMessage = "From: a@b.example\r\nSubject: s\r\n\r\nbody\r\n";

TEST(VmActionText, FromAnOptionOrConst) {
  Policy p(
      "option w.tag = \"[External]\"\n"
      "const note = \"CAUTION: from outside\"\n"
      "stage s { rule r: if size > 0 then tag w.tag, banner note, add header X-Note note }\n");
  Verdict v = p.run(kMessage);
  EXPECT_EQ(v.tags, std::vector<std::string>{"[External]"});
  EXPECT_EQ(v.banners, std::vector<std::string>{"CAUTION: from outside"});
  ASSERT_EQ(v.added_headers.size(), 1u);
  EXPECT_EQ(v.added_headers[0].second, "CAUTION: from outside");
}

TEST(VmActionText, AnEmptyOptionTurnsTheActionOff) {
  Policy p("option w.tag = \"\"\nstage s { rule r: if size > 0 then tag w.tag, banner w.tag }\n");
  Verdict v = p.run(kMessage);
  ASSERT_EQ(v.fired.size(), 1u);
  EXPECT_TRUE(v.tags.empty());
  EXPECT_TRUE(v.banners.empty());
}

TEST(VmActionText, TheFirstLinkRewriteStandsAndAnEmptyOptionTurnsItOff) {
  Policy p(
      "option u.target = \"https://first.example/?u={url}\"\n"
      "option u.off = \"\"\n"
      "option u.skip = [Partner.Example, partner.example]\n"
      "stage s { rule off: if size > 0 then rewrite urls u.off\n"
      "          rule first: if size > 0 then rewrite urls u.target except [u.skip, widget.com]\n"
      "          rule second: if size > 0 then rewrite urls \"https://second.example/{url}\" }\n");
  Verdict v = p.run(kMessage);
  EXPECT_EQ(v.fired.size(), 3u);
  ASSERT_TRUE(v.url_rewrite.has_value());
  EXPECT_EQ(v.url_rewrite->target, "https://first.example/?u={url}");
  EXPECT_EQ(v.url_rewrite->skip_domains, (std::vector<std::string>{"partner.example", "widget.com"}));
}

TEST(VmActionText, UnknownOrNotTextIsAnError) {
  EXPECT_EQ(error_codes("if size > 0 then tag w.nosuch\n"), "E012 ");
  EXPECT_EQ(error_codes("const n = 5\nif size > 0 then banner n\n"), "E021 ");
  EXPECT_EQ(error_codes("const n = 5\nif size > 0 then rewrite urls n\n"), "E021 ");
  EXPECT_EQ(error_codes("if size > 0 then rewrite urls \"https://a.example/\"\n"), "E061 ");
  EXPECT_EQ(error_codes("if size > 0 then rewrite urls \"https://a.example/{url}\" except [10.0.0.1/8]\n"),
            "E021 ");
  EXPECT_EQ(error_codes("if size > 0 then rewrite urls \"https://a.example/{url}\" except partner_domains\n"),
            "E012 ");
}

// A wrong entry of an option is reported once, in the option's terms, whichever rules
// read it, and also while the action that reads it is off.
TEST(VmActionText, AWrongOptionEntryIsReportedOnceAtTheOption) {
  EXPECT_EQ(error_codes("option o.list = [x@y.example]\n"
                        "if from.domain in o.list then reject\nif sender.domain in o.list then reject\n"),
            "E021 ");
  EXPECT_EQ(error_codes("option u.skip = [\"http://x.example/\"]\noption u.target = \"\"\n"
                        "if size > 0 then rewrite urls u.target except u.skip\n"),
            "E021 ");
}

// `org.domain` for `org.domains`: a misspelt setting is not a domain of that spelling.
TEST(VmActionText, AMisspeltSettingInAListIsAnUnknownName) {
  EXPECT_EQ(error_codes("if from.domain in [widget.ca, org.domain] then reject\n"), "E012 ");
  EXPECT_EQ(error_codes(
                "option url_defense.skip_domains = []\n"
                "if size > 0 then rewrite urls \"https://a.example/{url}\" except url_defense.skip_domain\n"),
            "E012 ");
  EXPECT_EQ(error_codes("if from.domain in [org.uk, spam.example] then reject\n"), "");
}

}  // namespace
}  // namespace mp::vm
