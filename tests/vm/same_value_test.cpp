// `FIELD is FIELD`: two fields of the same kind compared (Reply-To vs From, From vs
// envelope sender). True when some value of the left equals some value of the right.
#include <gtest/gtest.h>

#include <string>

#include "compiler/compiler.h"
#include "tests/vm/interpreter_test_util.h"
#include "vm/vm.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

std::string message(const std::string& headers) {
  return headers + "To: staff@widget.com\r\nSubject: invoice\r\n\r\nbody\r\n";
}

TEST(VmSameValue, ReplyToDomainThatDiffersFromFrom) {
  Policy p("if count(reply_to) > 0 and reply_to.domain is not from.domain then tag \"reply elsewhere\"\n");
  EXPECT_EQ(p.run(message("From: a@supplier.example\r\nReply-To: pay@collector.example\r\n")).tags,
            std::vector<std::string>{"reply elsewhere"});
  EXPECT_TRUE(p.run(message("From: a@supplier.example\r\nReply-To: b@SUPPLIER.example\r\n")).tags.empty());
  EXPECT_TRUE(p.run(message("From: a@supplier.example\r\n")).tags.empty());
  // Any value of each side: one of two From mailboxes shares the domain.
  EXPECT_TRUE(p.run(message("From: a@x.example, b@supplier.example\r\nReply-To: c@supplier.example\r\n"))
                  .tags.empty());
}

TEST(VmSameValue, EnvelopeAgainstHeaderWithEvidence) {
  Policy p("stage s { rule aligned: if from.address is sender then tag \"same\" }\n");
  p.evaluator().set_trace(true);
  Verdict v = p.run(message("From: Jane <Jane@Widget.com>\r\n"), envelope("jane@widget.com"));
  ASSERT_EQ(v.fired.size(), 1u);
  EXPECT_EQ(v.fired[0].evidence[0].field, "from.address");
  EXPECT_EQ(v.fired[0].evidence[0].excerpt, "jane@widget.com");
  EXPECT_EQ(v.trace[0].tests[0].detail, "in Jane@widget.com: \"jane@widget.com\" is a value of both");
  EXPECT_TRUE(
      p.run(message("From: Jane <jane@widget.com>\r\n"), envelope("bounce@esp.example")).tags.empty());
}

TEST(VmSameValue, BoundInsideAQuantifier) {
  Policy p("if any reply_to (domain is not from.domain) then tag \"one elsewhere\"\n");
  EXPECT_EQ(p.run(message("From: a@s.example\r\nReply-To: b@s.example, c@other.example\r\n")).tags,
            std::vector<std::string>{"one elsewhere"});
  EXPECT_TRUE(p.run(message("From: a@s.example\r\nReply-To: b@s.example\r\n")).tags.empty());
}

TEST(VmSameValue, IpFields) {
  Policy p("if client.effective_ip is client.ip then tag \"direct\"\n");
  Verdict v = p.run(message("From: a@s.example\r\n"), envelope("a@s.example", {}, "192.0.2.7"));
  EXPECT_EQ(v.tags, std::vector<std::string>{"direct"});
}

TEST(VmSameValue, OnlyLikeWithLike) {
  EXPECT_EQ(error_codes("if from.address is from.domain then tag \"x\"\n"), "E021 ");
  EXPECT_EQ(error_codes("if size is attachments.size then tag \"x\"\n"), "E021 ");
  EXPECT_EQ(error_codes("if header \"X-A\" is subject then tag \"x\"\n"), "E021 ");
  EXPECT_EQ(error_codes("if subject is from.display_name nocase then tag \"x\"\n"), "E021 ");
  EXPECT_EQ(error_codes("if subject in from.display_name then tag \"x\"\n"), "E021 ");
  EXPECT_EQ(error_codes("if subject contains body then tag \"x\"\n"), "E021 ");
  EXPECT_EQ(error_codes("if subject is from.display_name then tag \"x\"\n"), "");
}

}  // namespace
}  // namespace mp::vm
