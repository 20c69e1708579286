// body.paragraphs, SpamAssassin's view of the body for its `body` rules: the Subject
// first, one value per paragraph, white space runs (line breaks included) one space.
#include <gtest/gtest.h>

#include "tests/vm/interpreter_test_util.h"
#include "vm/field_values.h"

namespace mp::vm {
namespace {

using interpreter_test::Policy;

std::vector<std::string> paragraphs(const std::string& raw) {
  const runtime::Message message = runtime::Message::parse(raw);
  const runtime::Envelope envelope;
  const IpTrie no_relays;
  MessageFields fields(message, envelope, no_relays);
  const FieldValues& values = fields.values(FieldId::BodyParagraphs);
  return {values.text.begin(), values.text.end()};
}

TEST(BodyParagraphs, SubjectFirstThenEachParagraphOnOneLine) {
  EXPECT_EQ(paragraphs("Subject: Free\n  stuff\n\nDear friend, claim your\ncompensation   today.\n   \n\n"
                       "Second\tparagraph.\n"),
            (std::vector<std::string>{"Free stuff", "Dear friend, claim your compensation today.",
                                      "Second paragraph."}));
  EXPECT_EQ(paragraphs("From: a@b.example\n\nonly\r\none\r\n"), (std::vector<std::string>{"only one"}));
  EXPECT_TRUE(paragraphs("Subject:  \n\n \n\t\n").empty());
}

TEST(BodyParagraphs, ARuleSeesTheLinesOfAParagraphJoined) {
  Policy p(
      "stage s {\n  rule comp: if body.paragraphs matches /your compensation/i then quarantine \"c\"\n}\n");
  EXPECT_TRUE(p.fires("comp", "Subject: x\n\nclaim your\ncompensation\n"));
  EXPECT_FALSE(p.fires("comp", "Subject: x\n\nclaim your\n\ncompensation\n"));  // two paragraphs
}

}  // namespace
}  // namespace mp::vm
