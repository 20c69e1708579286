// Tests for the runtime message model (runtime/message.h, with its private HTML
// helpers) and identity folding (runtime/identity.h): decoding of headers,
// addresses, bodies and attachments from the fixtures in tests/data/mime,
// robustness on malformed input, and a parse of the whole external corpus when
// it is present.
#include <glib.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "runtime/html_text.h"
#include "runtime/identity.h"
#include "runtime/message.h"

namespace mp::runtime {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::string fixture(std::string_view name) {
  const fs::path path = fs::path(MP_SOURCE_DIR) / "tests/data/mime" / name;
  std::string bytes = read_file(path);
  EXPECT_FALSE(bytes.empty()) << "missing fixture " << path;
  return bytes;
}

Message parse_fixture(std::string_view name) {
  return Message::parse(fixture(name));
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool is_valid_utf8(std::string_view text) {
  return g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr);
}

std::vector<std::string> url_texts(const std::vector<Url>& urls) {
  std::vector<std::string> texts;
  texts.reserve(urls.size());
  for (const Url& url : urls) texts.push_back(url.text);
  return texts;
}

std::vector<std::string> url_domains(const std::vector<Url>& urls) {
  std::vector<std::string> domains;
  domains.reserve(urls.size());
  for (const Url& url : urls) domains.push_back(url.domain);
  return domains;
}

std::vector<std::string> header_names(const Message& message) {
  std::vector<std::string> names;
  for (const HeaderField& field : message.headers()) names.push_back(field.name);
  return names;
}

// ---- Headers and addresses --------------------------------------------------

TEST(MessageHeaders, KeepsOrderAndNamesAsWritten) {
  const Message message = parse_fixture("rfc2047_headers.eml");
  const std::vector<std::string> expected = {"Return-Path", "Received",     "From",         "To",
                                             "Cc",          "Reply-To",     "Subject",      "Date",
                                             "Message-ID",  "MIME-Version", "Content-Type", "X-Folded"};
  EXPECT_EQ(header_names(message), expected);
}

TEST(MessageHeaders, EncodedWordSubjectIsDecoded) {
  const Message message = parse_fixture("rfc2047_headers.eml");
  EXPECT_EQ(message.subject(), "Überprüfung der Rechnung €100");
  EXPECT_EQ(message.header("subject"), "Überprüfung der Rechnung €100");
}

// GMime 3.2.13 alone decodes these as "Hello", "Jür" and "ab" (GMime issue #133).
TEST(MessageHeaders, RunsOfPaddedBase64WordsDecodeCompletely) {
  const Message message = Message::parse(
      "From: =?UTF-8?B?SsO8cg==?= =?UTF-8?B?Z2Vu?= <j@example.org>\n"
      "Subject: =?UTF-8?B?SGVsbG8=?=\n =?UTF-8?B?IHdvcmxk?=\n"
      "Content-Type: application/pdf\n"
      "Content-Disposition: attachment; filename=\"=?UTF-8?B?YWI=?=\n =?UTF-8?B?Y2QucGRm?=\"\n"
      "\nJVBERg==\n");
  EXPECT_EQ(message.subject(), "Hello world");
  ASSERT_EQ(message.from().size(), 1u);
  EXPECT_EQ(message.from()[0].display_name, "Jürgen");
  ASSERT_EQ(message.attachments().size(), 1u);
  EXPECT_EQ(message.attachments()[0].name, "abcd.pdf");
}

TEST(MessageHeaders, StatefulCharsetSplitOverPaddedWords) {
  const Message message = Message::parse(
      "Subject: =?iso-2022-jp?B?GyRCRnxLXDhsJE43b0w+IUolNSVWJTglJyUvJUghSyEhJTkbKEI=?=\n"
      "\t=?iso-2022-jp?B?GyRCJVElYCVhITwlayRHJE8kIiRqJF4kOyRzISobKEI=?=\n\nx\n");
  EXPECT_EQ(message.subject(), "日本語の件名（サブジェクト）　スパムメールではありません！");
}

TEST(MessageHeaders, ValuesAreUnfolded) {
  const Message message = parse_fixture("rfc2047_headers.eml");
  EXPECT_EQ(message.header("X-Folded"), "first part second part");
  const std::optional<std::string_view> received = message.header("RECEIVED");
  ASSERT_TRUE(received);
  EXPECT_FALSE(contains(*received, "\n"));
  EXPECT_TRUE(contains(*received, "by mail.example.com with ESMTP"));
  EXPECT_EQ(message.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_FALSE(message.header("X-Absent"));
}

TEST(MessageAddresses, DisplayNamesDecodedAndDomainsLowercased) {
  const Message message = parse_fixture("rfc2047_headers.eml");
  ASSERT_EQ(message.from().size(), 1u);
  EXPECT_EQ(message.from()[0].display_name, "Jörg Müller");
  EXPECT_EQ(message.from()[0].address, "Joerg.Mueller@example.com");
  EXPECT_EQ(message.from()[0].local(), "Joerg.Mueller");
  EXPECT_EQ(message.from()[0].domain(), "example.com");

  ASSERT_EQ(message.to().size(), 2u);
  EXPECT_EQ(message.to()[0].display_name, "Éloïse");
  EXPECT_EQ(message.to()[0].address, "eloise@example.net");
  EXPECT_EQ(message.to()[1].display_name, "");
  EXPECT_EQ(message.to()[1].address, "plain@example.net");
}

// An empty group holds no mailbox (language.md section 8: count(cc) = 0 for
// "Cc: undisclosed-recipients:;"), so it yields none.
TEST(MessageAddresses, GroupsAreFlattenedAndEmptyGroupsYieldNothing) {
  const Message message = parse_fixture("rfc2047_headers.eml");
  ASSERT_EQ(message.cc().size(), 2u);
  EXPECT_EQ(message.cc()[0].address, "alice@example.org");
  EXPECT_EQ(message.cc()[1].display_name, "Bob B.");
  EXPECT_EQ(message.cc()[1].address, "bob@example.org");
}

TEST(MessageAddresses, PunycodeDomainShownInUnicode) {
  const Message message = parse_fixture("rfc2047_headers.eml");
  ASSERT_EQ(message.reply_to().size(), 1u);
  EXPECT_EQ(message.reply_to()[0].address, "replies@münchen.de");
  EXPECT_EQ(fold_domain(message.reply_to()[0].domain()), "xn--mnchen-3ya.de");
}

TEST(MessageAddresses, UnparsableListKeepsItsTextAsDisplayName) {
  const Message message = Message::parse("From: John Smith\nSubject: x\n\nbody\n");
  ASSERT_EQ(message.from().size(), 1u);
  EXPECT_EQ(message.from()[0].display_name, "John Smith");
  EXPECT_EQ(message.from()[0].address, "");
  EXPECT_TRUE(message.to().empty());
}

// ---- Body decoding ----------------------------------------------------------

TEST(MessageBody, QuotedPrintableIsDecoded) {
  const Message message = parse_fixture("qp_body.eml");
  EXPECT_EQ(message.body_text(),
            "Café crème brûlée is delicious.\nVisit http://Example.COM/menu?item=1 today.\n");
  EXPECT_TRUE(message.html().empty());
  ASSERT_EQ(message.urls().size(), 1u);
  EXPECT_EQ(message.urls()[0].text, "http://Example.COM/menu?item=1");
  EXPECT_EQ(message.urls()[0].domain, "example.com");
}

TEST(MessageBody, Base64WithCrlfLineEndsIsDecoded) {
  const Message message = parse_fixture("base64_body.eml");
  EXPECT_EQ(message.body_text(), "Base64 body: naïve résumé\nSecond line\n");
  EXPECT_TRUE(message.raw_body().starts_with("QmFzZTY0"));
  EXPECT_EQ(message.subject(), "base64 with CRLF line ends");
}

TEST(MessageBody, Latin1CharsetConvertedToUtf8) {
  const Message message = parse_fixture("latin1_body.eml");
  EXPECT_EQ(message.body_text(), "Grüße aus Köln\n");
}

TEST(MessageBody, Windows1252CharsetConvertedToUtf8) {
  const Message message = parse_fixture("windows1252_body.eml");
  EXPECT_EQ(message.body_text(), "Price: € 5, “quoted” – dash\n");
}

TEST(MessageBody, DeclaredCharsetIsUsedRatherThanGuessed) {
  const Message message =
      Message::parse("Subject: s\nContent-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n");
  EXPECT_EQ(message.body_text(), "Привет\n");
}

TEST(MessageBody, Latin1LabelIsReadAsWindows1252) {
  const Message message =
      Message::parse("Subject: s\nContent-Type: text/plain; charset=iso-8859-1\n\n\x80 10 \x96 caf\xe9\n");
  EXPECT_EQ(message.body_text(), "€ 10 – café\n");
}

TEST(MessageBody, UndeclaredEightBitTextIsGuessedNotPassedThrough) {
  const Message message = Message::parse("Subject: s\nContent-Type: text/plain\n\ncaf\xe9 \x93ok\x94\n");
  EXPECT_EQ(message.body_text(), "café “ok”\n");
}

TEST(MessageBody, HtmlOnlyMessageYieldsTextAndLinks) {
  const Message message = parse_fixture("html_only.eml");
  const std::string& text = message.body_text();
  EXPECT_TRUE(contains(text, "Dear customer,")) << text;
  EXPECT_TRUE(contains(text, "Click here & win €100 ☺")) << text;
  for (std::string_view hidden : {"<p>", "SCRIPT TEXT", "color: red", "hidden comment", "href"}) {
    EXPECT_FALSE(contains(text, hidden)) << hidden << " in " << text;
  }
  EXPECT_TRUE(contains(message.html(), "<a href=\"https://Login.Example-Bank.COM/verify"));

  ASSERT_EQ(message.urls().size(), 2u);
  EXPECT_EQ(message.urls()[0].text, "https://Login.Example-Bank.COM/verify?id=1&x=2");
  EXPECT_EQ(message.urls()[0].domain, "login.example-bank.com");
  EXPECT_EQ(message.urls()[1].domain, "tracker.example.net");
  EXPECT_TRUE(message.attachments().empty());
}

TEST(MessageBody, NestedAlternativeContributesBothVersionsButNoAttachments) {
  const Message message = parse_fixture("nested_alternative.eml");
  EXPECT_TRUE(contains(message.body_text(), "PLAIN VERSION of the offer"));
  EXPECT_TRUE(contains(message.body_text(), "HTML VERSION"));
  EXPECT_FALSE(contains(message.body_text(), "ATTACHED NOTES"));
  EXPECT_TRUE(contains(message.html(), "<p>HTML VERSION</p>"));

  EXPECT_EQ(url_domains(message.urls()), (std::vector<std::string>{"www.shop.example", "shop.example"}));
}

// ---- Attachments ------------------------------------------------------------

TEST(MessageAttachments, Rfc2231AndRfc2047FileNamesAreDecoded) {
  const Message message = parse_fixture("rfc2231_filename.eml");
  ASSERT_EQ(message.attachments().size(), 2u);
  const Attachment& pdf = message.attachments()[0];
  EXPECT_EQ(pdf.name, "Rapport naïve final.PDF");
  EXPECT_EQ(pdf.extension, "pdf");
  EXPECT_EQ(pdf.content_type, "application/pdf");
  EXPECT_EQ(pdf.size, 1000u);
  const Attachment& zip = message.attachments()[1];
  EXPECT_EQ(zip.name, "Überweisung.ZIP");
  EXPECT_EQ(zip.extension, "zip");
  EXPECT_EQ(zip.size, 600u);
  EXPECT_EQ(message.body_text(), "See attached.");
}

TEST(MessageAttachments, EveryNonBodyLeafIsListedWithItsDecodedSize) {
  const Message message = parse_fixture("nested_alternative.eml");
  const std::vector<Attachment>& attachments = message.attachments();
  ASSERT_EQ(attachments.size(), 3u);
  EXPECT_EQ(attachments[0].name, "Logo.PNG");
  EXPECT_EQ(attachments[0].extension, "png");
  EXPECT_EQ(attachments[0].content_type, "image/png");
  EXPECT_EQ(attachments[0].size, 300u);
  EXPECT_EQ(attachments[1].name, "notes.txt");
  EXPECT_EQ(attachments[1].content_type, "text/plain");
  // An image without a name is still an attachment (policies count them).
  EXPECT_EQ(attachments[2].name, "");
  EXPECT_EQ(attachments[2].extension, "");
  EXPECT_EQ(attachments[2].content_type, "image/gif");
  EXPECT_EQ(attachments[2].size, 50u);
}

TEST(MessageAttachments, AttachedMessageIsAnAttachmentAndIsSearchedForMore) {
  const Message message = parse_fixture("rfc822_attachment.eml");
  EXPECT_TRUE(contains(message.body_text(), "OUTER TEXT"));
  EXPECT_FALSE(contains(message.body_text(), "INNER BODY TEXT"));
  ASSERT_EQ(message.attachments().size(), 2u);
  const Attachment& attached = message.attachments()[0];
  EXPECT_EQ(attached.name, "Inner report");
  EXPECT_EQ(attached.content_type, "message/rfc822");
  EXPECT_GT(attached.size, 600u);  // the inner message holds a 600-byte zip in base64
  const Attachment& zip = message.attachments()[1];
  EXPECT_EQ(zip.name, "data.zip");
  EXPECT_EQ(zip.content_type, "application/zip");
  EXPECT_EQ(zip.size, 600u);
}

TEST(MessageAttachments, UnnamedAttachedMessageIsCalledMessageEml) {
  const Message message =
      Message::parse("Subject: outer\nContent-Type: message/rfc822\n\nFrom: a@b.example\n\ninner\n");
  ASSERT_EQ(message.attachments().size(), 1u);
  EXPECT_EQ(message.attachments()[0].name, "message.eml");
  EXPECT_EQ(message.attachments()[0].extension, "eml");
}

// ---- Raw views and mbox -----------------------------------------------------

TEST(MessageRaw, MboxFromLineIsSkippedButCounted) {
  const std::string bytes = fixture("mbox_from.eml");
  const Message message = Message::parse(bytes);
  ASSERT_FALSE(message.headers().empty());
  EXPECT_EQ(message.headers()[0].name, "Return-Path");
  EXPECT_EQ(message.subject(), "mbox style");
  EXPECT_EQ(message.from()[0].address, "sender@example.org");
  EXPECT_EQ(message.size(), bytes.size());
  EXPECT_EQ(message.raw(), bytes);
  EXPECT_EQ(message.raw_body(), "Body after an mbox From line.\n");
}

TEST(MessageRaw, SplitMboxOnFromLines) {
  const std::string mbox =
      "From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody one\n>From escaped\n>>From twice\n> quoted\n\n"
      "From b@x Mon Jan  1 00:00:01 2024\nSubject: two\n\nbody two\n";
  const std::vector<std::string> messages = split_mbox(mbox);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(Message::parse(messages[0]).subject(), "one");
  EXPECT_EQ(Message::parse(messages[1]).subject(), "two");
  // mboxrd: one level of '>' quoting before "From " is removed, other quotes stay.
  EXPECT_EQ(Message::parse(messages[0]).raw_body(), "body one\nFrom escaped\n>From twice\n> quoted\n\n");
}

TEST(MessageRaw, SplitMboxWithoutFromLineIsOneMessage) {
  EXPECT_EQ(split_mbox("Subject: x\n\nFrom me\n"), (std::vector<std::string>{"Subject: x\n\nFrom me\n"}));
}

// ---- Malformed input --------------------------------------------------------

TEST(MessageMalformed, EmptyInput) {
  const Message message = Message::parse("");
  EXPECT_TRUE(message.headers().empty());
  EXPECT_TRUE(message.from().empty());
  EXPECT_EQ(message.subject(), "");
  EXPECT_EQ(message.body_text(), "");
  EXPECT_TRUE(message.attachments().empty());
  EXPECT_EQ(message.size(), 0u);
  EXPECT_FALSE(message.defects().empty());
}

TEST(MessageMalformed, BinaryJunkBecomesTheBody) {
  constexpr char kJunk[] = "\x00\x01\x02\xff\xfe\x80 junk http://junk.example/x \x00\xc3";
  const std::string junk(kJunk, sizeof kJunk - 1);
  const Message message = Message::parse(junk);
  EXPECT_TRUE(message.headers().empty());
  EXPECT_EQ(message.raw_body(), junk);
  EXPECT_EQ(message.size(), junk.size());
  EXPECT_FALSE(message.defects().empty());
  EXPECT_TRUE(is_valid_utf8(message.body_text()));
  EXPECT_TRUE(contains(message.body_text(), "junk"));
  ASSERT_EQ(message.urls().size(), 1u);
  EXPECT_EQ(message.urls()[0].domain, "junk.example");
}

TEST(MessageMalformed, NoBlankLineMeansNoBody) {
  const Message message = Message::parse("Subject: only headers\nFrom: a@b.example");
  EXPECT_EQ(message.subject(), "only headers");
  ASSERT_EQ(message.from().size(), 1u);
  EXPECT_EQ(message.from()[0].address, "a@b.example");
  EXPECT_EQ(message.raw_body(), "");
  EXPECT_TRUE(message.defect_kinds().test(static_cast<size_t>(DefectKind::NoHeaderSeparator)));
  EXPECT_TRUE(std::any_of(message.defects().begin(), message.defects().end(),
                          [](const Defect& defect) { return defect.text == "no header/body separator"; }));
}

TEST(MessageMalformed, TruncatedMultipartKeepsWhatCameBefore) {
  const Message message = parse_fixture("broken_boundary.eml");
  EXPECT_EQ(message.subject(), "truncated multipart");
  EXPECT_TRUE(contains(message.body_text(), "FIRST PART survives."));
  ASSERT_EQ(message.attachments().size(), 1u);
  EXPECT_EQ(message.attachments()[0].name, "cut.bin");
  EXPECT_EQ(message.attachments()[0].size, 114u);  // two full 76-character base64 lines
}

TEST(MessageMalformed, BoundaryThatNeverAppears) {
  const Message message = Message::parse(
      "Subject: wrong boundary\nContent-Type: multipart/mixed; boundary=declared\n\n"
      "--other\nContent-Type: text/plain\n\nlost text\n--other--\n");
  EXPECT_EQ(message.subject(), "wrong boundary");
  EXPECT_TRUE(contains(message.raw_body(), "lost text"));
  // The text a broken structure would hide still reaches the body (SpamAssassin's
  // fallback), and the defect is visible to policy.
  EXPECT_TRUE(contains(message.body_text(), "lost text"));
  EXPECT_TRUE(message.defect_kinds().test(static_cast<size_t>(DefectKind::BrokenBoundary)));
  EXPECT_TRUE(message.attachments().empty());
}

std::string deeply_nested_multipart(int depth) {
  std::string message = "Subject: deep\n";
  for (int i = 0; i < depth; ++i) {
    message += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
               std::to_string(i) + "\n";
  }
  return message + "Content-Type: application/octet-stream\n\nbottom\n";
}

TEST(MessageMalformed, DeepNestingIsCutOffWithADefect) {
  const Message message = Message::parse(deeply_nested_multipart(500));
  EXPECT_EQ(message.subject(), "deep");
  EXPECT_TRUE(message.attachments().empty());  // the only leaf is below the cut-off
  EXPECT_EQ(message.body_text(), "");
  EXPECT_TRUE(std::any_of(message.defects().begin(), message.defects().end(),
                          [](const Defect& defect) { return contains(defect.text, "nesting"); }));
  EXPECT_TRUE(message.defect_kinds().test(static_cast<size_t>(DefectKind::MimeDepthExceeded)));
}

TEST(MessageMalformed, ShallowNestingIsWalkedFully) {
  const Message message = Message::parse(deeply_nested_multipart(40));
  ASSERT_EQ(message.attachments().size(), 1u);
  EXPECT_EQ(message.attachments()[0].size, 7u);
}

TEST(MessageMalformed, DeeplyNestedAttachedMessages) {
  std::string message = "Subject: outer\n";
  for (int i = 0; i < 300; ++i) message += "Content-Type: message/rfc822\n\nSubject: level\n";
  message += "\nbottom\n";
  const Message parsed = Message::parse(message);
  EXPECT_EQ(parsed.subject(), "outer");
  EXPECT_GE(parsed.attachments().size(), 60u);
  EXPECT_LE(parsed.attachments().size(), 70u);
}

TEST(MessageThreads, SeparateMessagesParseConcurrently) {
  constexpr int kThreads = 4;
  constexpr int kParsesPerThread = 50;
  const std::string bytes = fixture("rfc2231_filename.eml");
  std::vector<int> correct(kThreads, 0);  // one slot per thread: no sharing
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kParsesPerThread; ++i) {
        const Message message = Message::parse(bytes);
        if (message.attachments().size() == 2 && message.attachments()[0].size == 1000 &&
            message.body_text() == "See attached.") {
          ++correct[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(correct, std::vector<int>(kThreads, kParsesPerThread));
}

// ---- HTML text and URL helpers ----------------------------------------------

using detail::decode_html_entities;
using detail::html_to_text;
using detail::url_domain;

TEST(HtmlText, CharacterReferences) {
  EXPECT_EQ(decode_html_entities("&lt;b&gt; &amp;amp; &quot;q&quot; &#65;&#x42; &#67 &euro;"),
            "<b> &amp; \"q\" AB C €");
  EXPECT_EQ(decode_html_entities("&bogus; & &#; &#xZZ;"), "&bogus; & &#; &#xZZ;");
  EXPECT_EQ(decode_html_entities("&#0; &#xD800; &#99999999999999;"), "\uFFFD \uFFFD \uFFFD");
}

TEST(HtmlText, MarkupThatIsNotATag) {
  EXPECT_EQ(html_to_text("a < b and 3<4 <> </ >"), "a < b and 3<4 <> </ >");
  EXPECT_EQ(html_to_text("<!DOCTYPE html><?xml x?>text<!-- <p>gone</p> -->after"), "textafter");
}

TEST(HtmlText, StrayQuoteInUnquotedValueDoesNotSwallowText) {
  EXPECT_EQ(html_to_text("<a title=it's>kept</a> <b>also kept</b>"), "kept also kept");
}

TEST(HtmlText, LayoutOfBlocksAndCells) {
  EXPECT_EQ(html_to_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"), "a b\nc");
  EXPECT_EQ(html_to_text("one<br>two<BR/>  three\n\n   four"), "one\ntwo\nthree four");
  EXPECT_EQ(html_to_text("<STYLE>x{}</STYLE>shown<script>hidden()</script >too"), "showntoo");
  EXPECT_EQ(html_to_text("<script>never closed"), "");
}

TEST(HtmlText, UrlDomains) {
  EXPECT_EQ(url_domain("HTTPS://User:pw@Host.Example:8443/path"), "host.example");
  EXPECT_EQ(url_domain("http://[2001:DB8::1]:80/"), "2001:db8::1");
  EXPECT_EQ(url_domain("www.Example.org./x?y#z"), "www.example.org");
  EXPECT_EQ(url_domain("www.a.example/?u=http://b.example"), "www.a.example");
  EXPECT_EQ(url_domain("//cdn.example/x.js"), "cdn.example");
  EXPECT_EQ(url_domain("www."), "");
  EXPECT_EQ(url_domain("mailto:a@b.example"), "");
  EXPECT_EQ(url_domain("/relative/path"), "");
}

TEST(HtmlText, UrlsInTextAreTrimmedAndDeduplicated) {
  const std::vector<Url> urls = detail::find_urls(
      "See (http://a.example/x). Or www.b.example, or http://a.example/x again; "
      "not user@www.c.example nor xwww.d.example.",
      "<a href='mailto:x@y.example'>m</a><a HREF = \" https://e.example/?a=1&amp;b=2 \">e</a>");
  EXPECT_EQ(url_texts(urls),
            (std::vector<std::string>{"http://a.example/x", "www.b.example", "https://e.example/?a=1&b=2"}));
}

// ---- Identity folding -------------------------------------------------------

TEST(Identity, FoldDomain) {
  EXPECT_EQ(fold_domain("Example.COM."), "example.com");
  EXPECT_EQ(fold_domain("MÜNCHEN.de"), "xn--mnchen-3ya.de");
  EXPECT_EQ(fold_domain("xn--mnchen-3ya.DE"), "xn--mnchen-3ya.de");
  // Non-transitional: ß is kept, not mapped to "ss".
  EXPECT_EQ(fold_domain("faß.de"), "xn--fa-hia.de");
  EXPECT_EQ(fold_domain(""), "");
}

TEST(Identity, FoldDomainFallsBackToLowercaseForInvalidIdn) {
  EXPECT_EQ(fold_domain("BAD\xff.Example"), "bad\xff.example");
}

TEST(Identity, FoldAddress) {
  EXPECT_EQ(fold_address("<John.Doe@Example.COM>"), "john.doe@example.com");
  EXPECT_EQ(fold_address("User@Bücher.example"), "user@xn--bcher-kva.example");
  EXPECT_EQ(fold_address("\"a@b\"@Example.org"), "\"a@b\"@example.org");
  EXPECT_EQ(fold_address("<>"), "");
  EXPECT_EQ(fold_address("PostMaster"), "postmaster");
}

// ---- The external corpus ----------------------------------------------------

std::vector<fs::path> corpus_files(const fs::path& root) {
  std::vector<fs::path> files;
  for (const char* folder : {"mime-rspamd", "spamassassin-public/easy_ham", "spamassassin-public/hard_ham",
                             "spamassassin-public/spam"}) {
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root / folder)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_regular_file() && !name.starts_with("LICENSE")) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Everything the model hands out must be valid UTF-8 and well-formed, for any input.
void check_every_accessor(const Message& message, const std::string& bytes) {
  for (const HeaderField& field : message.headers()) {
    EXPECT_TRUE(is_valid_utf8(field.name) && is_valid_utf8(field.value)) << field.name;
  }
  for (const auto* list : {&message.from(), &message.to(), &message.cc(), &message.reply_to()}) {
    for (const Address& address : *list) {
      EXPECT_TRUE(is_valid_utf8(address.display_name));
      EXPECT_LE(address.local().size() + address.domain().size(), address.address.size());
    }
  }
  EXPECT_TRUE(is_valid_utf8(message.subject()));
  EXPECT_TRUE(is_valid_utf8(message.body_text()));
  EXPECT_TRUE(is_valid_utf8(message.html()));
  for (const Url& url : message.urls()) {
    EXPECT_FALSE(url.domain.empty()) << url.text;
    EXPECT_FALSE(std::any_of(url.domain.begin(), url.domain.end(), [](char c) {
      return c >= 'A' && c <= 'Z';
    })) << url.domain;
  }
  for (const Attachment& attachment : message.attachments()) {
    EXPECT_TRUE(contains(attachment.content_type, "/")) << attachment.content_type;
    EXPECT_LE(attachment.size, 2 * bytes.size());
  }
  EXPECT_EQ(message.size(), bytes.size());
  EXPECT_EQ(message.raw(), bytes);
  EXPECT_TRUE(bytes.ends_with(message.raw_body()));
  (void)message.header("Received");
  (void)message.defects();
}

TEST(MessageCorpus, EveryFileParsesAndEveryAccessorWorks) {
  const fs::path root(MP_CORPUS_DIR);
  if (!fs::is_directory(root / "mime-rspamd") || !fs::is_directory(root / "spamassassin-public/easy_ham")) {
    GTEST_SKIP() << "corpus not found at " << root;
  }
  const std::vector<fs::path> files = corpus_files(root);
  EXPECT_GE(files.size(), 3000u);
  size_t with_from = 0;
  size_t with_body = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const fs::path& path : files) {
    SCOPED_TRACE(path.string());
    const std::string bytes = read_file(path);
    EXPECT_NO_THROW({
      const Message message = Message::parse(bytes);
      check_every_accessor(message, bytes);
      with_from += message.from().empty() ? 0 : 1;
      with_body += message.body_text().empty() ? 0 : 1;
    });
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  std::cout << "parsed " << files.size() << " corpus files in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms\n";
  // Nearly every real message has a sender and some text; a decoding regression
  // that silently empties them shows up here.
  EXPECT_GT(with_from, files.size() * 95 / 100);
  EXPECT_GT(with_body, files.size() * 90 / 100);
}

}  // namespace
}  // namespace mp::runtime
