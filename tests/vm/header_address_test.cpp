// header_address("NAME"): the mailboxes of every NAME field, read as From's are
// (SpamAssassin's NAME:addr).
#include "tests/vm/interpreter_test_util.h"

namespace mp::vm::interpreter_test {
namespace {

const char* kMessage =
    "Return-Path: <owner-list@lists.example.org>\r\n"
    "From: \"A B\" <a@b.example>\r\n"
    "To: x@y.example, Group: g1@h.example, G2@H.example;\r\n"
    "Sender: <>\r\n"
    "Subject: mail me at someone@example.com\r\n\r\nbody\r\n";

TEST(HeaderAddress, EveryMailboxOfTheNamedFields) {
  const runtime::Message m = runtime::Message::parse(kMessage);
  std::vector<std::string> to;
  for (const auto& a : m.addresses("to")) to.push_back(a.address);
  EXPECT_EQ(to, (std::vector<std::string>{"x@y.example", "g1@h.example", "G2@h.example"}));
  EXPECT_TRUE(m.addresses("Sender").empty());  // the null sender names no mailbox
  EXPECT_TRUE(m.addresses("X-Absent").empty());
}

TEST(HeaderAddress, RulesTestEachAddressFolded) {
  Policy p(
      "if header_address(\"Return-Path\") matches /^owner-[^@]+@/ then tag \"list\"\n"
      "if header_address(\"To\") is \"g2@h.example\" then tag \"member\"\n"
      "if header_address(\"Sender\") contains \"\" then tag \"sender\"\n");
  const Verdict v = p.run(kMessage);
  EXPECT_EQ(v.tags, (std::vector<std::string>{"list", "member"}));
  ASSERT_FALSE(v.fired.empty());
  ASSERT_FALSE(v.fired[0].evidence.empty());
  EXPECT_EQ(v.fired[0].evidence[0].field, "header_address(\"return-path\")");
}

}  // namespace
}  // namespace mp::vm::interpreter_test
