// Several values per item (attachments.flags) and the archive-member collection,
// end to end: policy text → image → Evaluator on messages whose attachments are
// built here. A bound test looks at all values of its item and at no other item's;
// any/all/count count items, not values; evidence shows the value and names the item.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/attach/fixtures.h"
#include "tests/vm/interpreter_test_util.h"
#include "vm/field_values.h"
#include "vm/ip_trie.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;
namespace fixtures = attach::testing;

// Attachment 0: an encrypted zip; 1: a PE sent as a PDF (executable, type_mismatch);
// 2: plain text (no flag); 3: a zip holding a zip holding an executable.
std::string mixed_message() {
  std::string inner = fixtures::zip({{"run.exe", fixtures::pe_executable()}});
  return fixtures::message_with({
      {"locked.zip", fixtures::make_archive(fixtures::Format::Zip, {{"a.txt", "secret text"}},
                                            "zip:encryption=zipcrypt", "pw")},
      {"invoice.pdf", fixtures::pe_executable()},
      {"notes.txt", "just some words\n"},
      {"outer.zip", fixtures::zip({{"readme.txt", "read me\n"}, {"inner.zip", inner}})},
  });
}

class MultiValue : public ::testing::Test {
 protected:
  bool fires(const std::string& condition) {
    Policy p("stage s { rule r: if " + condition + " then tag \"t\" }\n");
    return p.fires("r", message_);
  }
  std::string message_ = mixed_message();
};

TEST_F(MultiValue, UnboundTestIsAnyValueOfAnyItem) {
  EXPECT_TRUE(fires("attachments.flags is encrypted"));
  EXPECT_TRUE(fires("attachments.flags in [macros, type_mismatch]"));
  EXPECT_FALSE(fires("attachments.flags is macros"));
  EXPECT_TRUE(fires("attachments.flags is not macros"));
  EXPECT_FALSE(fires("attachments.flags is not encrypted"));
  EXPECT_TRUE(fires("attachments.flags contains \"exec\""));
  EXPECT_TRUE(fires("attachments.type is \"application/vnd.microsoft.portable-executable\""));
}

TEST_F(MultiValue, BoundTestSeesEveryValueOfItsItemAndNoOther) {
  EXPECT_TRUE(fires("any attachment (flags is executable and flags is type_mismatch)"));
  EXPECT_TRUE(fires("any attachment (flags is type_mismatch and name is \"invoice.pdf\")"));
  // Two flags of two different attachments are not one attachment's.
  EXPECT_FALSE(fires("any attachment (flags is encrypted and flags is executable)"));
  EXPECT_FALSE(fires("any attachment (flags is type_mismatch and name is \"notes.txt\")"));
  EXPECT_TRUE(fires("any attachment (flags matches /^exec/ and extension in [pdf])"));
  EXPECT_FALSE(fires("any attachment (flags matches /^exec/ and extension in [zip])"));
}

TEST_F(MultiValue, AllAndCountCountItemsNotValues) {
  EXPECT_TRUE(fires("count(attachments (flags in [executable, type_mismatch])) == 1"));
  EXPECT_TRUE(fires("count(attachments (flags is not executable)) == 3"));
  EXPECT_TRUE(fires("count(attachments (flags contains \"\")) == 3"));  // notes.txt has none
  EXPECT_FALSE(fires("all attachments (flags contains \"\")"));
  EXPECT_TRUE(fires("all attachments (flags is not macros)"));
}

TEST_F(MultiValue, EvidenceShowsTheValueAndNamesTheItem) {
  Policy p(
      "stage s { rule r: if any attachment (extension in [pdf] and flags is executable) then tag \"t\" }\n");
  Verdict v = p.run(message_);
  ASSERT_EQ(v.fired.size(), 1u);
  const auto& evidence = v.fired[0].evidence;
  ASSERT_EQ(evidence.size(), 2u);
  EXPECT_EQ(evidence[1].field, "attachments.flags");
  EXPECT_EQ(evidence[1].excerpt, "executable");
  EXPECT_EQ(evidence[1].item, 1u);  // the attachment, not the value's index
  EXPECT_EQ(evidence[1].item_name, "invoice.pdf");
}

TEST_F(MultiValue, ArchiveMembersAreACollection) {
  EXPECT_TRUE(fires("attachments.archive.extension in [exe, scr]"));
  EXPECT_TRUE(fires("attachments.archive.extension is \".EXE\""));
  // Member names compare without case too (Windows runs RUN.EXE as run.exe).
  EXPECT_TRUE(fires("attachments.archive.name ends with \"RUN.EXE\""));
  EXPECT_TRUE(fires("attachments.archive.name in [\"Run.Exe\"]"));
  EXPECT_TRUE(fires("any archive_member (extension in [exe] and depth == 2 and size > 100)"));
  EXPECT_FALSE(fires("any archive_member (extension in [exe] and depth == 1)"));
  EXPECT_TRUE(fires("count(archive_members) == 4"));
  EXPECT_TRUE(fires("count(archive_members (type is \"application/zip\")) == 1"));
  EXPECT_TRUE(fires("all archive_members (size < 10KB)"));
  EXPECT_TRUE(fires("attachments.archive.type is \"application/vnd.microsoft.portable-executable\""));
  EXPECT_TRUE(fires("attachments.flags is contains_executable"));
}

TEST_F(MultiValue, ArchiveMemberEvidenceNamesTheWayIn) {
  Policy p("stage s { rule r: if any archive_member (name ends with \".exe\") then tag \"t\" }\n");
  Verdict v = p.run(message_);
  ASSERT_EQ(v.fired.size(), 1u);
  ASSERT_EQ(v.fired[0].evidence.size(), 1u);
  EXPECT_EQ(v.fired[0].evidence[0].field, "attachments.archive.name");
  EXPECT_EQ(v.fired[0].evidence[0].item_name, "outer.zip → inner.zip → run.exe");
}

TEST(MultiValueLaziness, OnlyInspectionFieldsInspect) {
  Message message = Message::parse(mixed_message());
  Envelope envelope;
  IpTrie none;
  MessageFields fields(message, envelope, none);
  (void)fields.values(FieldId::AttachmentName);
  (void)fields.values(FieldId::AttachmentSize);
  (void)fields.item_count(Collection::Attachments);
  EXPECT_FALSE(fields.inspected());
  EXPECT_EQ(fields.values(FieldId::AttachmentTrueType).text.size(), 4u);
  EXPECT_TRUE(fields.inspected());
  const FieldValues& flags = fields.values(FieldId::AttachmentFlags);
  ASSERT_EQ(flags.text.size(), flags.items.size());
  EXPECT_EQ(flags.items, (std::vector<uint32_t>{
                             0, 1, 1, 3}));  // encrypted; type_mismatch, executable; contains_executable
}

TEST(MultiValueSema, FlagsHaveAClosedVocabulary) {
  compiler::Compilation c =
      compiler::compile_source("t.mp", "if attachments.flags is encryptd then quarantine \"x\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.diagnostics.items()[0].code, "E023");
}

}  // namespace
}  // namespace mp::vm
