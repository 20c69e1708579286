// URL defense through runtime::edit_body: links in text and HTML parts point at the
// click-time checker with the original URL percent-encoded, skipped domains, other
// schemes and attachments keep their bytes, the message stays valid MIME, and a
// second rewrite changes nothing.
#include <gtest/gtest.h>

#include <string>

#include "runtime/body_edit.h"

namespace mp::runtime {
namespace {

const std::string kTarget = "https://urldefense.example/v1?u={url}&k=1";

UrlRewrite rewrite(std::vector<std::string> skip = {"widget.com"}) {
  return UrlRewrite{.target = kTarget, .skip_domains = std::move(skip)};
}

EditedMessage edit(const std::string& raw, UrlRewrite r = rewrite()) {
  return edit_body(Message::parse(raw), BodyEdits{.banners = {}, .url_rewrite = std::move(r)});
}

std::string checked(const std::string& url) {
  return "https://urldefense.example/v1?u=" + url + "&k=1";
}

TEST(UrlRewrite, LinksInPlainTextPointAtTheCheckerWithTheOriginalEncoded) {
  const std::string raw =
      "From: a@ext.example\nSubject: hi\n\nPay at http://evil.example/pay?id=7&x=a b.\n"
      "Or www.other.example/login, or our https://www.widget.com/help (ours).\n";
  EditedMessage e = edit(raw);
  ASSERT_TRUE(e.edited) << e.not_edited;
  EXPECT_EQ(e.urls_rewritten, 2u);
  EXPECT_EQ(e.body, "Pay at " + checked("http%3A%2F%2Fevil.example%2Fpay%3Fid%3D7%26x%3Da") + " b.\nOr " +
                        checked("http%3A%2F%2Fwww.other.example%2Flogin") +
                        ", or our https://www.widget.com/help (ours).\n");
  Message again = Message::parse(e.message);
  ASSERT_EQ(again.urls().size(), 3u);
  EXPECT_EQ(again.urls()[0].domain, "urldefense.example");
  EXPECT_TRUE(again.defects().empty());
}

TEST(UrlRewrite, HtmlHrefsAreRewrittenAndEscapedOtherLinksKeepTheirBytes) {
  const std::string html =
      "<html><body><a href=\"http://evil.example/?a=1&amp;b=2\">Click</a> "
      "<A HREF='https://login.evil.example/'>x</A> <a href=http://bare.example/p>y</a> "
      "<a href=\"mailto:x@evil.example\">m</a> <a href=\"#top\">t</a> <a href=\"/relative\">r</a> "
      "<img src=\"http://img.evil.example/t.gif\"> <a href=\"https://mail.widget.com/\">ours</a> "
      "http://in-text.example/</body></html>\n";
  const std::string raw = "From: a@ext.example\nContent-Type: text/html\n\n" + html;
  EditedMessage e = edit(raw);
  ASSERT_TRUE(e.edited) << e.not_edited;
  EXPECT_EQ(e.urls_rewritten, 3u);
  const std::string amp_target = "https://urldefense.example/v1?u=";
  EXPECT_NE(e.body.find("<a href=\"" + amp_target +
                        "http%3A%2F%2Fevil.example%2F%3Fa%3D1%26b%3D2&amp;k=1\">Click</a>"),
            std::string::npos)
      << e.body;
  EXPECT_NE(e.body.find("<A HREF='" + amp_target + "https%3A%2F%2Flogin.evil.example%2F&amp;k=1'>"),
            std::string::npos);
  EXPECT_NE(e.body.find("<a href=" + amp_target + "http%3A%2F%2Fbare.example%2Fp&amp;k=1>y</a>"),
            std::string::npos);
  for (const char* kept : {"mailto:x@evil.example", "href=\"#top\"", "href=\"/relative\"",
                           "src=\"http://img.evil.example/t.gif\"", "href=\"https://mail.widget.com/\"",
                           "http://in-text.example/</body>"}) {
    EXPECT_NE(e.body.find(kept), std::string::npos) << kept;
  }
}

const std::string kMixed =
    "From: a@ext.example\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"M\"\n"
    "\n"
    "--M\n"
    "Content-Type: multipart/alternative; boundary=\"A\"\n"
    "\n"
    "--A\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "U2VlIGh0dHA6Ly9ldmlsLmV4YW1wbGUvIOKAlCBkb25lLgo=\n"  // "See http://evil.example/ — done.\n"
    "--A\n"
    "Content-Type: text/html; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<p>See <a href=3D\"http://evil.example/\">here</a> =E9t=E9.</p>\n"
    "--A--\n"
    "--M\n"
    "Content-Type: text/plain\n"
    "\n"
    "Second inline text: https://second.example/x\n"
    "--M\n"
    "Content-Type: text/plain; name=\"notes.txt\"\n"
    "Content-Disposition: attachment; filename=\"notes.txt\"\n"
    "\n"
    "attached http://attached.example/ stays\n"
    "--M--\n";

TEST(UrlRewrite, EveryInlineTextPartIsRewrittenAttachmentsAreNot) {
  EditedMessage e = edit(kMixed);
  ASSERT_TRUE(e.edited) << e.not_edited;
  EXPECT_EQ(e.urls_rewritten, 3u);
  EXPECT_NE(e.body.find("attached http://attached.example/ stays\n"), std::string::npos);
  Message again = Message::parse(e.message);
  EXPECT_TRUE(again.defects().empty());
  EXPECT_NE(again.body_text().find(checked("http%3A%2F%2Fevil.example%2F") + " — done."), std::string::npos)
      << again.body_text();
  EXPECT_NE(again.body_text().find(checked("https%3A%2F%2Fsecond.example%2Fx")), std::string::npos);
  EXPECT_NE(
      again.html().find("href=\"" +
                        std::string("https://urldefense.example/v1?u=http%3A%2F%2Fevil.example%2F&amp;k=1")),
      std::string::npos)
      << again.html();
  // Transfer encodings kept: base64 stays base64, quoted-printable stays quoted-printable.
  EXPECT_NE(e.body.find("Content-Transfer-Encoding: base64"), std::string::npos);
  EXPECT_NE(e.body.find("Content-Transfer-Encoding: quoted-printable"), std::string::npos);
}

TEST(UrlRewrite, RewritingTwiceChangesNothing) {
  EditedMessage first = edit(kMixed);
  ASSERT_TRUE(first.edited);
  EditedMessage second = edit(first.message);
  EXPECT_FALSE(second.edited);
  EXPECT_EQ(second.not_edited, "no link to rewrite");
}

TEST(UrlRewrite, BannersAndLinksTogetherBannerOnlyWhereShown) {
  EditedMessage e = edit_body(Message::parse(kMixed),
                              BodyEdits{.banners = {"CAUTION: external"}, .url_rewrite = rewrite()});
  ASSERT_TRUE(e.edited);
  Message again = Message::parse(e.message);
  EXPECT_EQ(again.body_text().find("CAUTION: external"), 0u);
  const std::string body = e.body;
  EXPECT_EQ(body.find("CAUTION: external\n\nSecond inline"), std::string::npos);  // not the second text part
}

TEST(UrlRewrite, ASecondPassAddsNeitherLinksNorBannersAgain) {
  const BodyEdits edits{.banners = {"CAUTION: external"}, .url_rewrite = rewrite()};
  EditedMessage first = edit_body(Message::parse(kMixed), edits);
  ASSERT_TRUE(first.edited);
  EditedMessage second = edit_body(Message::parse(first.message), edits);
  EXPECT_FALSE(second.edited) << second.body;
}

TEST(UrlRewrite, SignedMessagesAreLeftAlone) {
  const std::string raw =
      "From: a@ext.example\nMIME-Version: 1.0\n"
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; "
      "boundary=S\n\n"
      "--S\nContent-Type: text/plain\n\nhttp://evil.example/\n--S\nContent-Type: "
      "application/pkcs7-signature\n\nAAAA\n--S--\n";
  EditedMessage e = edit(raw);
  EXPECT_FALSE(e.edited);
  EXPECT_NE(e.not_edited.find("signed"), std::string::npos);
}

TEST(UrlRewrite, SevenBitTextWhoseLinesGrowPastTheLimitBecomesQuotedPrintable) {
  const std::string raw =
      "From: a@ext.example\nSubject: long\n\nhttp://evil.example/" + std::string(950, 'a') + "\n";
  EditedMessage e = edit(raw);
  ASSERT_TRUE(e.edited);
  ASSERT_EQ(e.changed_headers.size(), 2u);
  EXPECT_EQ(e.changed_headers[0].first, "Content-Transfer-Encoding");
  EXPECT_EQ(e.changed_headers[0].second, "quoted-printable");
  for (size_t start = 0, end; start < e.body.size(); start = end + 1) {
    end = e.body.find('\n', start);
    if (end == std::string::npos) end = e.body.size();
    EXPECT_LE(end - start, 998u);
  }
  Message again = Message::parse(e.message);
  EXPECT_NE(again.body_text().find(std::string(950, 'a')), std::string::npos);
}

TEST(UrlRewrite, TargetsThatCannotWorkAreRefusedWithTheReason) {
  EXPECT_EQ(url_rewrite_target_error("https://urldefense.example/v1?u={url}"), "");
  EXPECT_EQ(url_rewrite_target_error("http://check.example/{url}"), "");
  EXPECT_EQ(url_rewrite_target_error("https://check.example/v1"), "it has no {url} for the original link");
  EXPECT_EQ(url_rewrite_target_error("ftp://check.example/{url}"), "it is not an http:// or https:// URL");
  EXPECT_EQ(url_rewrite_target_error("https://{url}/x"), "{url} must come after the host");
  EXPECT_EQ(url_rewrite_target_error("https://a.example/{url}?v={url}"), "it has {url} twice");
  EXPECT_EQ(url_rewrite_target_error("https://a.example/ {url}"), "it has a space or a control character");
  EXPECT_EQ(url_rewrite_target_error("https:///{url}"), "it has no host");
}

}  // namespace
}  // namespace mp::runtime
