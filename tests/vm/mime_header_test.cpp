// mime_header("NAME"): the NAME field of every MIME entity, the message's own header
// block first (SpamAssassin's mimeheader); folds read as one space, as SpamAssassin
// reads them.
#include "tests/vm/interpreter_test_util.h"

namespace mp::vm::interpreter_test {
namespace {

const char* kMessage =
    "From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n"
    "--BB\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    "--BB\r\nContent-Type: message/rfc822\r\n\r\n"
    "Subject: inner\r\nContent-Type: image/gif;\r\n\tname=\"a.gif\"\r\nContent-Transfer-Encoding: "
    "base64\r\n\r\n"
    "R0lGODlh\r\n"
    "--BB--\r\n";

TEST(MimeHeader, EveryEntityInDocumentOrder) {
  const runtime::Message m = runtime::Message::parse(kMessage);
  std::vector<std::string> types;
  for (const auto& entity : m.mime_headers())
    for (const auto& h : entity)
      if (h.name == "Content-Type") types.push_back(h.value);
  EXPECT_EQ(types, (std::vector<std::string>{"multipart/mixed; boundary=\"BB\"", "text/plain",
                                             "message/rfc822", "image/gif; name=\"a.gif\""}));
  EXPECT_EQ(m.mime_headers().size(), 4u);
}

TEST(MimeHeader, RulesTestEachEntitysField) {
  Policy p(
      "stage custom_filters {\n"
      "  rule gif: if mime_header(\"Content-Type\") matches /^image\\/gif; name=/ then score +1\n"
      "  rule b64: if mime_header(\"content-transfer-encoding\") is \"base64\" then score +1\n"
      "  rule inner: if mime_header(\"Subject\") is \"inner\" then score +1\n"
      "  rule html: if mime_header(\"Content-Type\") contains \"text/html\" then score +1\n"
      "  rule top_cte: if header \"Content-Transfer-Encoding\" contains \"\" then score +1\n"
      "}\n");
  Verdict v = p.run(kMessage);
  std::vector<std::string> fired;
  for (const auto& f : v.fired) fired.push_back(f.name);
  EXPECT_EQ(fired, (std::vector<std::string>{"gif", "b64", "inner"}));
  ASSERT_FALSE(v.fired.empty());
  ASSERT_FALSE(v.fired[0].evidence.empty());
  EXPECT_EQ(v.fired[0].evidence[0].field, "mime_header(\"content-type\")");
}

// A field repeated within one entity reads as its last copy, as the plugin reads it:
// which copy a mail client honours is the sender's game, so the test follows SpamAssassin.
TEST(MimeHeader, OfARepeatedFieldTheLast) {
  Policy p(
      "if mime_header(\"Content-Type\") starts with \"text/plain\" then reject\n"
      "if mime_header(\"Content-Type\") starts with \"text/html\" then quarantine\n");
  EXPECT_EQ(p.run("Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\nx\r\n").action,
            Action::Quarantine);
}

TEST(MimeHeader, DeeperThanTheMimeDepthLimitIsLeftOut) {
  runtime::ParseOptions options;
  options.max_mime_depth = 0;
  const runtime::Message m = runtime::Message::parse(kMessage, options);
  EXPECT_EQ(m.mime_headers().size(), 1u);  // the message's own header block
}

}  // namespace
}  // namespace mp::vm::interpreter_test
