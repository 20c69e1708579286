// URL flags, the domain a link's text names, and link texts found in HTML
// (runtime/url_form.h, runtime/html_text.h): each flag set by its trick and by
// nothing else, and the link texts a phishing message shows.
#include <gtest/gtest.h>

#include <string>

#include "runtime/html_text.h"
#include "runtime/url_form.h"

namespace mp::runtime {
namespace {

std::string flags_of(const std::string& text, const std::string& link_text = {}) {
  const Url url{text, detail::url_domain(text), link_text};
  const auto flags = url_flags(url);
  std::string names;
  for (size_t f = 0; f < kUrlFlagCount; ++f) {
    if (flags.test(f))
      names += (names.empty() ? "" : " ") + std::string(url_flag_name(static_cast<UrlFlag>(f)));
  }
  return names;
}

TEST(UrlFlags, PlainUrlsHaveNone) {
  EXPECT_EQ(flags_of("https://www.example.com/login?next=/a@b"), "");
  EXPECT_EQ(flags_of("http://example.com:80/"), "");
  EXPECT_EQ(flags_of("https://example.com:443/x"), "");
  EXPECT_EQ(flags_of("www.example.org/path"), "");
}

TEST(UrlFlags, IpLiteralHostsInEveryFormABrowserAccepts) {
  EXPECT_EQ(flags_of("http://192.0.2.1/paypal/"), "ip_literal");
  EXPECT_EQ(flags_of("http://3232235777/"), "ip_literal");
  EXPECT_EQ(flags_of("http://0xC0.0xA8.0.1/"), "ip_literal");
  EXPECT_EQ(flags_of("http://[2001:db8::1]/"), "ip_literal");
  EXPECT_EQ(flags_of("http://1.2.3.4.5/"), "");  // not an address
  EXPECT_EQ(flags_of("http://192.0.2.1.example.com/"), "");
}

TEST(UrlFlags, UserinfoPortAndPunycode) {
  EXPECT_EQ(flags_of("http://www.paypal.com@evil.example/"), "userinfo");
  EXPECT_EQ(flags_of("http://user:pw@host.example/"), "userinfo");
  EXPECT_EQ(flags_of("http://host.example:8080/"), "non_standard_port");
  EXPECT_EQ(flags_of("http://[2001:db8::1]:8443/"), "ip_literal non_standard_port");
  EXPECT_EQ(flags_of("http://xn--pypal-4ve.com/"), "punycode");
  EXPECT_EQ(flags_of("http://pаypal.com/"), "punycode");  // Cyrillic а
}

TEST(UrlFlags, TextMismatchComparesRegistrableDomains) {
  EXPECT_EQ(flags_of("http://evil.example/x", "https://www.paypal.com/signin"), "text_mismatch");
  EXPECT_EQ(flags_of("http://192.0.2.1/", "paypal.com"), "ip_literal text_mismatch");
  // The same site under another host name is not a mismatch.
  EXPECT_EQ(flags_of("https://www.paypal.com/x", "paypal.com"), "");
  EXPECT_EQ(flags_of("https://signin.paypal.co.uk/x", "www.PayPal.co.uk"), "");
  // Texts that name no domain never mismatch.
  EXPECT_EQ(flags_of("http://evil.example/", "Click here"), "");
  EXPECT_EQ(flags_of("http://evil.example/", "invoice.pdf"), "");
}

TEST(DomainNamedBy, UrlsAndBareDomains) {
  EXPECT_EQ(domain_named_by("https://www.PayPal.com/signin"), "www.paypal.com");
  EXPECT_EQ(domain_named_by("PayPal.com."), "paypal.com");
  EXPECT_EQ(domain_named_by("www.bank.example.co.uk/login"), "www.bank.example.co.uk");
  EXPECT_EQ(domain_named_by("пример.рф"), "xn--e1afmkfd.xn--p1ai");
  EXPECT_EQ(domain_named_by("Visit paypal.com"), "");
  EXPECT_EQ(domain_named_by("e.g."), "");
  EXPECT_EQ(domain_named_by("report.pdf"), "");
  EXPECT_EQ(domain_named_by(""), "");
}

TEST(RegistrableDomain, PublicSuffixList) {
  EXPECT_EQ(registrable_domain("a.b.Example.CO.UK"), "example.co.uk");
  EXPECT_EQ(registrable_domain("com"), "com");
  EXPECT_EQ(registrable_domain("192.0.2.1"), "192.0.2.1");
}

TEST(LinkText, TheTextOfEachAnchorGoesWithItsHref) {
  const auto urls =
      detail::find_urls("",
                        "<p><a href='http://evil.example/a'><b>https://www.paypal.com</b></a> and "
                        "<A HREF=\"http://b.example/\">Click&nbsp;here</a><img src='http://c.example/i.png'>"
                        "<a href='http://d.example/'>never closed <a href='http://e.example/'>e.example</a>");
  ASSERT_EQ(urls.size(), 5u);
  EXPECT_EQ(urls[0].link_text, "https://www.paypal.com");
  EXPECT_EQ(urls[1].link_text, "Click here");
  EXPECT_EQ(urls[2].link_text, "");  // an image source is no link
  EXPECT_EQ(urls[3].link_text, "never closed");
  EXPECT_EQ(urls[4].link_text, "e.example");
}

TEST(LinkText, ABareUrlSeenFirstGetsTheTextOfItsLink) {
  const auto urls = detail::find_urls("see http://a.example/", "<a href='http://a.example/'>a.example</a>");
  ASSERT_EQ(urls.size(), 1u);
  EXPECT_EQ(urls[0].link_text, "a.example");
}

TEST(LinkText, IsBoundedOnAHugeUnclosedAnchor) {
  const std::string html = "<a href='http://a.example/'>" + std::string(1 << 20, 'x');
  const auto urls = detail::find_urls("", html);
  ASSERT_EQ(urls.size(), 1u);
  EXPECT_LE(urls[0].link_text.size(), 256u);
}

}  // namespace
}  // namespace mp::runtime
