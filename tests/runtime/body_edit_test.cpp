// runtime::edit_body: banners go where a reader sees them, the rest of the message keeps
// its bytes, the result parses as a valid message, and a message the edit could damage
// (signed, broken structure) is left alone with the reason.
#include "runtime/body_edit.h"

#include <gtest/gtest.h>

#include <string>

namespace mp::runtime {
namespace {

const std::string kBanner = "CAUTION: external sender.";

EditedMessage edit(const std::string& raw, std::vector<std::string> banners = {kBanner}) {
  return edit_body(Message::parse(raw), BodyEdits{.banners = std::move(banners), .url_rewrite = {}});
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

std::string header_block(const std::string& message) {
  const size_t end = message.find("\r\n\r\n");
  return end == std::string::npos ? message.substr(0, message.find("\n\n")) : message.substr(0, end);
}

TEST(BodyEdit, PlainMessageGetsTheBannerOnTopAndKeepsItsHeaderBlockAndLineEnds) {
  const std::string raw =
      "From: a@ext.example\r\nTo: b@widget.com\r\nSubject: hi\r\n\r\nHello there\r\nline 2\r\n";
  EditedMessage e = edit(raw);
  ASSERT_TRUE(e.edited) << e.not_edited;
  EXPECT_EQ(e.body, kBanner + "\r\n\r\nHello there\r\nline 2\r\n");
  EXPECT_TRUE(e.changed_headers.empty());  // still 7-bit US-ASCII text/plain
  EXPECT_EQ(e.message, "From: a@ext.example\r\nTo: b@widget.com\r\nSubject: hi\r\n\r\n" + e.body);
}

TEST(BodyEdit, TheEditedMessageParsesWithTheBannerInItsText) {
  const std::string raw = "From: a@ext.example\nSubject: hi\n\nHello there\n";
  EditedMessage e = edit(raw);
  ASSERT_TRUE(e.edited);
  Message again = Message::parse(e.message);
  EXPECT_EQ(again.body_text().find(kBanner), 0u);
  EXPECT_NE(again.body_text().find("Hello there"), std::string::npos);
  EXPECT_EQ(again.subject(), "hi");
  EXPECT_TRUE(again.defects().empty());
}

const std::string kAlternative =
    "From: a@ext.example\n"
    "Subject: alt\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"XX\"\n"
    "\n"
    "preface\n"
    "--XX\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=E9 au lait\n"
    "--XX\n"
    "Content-Type: text/html; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    // <html><body class="m"><p>Hello</p></body></html>
    "PGh0bWw+PGJvZHkgY2xhc3M9Im0iPjxwPkhlbGxvPC9wPjwvYm9keT48L2h0bWw+Cg==\n"
    "--XX--\n"
    "epilogue\n";

TEST(BodyEdit, EveryAlternativeGetsItAndEachPartKeepsItsTransferEncoding) {
  EditedMessage e = edit(kAlternative);
  ASSERT_TRUE(e.edited) << e.not_edited;
  EXPECT_TRUE(e.changed_headers.empty());  // the top-level multipart is unchanged
  EXPECT_NE(e.body.find("preface"), std::string::npos);
  EXPECT_NE(e.body.find("epilogue"), std::string::npos);
  EXPECT_EQ(count(e.body, "Content-Transfer-Encoding: quoted-printable"), 1u);
  EXPECT_EQ(count(e.body, "Content-Transfer-Encoding: base64"), 1u);
  Message again = Message::parse(e.message);
  // The text part: banner, then the Latin-1 text intact; the HTML part: a <div> right
  // after <body …>.
  EXPECT_EQ(again.body_text().find(kBanner + "\n\nCafé au lait"), 0u) << again.body_text();
  EXPECT_NE(again.html().find("<body class=\"m\"><div style="), std::string::npos) << again.html();
  EXPECT_NE(again.html().find(">" + kBanner + "</div>\n<p>Hello</p>"), std::string::npos) << again.html();
}

TEST(BodyEdit, OnlyTheFirstTextOfAMixedMessageAndAttachmentsKeepTheirBytes) {
  const std::string attachment =
      "--B\n"
      "Content-Type: text/plain; name=\"notes.txt\"\n"
      "Content-Disposition: attachment; filename=\"notes.txt\"\n"
      "\n"
      "attached text, not the body\n";
  const std::string pdf =
      "--B\n"
      "Content-Type: application/pdf; name=\"a.pdf\"\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZURl\n";
  const std::string raw =
      "From: a@ext.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
      "--B\nContent-Type: text/plain\n\nthe body\n" +
      attachment + pdf + "--B--\n";
  EditedMessage e = edit(raw);
  ASSERT_TRUE(e.edited) << e.not_edited;
  EXPECT_EQ(count(e.body, kBanner), 1u);
  EXPECT_NE(e.body.find(attachment), std::string::npos) << e.body;
  EXPECT_NE(e.body.find(pdf), std::string::npos) << e.body;
  EXPECT_NE(e.body.find(kBanner + "\n\nthe body"), std::string::npos);
}

TEST(BodyEdit, SignedMultipartIsLeftAloneWithTheReason) {
  const std::string raw =
      "From: a@ext.example\nMIME-Version: 1.0\n"
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; "
      "boundary=S\n\n"
      "--S\nContent-Type: text/plain\n\nsigned text\n"
      "--S\nContent-Type: application/pkcs7-signature\nContent-Transfer-Encoding: base64\n\nMIIB\n--S--\n";
  EditedMessage e = edit(raw);
  EXPECT_FALSE(e.edited);
  EXPECT_NE(e.not_edited.find("signed"), std::string::npos) << e.not_edited;
  EXPECT_TRUE(e.body.empty());
  EXPECT_TRUE(e.message.empty());
}

TEST(BodyEdit, BrokenStructureIsLeftAsReceived) {
  const std::string raw =
      "From: a@ext.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=NEVER\n\n"
      "--OTHER\nContent-Type: text/plain\n\nhidden text\n--OTHER--\n";
  EditedMessage e = edit(raw);
  EXPECT_FALSE(e.edited);
  EXPECT_NE(e.not_edited.find("broken_boundary"), std::string::npos) << e.not_edited;
}

TEST(BodyEdit, NoInlineTextNothingToEdit) {
  const std::string raw =
      "From: a@ext.example\nMIME-Version: 1.0\nContent-Type: application/pdf\n"
      "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n";
  EditedMessage e = edit(raw);
  EXPECT_FALSE(e.edited);
  EXPECT_EQ(e.not_edited, "no inline text part");
  EXPECT_FALSE(edit("From: a@b\n\ntext\n", {}).edited);
}

TEST(BodyEdit, SevenBitTextThatNoLongerFitsBecomesQuotedPrintableAndTheHeadersSaySo) {
  const std::string raw =
      "From: a@ext.example\nSubject: x\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
      "Content-Transfer-Encoding: 7bit\n\nplain ascii\n";
  EditedMessage e = edit(raw, {"Achtung: externe Absenderin – Vorsicht"});
  ASSERT_TRUE(e.edited);
  ASSERT_EQ(e.changed_headers.size(), 2u);
  EXPECT_EQ(e.changed_headers[0].first, "Content-Type");
  EXPECT_EQ(e.changed_headers[0].second, "text/plain; charset=utf-8");
  EXPECT_EQ(e.changed_headers[1],
            (std::pair<std::string, std::string>{"Content-Transfer-Encoding", "quoted-printable"}));
  // Replaced in place, not added: one field of each name.
  EXPECT_EQ(count(header_block(e.message), "Content-Type:"), 1u);
  EXPECT_EQ(count(header_block(e.message), "Content-Transfer-Encoding: quoted-printable"), 1u);
  Message again = Message::parse(e.message);
  EXPECT_EQ(again.body_text(), "Achtung: externe Absenderin – Vorsicht\n\nplain ascii\n");
}

TEST(BodyEdit, UndeclaredMessageGetsMimeVersionWhenItsContentFieldsAppear) {
  EditedMessage e = edit("From: a@ext.example\nSubject: x\n\nplain\n", {"Vorsicht – extern"});
  ASSERT_TRUE(e.edited);
  ASSERT_EQ(e.changed_headers.size(), 3u);
  EXPECT_EQ(e.changed_headers[2], (std::pair<std::string, std::string>{"MIME-Version", "1.0"}));
  EXPECT_EQ(header_block(e.message).find("From: a@ext.example\nSubject: x\nContent-Type: "), 0u);
  EXPECT_EQ(Message::parse(e.message).body_text(), "Vorsicht – extern\n\nplain\n");
}

TEST(BodyEdit, BannerTextIsEscapedInHtmlAndRepeatedBannersShowOnce) {
  const std::string raw = "From: a@ext.example\nContent-Type: text/html\n\n<p>hi</p>\n";
  EditedMessage e = edit(raw, {"<b>\"External\" & unverified</b>", "second", "second"});
  ASSERT_TRUE(e.edited);
  EXPECT_NE(e.body.find("&lt;b&gt;&quot;External&quot; &amp; unverified&lt;/b&gt;</div>"), std::string::npos)
      << e.body;
  EXPECT_EQ(count(e.body, ">second</div>"), 1u);
  EXPECT_EQ(e.body.find("<div"), 0u);  // no <body>: at the start
}

TEST(BodyEdit, MboxFromLineIsDroppedAndBase64TextStaysBase64) {
  const std::string raw =
      "From sender@example Mon Jan  1 00:00:00 2024\n"
      "From: a@ext.example\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
      "SGVsbG8gd29ybGQK\n";
  EditedMessage e = edit(raw);
  ASSERT_TRUE(e.edited);
  EXPECT_EQ(e.message.find("From: a@ext.example\n"), 0u);
  EXPECT_TRUE(e.changed_headers.empty()) << e.changed_headers[0].first << ": " << e.changed_headers[0].second;
  EXPECT_EQ(e.body.find_first_of(" :"), std::string::npos);  // still base64
  EXPECT_EQ(Message::parse(e.message).body_text(), kBanner + "\n\nHello world\n");
}

}  // namespace
}  // namespace mp::runtime
