// urls.text_domain, urls.flags and message.obfuscation end to end: policy text →
// image → Evaluator. A URL's flags and text domain bind to their URL inside
// `any urls (...)`; `text_domain is domain` compares the current URL's two values;
// obfuscation is found in the subject, display names and body; the vocabularies are
// closed (E023).
#include <gtest/gtest.h>

#include <string>

#include "tests/vm/interpreter_test_util.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

// Three links: text naming another site, a link to the site its text names (other
// host name), and a plain "Click here" to an IP address.
std::string phishing_html() {
  return "From: Bank <service@bank.example>\r\n"
         "To: bob@widget.com\r\n"
         "Subject: account\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/html; charset=utf-8\r\n"
         "\r\n"
         "<p><a href=\"http://login.evil.example/x\">https://www.paypal.com/</a></p>\r\n"
         "<p><a href=\"https://www.shop.example.com/\">shop.example.com</a></p>\r\n"
         "<p><a href=\"http://192.0.2.7:8080/a\">Click here</a></p>\r\n";
}

class HeuristicFields : public ::testing::Test {
 protected:
  bool fires(const std::string& condition, const std::string& message) {
    Policy p("stage s { rule r: if " + condition + " then tag \"t\" }\n");
    return p.fires("r", message);
  }
};

TEST_F(HeuristicFields, TextDomainIsTheDomainTheLinkTextNames) {
  const std::string m = phishing_html();
  EXPECT_TRUE(fires("urls.text_domain is www.paypal.com", m));
  EXPECT_TRUE(fires("urls.text_domain is shop.example.com", m));
  // "Click here", and the first link's text, which is a URL of the body text too.
  EXPECT_TRUE(fires("count(urls (text_domain is \"\")) == 2", m));
  // FIELD is FIELD inside `any urls`: both sides are the current URL's. As written,
  // shop.example.com is not www.shop.example.com: hence the flag text_mismatch.
  EXPECT_TRUE(fires("count(urls (text_domain is not \"\" and text_domain is not urls.domain)) == 2", m));
  EXPECT_FALSE(fires("any urls (text_domain is urls.domain)", m));
  // Unbound, some text domain is some URL's domain: the link text's own URL.
  EXPECT_TRUE(fires("urls.text_domain is urls.domain", m));
}

TEST_F(HeuristicFields, FlagsBindToTheirUrl) {
  const std::string m = phishing_html();
  EXPECT_TRUE(fires("urls.flags is text_mismatch", m));
  EXPECT_TRUE(fires("count(urls (flags is text_mismatch)) == 1", m));  // not shop.example
  EXPECT_TRUE(fires("any urls (flags is ip_literal and flags is non_standard_port)", m));
  EXPECT_FALSE(fires("any urls (flags is ip_literal and flags is text_mismatch)", m));
  EXPECT_FALSE(fires("urls.flags in [userinfo, punycode]", m));
  EXPECT_FALSE(fires("urls.flags is text_mismatch", simple("hi", "see https://www.paypal.com/\r\n")));
}

TEST_F(HeuristicFields, ObfuscationOfSubjectDisplayNamesAndBody) {
  EXPECT_TRUE(fires("message.obfuscation is mixed_script", simple("Your p\u0430ypal account")));
  EXPECT_TRUE(fires("message.obfuscation is zero_width", simple("hi", "pay\u200Bpal\r\n")));
  EXPECT_TRUE(fires("message.obfuscation is mixed_script",
                    "From: \u0420ayPal <a@b.example>\r\nTo: c@d.example\r\nSubject: x\r\n\r\nbody\r\n"));
  EXPECT_FALSE(fires("message.obfuscation in [zero_width, mixed_script, bidi_override]",
                     simple("Счёт за март", "Plain text, café, Ελληνικά.\r\n")));
}

TEST(HeuristicFieldsSema, VocabulariesAreClosed) {
  EXPECT_EQ(error_codes("if urls.flags is ip_litteral then tag \"x\"\n"), "E023 ");
  EXPECT_EQ(error_codes("if message.obfuscation is zerowidth then tag \"x\"\n"), "E023 ");
  EXPECT_EQ(
      error_codes("if any urls (flags is userinfo and text_domain is not urls.domain) then tag \"x\"\n"), "");
}

}  // namespace
}  // namespace mp::vm
