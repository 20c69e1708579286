// runtime::ParseOptions's limits on what a message has examined: past each, the
// message is read up to it, the rest is not examined, and the defect says so.
#include <gtest/gtest.h>

#include <string>

#include "runtime/message.h"

namespace mp::runtime {
namespace {

bool has(const Message& m, DefectKind kind) {
  return m.defect_kinds().test(static_cast<size_t>(kind));
}

TEST(HeaderLimits, AFromPastTheCountIsNotRead) {
  std::string message = "Subject: s\n";
  for (int i = 0; i < 5; ++i) message += "X-Pad: " + std::to_string(i) + "\n";
  message += "From: late@example.org\n\nbody\n";
  const Message cut = Message::parse(message, ParseOptions{.max_header_fields = 6});
  EXPECT_EQ(cut.headers().size(), 6u);
  EXPECT_TRUE(cut.from().empty());
  EXPECT_TRUE(has(cut, DefectKind::HeaderFieldsExceeded));
  EXPECT_TRUE(has(cut, DefectKind::MissingFrom));
  // Every reader of the header block sees the same fields: mime_header's first entity
  // and addresses() too.
  ASSERT_FALSE(cut.mime_headers().empty());
  EXPECT_EQ(cut.mime_headers()[0].size(), 6u);
  EXPECT_TRUE(cut.addresses("From").empty());
  const Message whole = Message::parse(message, ParseOptions{.max_header_fields = 7});
  ASSERT_EQ(whole.from().size(), 1u);
  EXPECT_EQ(whole.from()[0].address, "late@example.org");
  EXPECT_FALSE(has(whole, DefectKind::HeaderFieldsExceeded));
}

TEST(HeaderLimits, AnAttachedMessagesHeaderBlockIsCountedOnItsOwn) {
  std::string inner;
  for (int i = 0; i < 5; ++i) inner += "X-Inner: " + std::to_string(i) + "\n";
  const std::string message =
      "From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
      "Content-Type: message/rfc822\n\n" +
      inner + "Subject: inner\n\ntext\n--b--\n";
  auto inner_block = [](const Message& m) {
    for (const auto& entity : m.mime_headers())
      if (!entity.empty() && entity[0].name == "X-Inner") return entity.size();
    return size_t{0};
  };
  const Message cut = Message::parse(message, ParseOptions{.max_header_fields = 5});
  EXPECT_EQ(inner_block(cut), 5u);
  EXPECT_TRUE(has(cut, DefectKind::HeaderFieldsExceeded));
  const Message whole = Message::parse(message, ParseOptions{.max_header_fields = 6});
  EXPECT_EQ(inner_block(whole), 6u);
  EXPECT_FALSE(has(whole, DefectKind::HeaderFieldsExceeded));
}

TEST(HeaderLimits, ALongFieldIsCutAtACharacterBoundary) {
  // "é" is two bytes: a cut at 4 bytes would split the second one.
  const Message m = Message::parse("From: a@example.org\nSubject: aéé\n\nbody\n",
                                   ParseOptions{.max_header_field_bytes = 4});
  EXPECT_EQ(m.subject(), "aé");
  EXPECT_TRUE(has(m, DefectKind::HeaderFieldTooLong));
  for (const HeaderField& f : m.headers()) EXPECT_LE(f.raw.size(), 4u) << f.name;
  const Message whole = Message::parse("From: a@example.org\nSubject: aéé\n\nbody\n",
                                       ParseOptions{.max_header_field_bytes = 20});
  EXPECT_EQ(whole.subject(), "aéé");
  EXPECT_FALSE(has(whole, DefectKind::HeaderFieldTooLong));
}

TEST(HeaderLimits, APartsFieldIsCutToo) {
  const std::string message =
      "From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n"
      "X-Part: " +
      std::string(50, 'p') + "\n\ntext\n--b--\n";
  const Message m = Message::parse(message, ParseOptions{.max_header_field_bytes = 40});
  bool cut = false;
  for (const auto& entity : m.mime_headers())
    for (const HeaderField& f : entity) cut = cut || (f.name == "X-Part" && f.value.size() == 40);
  EXPECT_TRUE(cut);
  EXPECT_TRUE(has(m, DefectKind::HeaderFieldTooLong));
}

std::string attachments(int count) {
  std::string m = "From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < count; ++i)
    m += "--b\nContent-Type: application/octet-stream; name=f" + std::to_string(i) + ".bin\n\nx\n";
  return m + "--b--\n";
}

TEST(MimePartLimits, LaterPartsGiveNoAttachmentAndNoPartHeaders) {
  // The multipart and 4 leaves: 5 entities. With 3, the first 2 leaves are examined.
  const Message cut = Message::parse(attachments(4), ParseOptions{.max_mime_parts = 3});
  ASSERT_EQ(cut.attachments().size(), 2u);
  EXPECT_EQ(cut.attachments()[1].name, "f1.bin");
  EXPECT_EQ(cut.mime_headers().size(), 3u);  // the message's block and the 2 leaves
  EXPECT_TRUE(has(cut, DefectKind::MimePartsExceeded));
  const Message whole = Message::parse(attachments(4), ParseOptions{.max_mime_parts = 5});
  EXPECT_EQ(whole.attachments().size(), 4u);
  EXPECT_EQ(whole.mime_headers().size(), 5u);
  EXPECT_FALSE(has(whole, DefectKind::MimePartsExceeded));
}

TEST(UrlLimits, LaterUrlsAreNotTaken) {
  const std::string message =
      "From: a@example.org\n\nhttp://one.example/ http://two.example/ http://three.example/\n";
  const Message cut = Message::parse(message, ParseOptions{.max_urls = 2});
  ASSERT_EQ(cut.urls().size(), 2u);
  EXPECT_EQ(cut.urls()[1].domain, "two.example");
  EXPECT_TRUE(has(cut, DefectKind::UrlsExceeded));
  const Message whole = Message::parse(message, ParseOptions{.max_urls = 3});
  EXPECT_EQ(whole.urls().size(), 3u);
  EXPECT_FALSE(has(whole, DefectKind::UrlsExceeded));
}

}  // namespace
}  // namespace mp::runtime
