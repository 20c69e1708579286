// first_header("NAME") and last_header("NAME"): one occurrence of a repeated field
// (SpamAssassin's NAME:first, NAME:last), where `header "NAME"` tests every one.
#include "tests/vm/interpreter_test_util.h"

namespace mp::vm::interpreter_test {
namespace {

const char* kMessage =
    "Received: from a.example by mx.widget.com; Mon, 1 Jan 2024 00:00:03 +0000\r\n"
    "Received: from b.example by a.example; Mon, 1 Jan 2024 00:00:02 +0000\r\n"
    "Received: from c.example by b.example; Mon, 1 Jan 2024 00:00:01 +0000\r\n"
    "Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody\r\n";

TEST(FirstLastHeader, TheNewestAndTheOldestOccurrence) {
  Policy p(
      "if first_header(\"Received\") starts with \"from a.example \" then tag \"first-a\"\n"
      "if first_header(\"received\") starts with \"from c.example \" then tag \"first-c\"\n"
      "if last_header(\"Received\") starts with \"from c.example \" then tag \"last-c\"\n"
      "if header \"Received\" starts with \"from b.example \" then tag \"any-b\"\n"
      "if first_header(\"Received\") starts with \"from b.example \" then tag \"first-b\"\n"
      "if first_header(\"Subject\") is \"café\" then tag \"decoded\"\n"
      "if last_header(\"X-Absent\") contains \"\" then tag \"absent\"\n");
  const Verdict v = p.run(kMessage);
  EXPECT_EQ(v.tags, (std::vector<std::string>{"first-a", "last-c", "any-b", "decoded"}));
  ASSERT_FALSE(v.fired.empty());
  ASSERT_FALSE(v.fired[0].evidence.empty());
  EXPECT_EQ(v.fired[0].evidence[0].field, "first_header(\"received\")");
}

}  // namespace
}  // namespace mp::vm::interpreter_test
