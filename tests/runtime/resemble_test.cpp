// Resemblance keys: what a reader takes for the same name or domain gets the same
// key, or keys one edit apart; different names stay apart.
#include "runtime/resemble.h"

#include <gtest/gtest.h>

namespace mp::runtime {
namespace {

bool names(std::string_view a, std::string_view b) {
  return keys_resemble(resemblance_key(a, ResembleKind::Name), resemblance_key(b, ResembleKind::Name),
                       ResembleKind::Name);
}

bool domains(std::string_view a, std::string_view b) {
  return keys_resemble(resemblance_key(a, ResembleKind::Domain), resemblance_key(b, ResembleKind::Domain),
                       ResembleKind::Domain);
}

TEST(Resemble, NameSurvivesCaseSpacesAndPunctuation) {
  EXPECT_TRUE(names("Jane Widget", "jane widget"));
  EXPECT_TRUE(names("Jane Widget", "  JANE    WIDGET "));
  EXPECT_TRUE(names("Jane Widget", "Jane-Widget"));
  EXPECT_TRUE(names("Jane Widget", "\"Jane Widget\""));
}

TEST(Resemble, NameSurvivesLastFirstTitlesInitialsAndRemarks) {
  EXPECT_TRUE(names("Jane Widget", "Widget, Jane"));
  EXPECT_TRUE(names("Jane Widget", "Dr. Jane Widget"));
  EXPECT_TRUE(names("Jane Widget", "Jane Widget, CEO"));
  EXPECT_TRUE(names("Jane Widget", "Ms Jane Q. Widget"));
  EXPECT_TRUE(names("Jane Widget", "Jane Widget (via LinkedIn)"));
  EXPECT_TRUE(names("Jane Widget", "Widget, Jane (CEO)"));
}

TEST(Resemble, NameSurvivesLookAlikeLettersAndInvisibleCharacters) {
  EXPECT_TRUE(names("Jane Widget", "J\u0430ne Widget"));         // Cyrillic а
  EXPECT_TRUE(names("Jane Widget", "Jane W\u0456dget"));         // Cyrillic і
  EXPECT_TRUE(names("Jane Widget", "Ja\u200Bne Wid\u200Dget"));  // zero-width space, joiner
  EXPECT_TRUE(names("Bill Ledger", "BiII Ledger"));              // capital I for l
  EXPECT_TRUE(names("Jane Widget", "\uFF2Aane Widget"));         // fullwidth J
}

TEST(Resemble, NameOneEditApartWhenLongEnough) {
  EXPECT_TRUE(names("John Smith", "Jon Smith"));
  EXPECT_TRUE(names("Jane Widget", "Jane Wdiget"));  // swapped letters
  EXPECT_FALSE(names("Ann Lee", "Ann Les"));         // too short for a slip to be telling
}

TEST(Resemble, DifferentNamesStayApart) {
  EXPECT_FALSE(names("Jane Widget", "John Widget"));
  EXPECT_FALSE(names("Jane Widget", "Jane"));
  EXPECT_FALSE(names("Jane Widget", "Widget Support"));
  EXPECT_FALSE(names("Jane Widget", ""));
}

TEST(Resemble, NothingLeftMeansNoKey) {
  EXPECT_EQ(key_text(resemblance_key("Dr. Jane Q. Widget (CEO)", ResembleKind::Name)), "jane widget");
  EXPECT_EQ(resemblance_key("Dr.", ResembleKind::Name), "");
  EXPECT_EQ(resemblance_key(" -- ", ResembleKind::Name), "");
  EXPECT_EQ(resemblance_key("\xff\xfe", ResembleKind::Name), "");
  EXPECT_FALSE(names("Dr.", "Mr."));
}

TEST(Resemble, DomainLookAlikes) {
  EXPECT_TRUE(domains("widget.com", "widget.com"));
  EXPECT_TRUE(domains("paypal.com", "paypa1.com"));
  EXPECT_TRUE(domains("widget.com", "w1dget.com"));
  EXPECT_TRUE(domains("microsoft.com", "rnicrosoft.com"));
  EXPECT_TRUE(domains("widget.com", "wіdget.com"));         // Cyrillic і, in Unicode
  EXPECT_TRUE(domains("widget.com", "xn--wdget-n2e.com"));  // the same, as punycode
  EXPECT_TRUE(domains("widget.com", "widgets.com"));
  EXPECT_TRUE(domains("widget.com", "widget.co"));
  EXPECT_TRUE(domains("widget.com", "wigdet.com"));
  EXPECT_TRUE(domains("widget.com", "WIDGET.COM."));
}

TEST(Resemble, DifferentDomainsStayApart) {
  EXPECT_FALSE(domains("widget.com", "gadget.com"));
  EXPECT_FALSE(domains("widget.com", "mail.widget.com"));
  EXPECT_FALSE(domains("widget.com", "widget.com.evil.example"));
  EXPECT_FALSE(domains("ab.io", "ac.io"));  // too short for one edit to say anything
}

TEST(Resemble, Addresses) {
  auto key = [](std::string_view a) { return resemblance_key(a, ResembleKind::Address); };
  EXPECT_TRUE(keys_resemble(key("ceo@widget.com"), key("ceo@w1dget.com"), ResembleKind::Address));
  EXPECT_TRUE(keys_resemble(key("jane@widget.com"), key("jаne@widget.com"), ResembleKind::Address));
  EXPECT_FALSE(keys_resemble(key("jane@widget.com"), key("john@widget.com"), ResembleKind::Address));
}

}  // namespace
}  // namespace mp::runtime
