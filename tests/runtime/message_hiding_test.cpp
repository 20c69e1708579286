// Real-world ways to hide identity or content from a filter (issue 9, sections 1-2):
// a second author, a second From field, empty groups, NUL bytes in header lines,
// attachments inside encoded attached messages or uuencoded in text, a multipart whose
// boundary never matches, nesting past the depth limit. Each must be visible in the
// message model, and where the structure is abnormal, as a defect a policy can test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/message.h"

namespace mp::runtime {
namespace {

namespace fs = std::filesystem;

std::string fixture(std::string_view name) {
  std::ifstream in(fs::path(MP_SOURCE_DIR) / "tests/data/mime" / name, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  EXPECT_FALSE(bytes.str().empty()) << "missing fixture " << name;
  return bytes.str();
}

bool has(const Message& message, DefectKind kind) {
  return message.defect_kinds().test(static_cast<size_t>(kind));
}

std::vector<std::string> addresses(const std::vector<Address>& list) {
  std::vector<std::string> out;
  for (const Address& a : list) out.push_back(a.address);
  return out;
}

std::vector<std::string> attachment_names(const Message& message) {
  std::vector<std::string> out;
  for (const Attachment& a : message.attachments()) out.push_back(a.name);
  return out;
}

const Attachment* attachment_named(const Message& message, std::string_view name) {
  for (const Attachment& a : message.attachments()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

using Names = std::vector<std::string>;

// ---- Identity: every author counts ---------------------------------------------

TEST(HiddenAuthor, EveryMailboxOfFromInBothOrders) {
  for (const char* from : {"<attacker@example.net>, Chief Executive <ceo@example.com>",
                           "Chief Executive <ceo@example.com>, <attacker@example.net>"}) {
    const Message message = Message::parse(std::string("From: ") + from + "\nSubject: x\n\nbody\n");
    Names got = addresses(message.from());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (Names{"attacker@example.net", "ceo@example.com"})) << from;
    EXPECT_FALSE(has(message, DefectKind::DuplicateFrom));
  }
}

TEST(HiddenAuthor, SecondFromFieldCountsAndIsADefect) {
  const Message message = Message::parse(
      "From: attacker@example.net\nFrom: Chief Executive <ceo@example.com>\nTo: ap@example.com\n"
      "Subject: wire\n\nbody\n");
  EXPECT_EQ(addresses(message.from()), (Names{"attacker@example.net", "ceo@example.com"}));
  EXPECT_TRUE(has(message, DefectKind::DuplicateFrom));
  EXPECT_FALSE(has(message, DefectKind::DuplicateTo));
}

TEST(HiddenAuthor, SecondToCcReplyToFieldsCountToo) {
  const Message message = Message::parse(
      "From: a@example.org\nTo: one@example.com\nTo: two@example.com\nCc: c1@example.com\n"
      "Cc: c2@example.com\nReply-To: r1@example.com\nReply-To: r2@evil.example\nSubject: s\nSubject: "
      "t\n\nb\n");
  EXPECT_EQ(addresses(message.to()), (Names{"one@example.com", "two@example.com"}));
  EXPECT_EQ(addresses(message.cc()), (Names{"c1@example.com", "c2@example.com"}));
  EXPECT_EQ(addresses(message.reply_to()), (Names{"r1@example.com", "r2@evil.example"}));
  for (DefectKind kind : {DefectKind::DuplicateTo, DefectKind::DuplicateCc, DefectKind::DuplicateReplyTo,
                          DefectKind::DuplicateSubject}) {
    EXPECT_TRUE(has(message, kind)) << defect_name(kind);
  }
}

TEST(HiddenAuthor, MissingFromIsADefect) {
  EXPECT_TRUE(has(Message::parse("To: a@example.com\nSubject: s\n\nb\n"), DefectKind::MissingFrom));
  EXPECT_TRUE(has(Message::parse("From: undisclosed:;\n\nb\n"), DefectKind::MissingFrom));
  EXPECT_FALSE(has(Message::parse("From: a@example.com\n\nb\n"), DefectKind::MissingFrom));
}

// A From with a name and no address is the defect, yet keeps its mailbox: the
// display name is what a reader sees, and what an impersonation test must read.
TEST(HiddenAuthor, ANameWithoutAnAddressIsMissingFromButKeepsTheName) {
  const std::pair<const char*, const char*> cases[] = {
      {"From: \"Jane Doe\" <>", "Jane Doe"},
      {"From: Jane Doe <>", "Jane Doe"},
      {"From: \"Jane Doe\" < >", "Jane Doe"},
      {"From: \"Jane Doe\" <@>", "Jane Doe"},
      {"From: \"Jane Doe\"", "Jane Doe"},
      {"From: \"PayPal \\\"Support\\\"\"", "PayPal \"Support\""},
      {"From: Jane Doe", "Jane Doe"},
      {"From: \"Jane Doe\" <jane>", "Jane Doe"},
      {"From: <>", ""},
      {"From: postmaster", "postmaster"},
  };
  for (const auto& [field, name] : cases) {
    const Message message = Message::parse(std::string(field) + "\nTo: a@example.com\n\nb\n");
    EXPECT_TRUE(has(message, DefectKind::MissingFrom)) << field;
    ASSERT_EQ(message.from().size(), 1U) << field;
    EXPECT_EQ(message.from()[0].display_name, name) << field;
    EXPECT_EQ(message.from()[0].address, "") << field;
  }
}

TEST(EmptyGroup, YieldsNoMailbox) {
  for (const char* field : {"Cc: Undisclosed recipients:;", "Cc: undisclosed-recipients:;",
                            "Cc: undisclosed-recipients: ;", "Cc: =?utf-8?q?Empf=C3=A4nger?=:;"}) {
    const Message message = Message::parse(std::string("From: a@example.org\n") + field + "\n\nb\n");
    EXPECT_TRUE(message.cc().empty()) << field << " gave " << message.cc().size();
  }
}

TEST(EmptyGroup, BesideAMailboxAndAFullGroup) {
  const Message message = Message::parse(
      "From: a@example.org\nTo: undisclosed-recipients:;, b@example.com, team: x@example.com, "
      "y@example.com;\n\nb\n");
  EXPECT_EQ(addresses(message.to()), (Names{"b@example.com", "x@example.com", "y@example.com"}));
}

// ---- NUL bytes in header lines ---------------------------------------------------

std::string with_nuls(std::string text) {
  std::replace(text.begin(), text.end(), '^', '\0');  // '^' marks a NUL
  return text;
}

TEST(NulInHeader, SubjectKeepsTheTextAfterIt) {
  const Message message = Message::parse(with_nuls("From: a@example.org\nSubject: before^after\n\nbody\n"));
  EXPECT_EQ(message.subject(), "before after");
  EXPECT_EQ(*message.header("Subject"), "before after");
  EXPECT_TRUE(has(message, DefectKind::NulInHeader));
  // raw() is what was received, NUL included (DKIM verifies those bytes).
  EXPECT_NE(message.raw().find('\0'), std::string_view::npos);
}

TEST(NulInHeader, MailboxesAfterItAreSeen) {
  const Message message = Message::parse(
      with_nuls("From: a@example.org^, Chief <ceo@example.com>\nTo: x@example.com^, y@example.com\n\nb\n"));
  EXPECT_EQ(addresses(message.from()), (Names{"a@example.org", "ceo@example.com"}));
  EXPECT_EQ(addresses(message.to()), (Names{"x@example.com", "y@example.com"}));
}

TEST(NulInHeader, PartHeaderFileNameKeepsItsRealExtension) {
  const Message message = Message::parse(
      with_nuls("From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
                "Content-Type: text/plain\n\nhello\n--b\nContent-Type: application/octet-stream\n"
                "Content-Disposition: attachment; filename=\"invoice.pdf^.exe\"\n\nMZ\n--b--\n"));
  ASSERT_EQ(message.attachments().size(), 1u);
  EXPECT_EQ(message.attachments()[0].name, "invoice.pdf .exe");
  EXPECT_EQ(message.attachments()[0].extension, "exe");
  EXPECT_EQ(message.body_text(), "hello");
}

TEST(NulInHeader, AttachedMessageHeaderIsReadWhole) {
  const Message message = Message::parse(with_nuls(
      "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
      "Content-Type: message/rfc822\n\nFrom: x@example.com\nSubject: inner^tail\n\ninner body\n--b--\n"));
  ASSERT_EQ(message.attachments().size(), 1u);
  EXPECT_EQ(message.attachments()[0].name, "inner tail");
}

TEST(NulInHeader, NulInTheBodyIsNotAHeaderDefect) {
  const Message message = Message::parse(with_nuls("From: a@example.org\nSubject: s\n\nbefore^after\n"));
  EXPECT_FALSE(has(message, DefectKind::NulInHeader));
  EXPECT_EQ(message.body_text(), "beforeafter\n");
}

// ---- Attachments wherever a mail client shows them -------------------------------

TEST(HiddenAttachment, InsideBase64AttachedMessage) {
  for (const char* name : {"rfc822_base64.eml", "rfc822_quoted_printable.eml"}) {
    const Message message = Message::parse(fixture(name));
    EXPECT_EQ(attachment_names(message), (Names{"original.eml", "invoice.exe"})) << name;
    const Attachment* exe = attachment_named(message, "invoice.exe");
    ASSERT_NE(exe, nullptr);
    EXPECT_EQ(exe->extension, "exe");
    EXPECT_EQ(exe->size, 12u);
    // The attached message's text is not the outer message's body.
    EXPECT_EQ(message.body_text(), "forwarding") << name;
  }
}

TEST(HiddenAttachment, UuencodedInATextPart) {
  const Message message = Message::parse(fixture("uuencode_inline.eml"));
  ASSERT_EQ(message.attachments().size(), 1u);
  const Attachment& exe = message.attachments()[0];
  EXPECT_EQ(exe.name, "invoice.exe");
  EXPECT_EQ(exe.extension, "exe");
  EXPECT_EQ(exe.content_type, "application/octet-stream");
  EXPECT_EQ(exe.size, 1024u);
}

TEST(HiddenAttachment, UuencodedInAMultipartTextPartAndWithoutEndLine) {
  const Message message = Message::parse(
      "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
      "Content-Type: text/plain\n\nsee below\nbegin 600 Run.Me.Scr\n#86)C\n`\nend\n--b\n"
      "Content-Type: text/plain\n\nbegin 0644 cut.zip\n#86)C\n--b--\n");
  EXPECT_EQ(attachment_names(message), (Names{"Run.Me.Scr", "cut.zip"}));
  EXPECT_EQ(message.attachments()[0].extension, "scr");
  EXPECT_EQ(message.attachments()[0].size, 3u);
}

TEST(HiddenAttachment, ProseStartingWithBeginIsNoFile) {
  const Message message =
      Message::parse("From: a@example.org\n\nbegin the meeting at 10\nbegin 644\nbegin 999 x.exe\nend\n");
  EXPECT_TRUE(message.attachments().empty());
}

// ---- Structure that hides text ---------------------------------------------------

TEST(BrokenBoundary, TextReachesTheBody) {
  const Message message = Message::parse(fixture("broken_boundary_spam.eml"));
  EXPECT_NE(message.body_text().find("Cheap meds at http://pills.example/buy"), std::string::npos);
  EXPECT_TRUE(has(message, DefectKind::BrokenBoundary));
  ASSERT_FALSE(message.urls().empty());
  EXPECT_EQ(message.urls()[0].domain, "pills.example");
}

TEST(BrokenBoundary, AWellFormedMultipartIsNoDefect) {
  const Message message = Message::parse(fixture("nested_alternative.eml"));
  EXPECT_FALSE(has(message, DefectKind::BrokenBoundary));
}

std::string nested(int depth) {
  std::string message = "From: a@example.org\nSubject: deep\n";
  for (int i = 0; i < depth; ++i) {
    message += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
               std::to_string(i) + "\n";
  }
  return message + "Content-Type: application/octet-stream; name=bottom.exe\n\nbottom\n";
}

TEST(MimeDepth, BelowTheLimitIsExaminedAboveIsADefect) {
  EXPECT_EQ(Message::parse(nested(10)).attachments().size(), 1u);
  EXPECT_FALSE(has(Message::parse(nested(10)), DefectKind::MimeDepthExceeded));
  const Message shallow_limit = Message::parse(nested(10), ParseOptions{.max_mime_depth = 5});
  EXPECT_TRUE(shallow_limit.attachments().empty());
  EXPECT_TRUE(has(shallow_limit, DefectKind::MimeDepthExceeded));
  const Message deep_limit = Message::parse(nested(100), ParseOptions{.max_mime_depth = 200});
  EXPECT_EQ(deep_limit.attachments().size(), 1u);
  EXPECT_FALSE(has(deep_limit, DefectKind::MimeDepthExceeded));
}

TEST(MimeDepth, KindIsKeptWhenTheDefectTextsOverflow) {
  std::string message = "From: a@example.org\n";
  for (int i = 0; i < 200; ++i) message += "Bad Header " + std::to_string(i) + "\n";
  message += nested(10).substr(std::string("From: a@example.org\n").size());
  const Message parsed = Message::parse(message, ParseOptions{.max_mime_depth = 3});
  EXPECT_TRUE(has(parsed, DefectKind::MimeDepthExceeded));
}

TEST(Defects, NamesRoundTrip) {
  for (size_t i = 0; i < kDefectKindCount; ++i) {
    const auto kind = static_cast<DefectKind>(i);
    EXPECT_EQ(defect_kind(defect_name(kind)), kind);
    EXPECT_FALSE(defect_meaning(kind).empty());
  }
  EXPECT_FALSE(defect_kind("no_such_defect"));
}

}  // namespace
}  // namespace mp::runtime
