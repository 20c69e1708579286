// raw_header("NAME"): each occurrence's field body as received (SpamAssassin's `:raw`):
// the whitespace after the colon, folding line breaks and encoded words kept.
#include "tests/vm/interpreter_test_util.h"

namespace mp::vm::interpreter_test {
namespace {

const char* kMessage =
    "From: \"Joe\" <joe@example.com>\r\n"
    "Date:\tMon, 1 Jan 2024 00:00:00 +0000\r\n"
    "Subject: =?utf-8?B?aGVsbG8=?=\r\n"
    "  second line\r\n"
    "X-A: one\r\n"
    "X-A:two\r\n"
    "\r\n"
    "body\r\n";

TEST(RawHeader, TheFieldBodyAsReceived) {
  const runtime::Message m = runtime::Message::parse(kMessage);
  std::vector<std::string> raw;
  for (const auto& h : m.headers()) raw.push_back(h.raw);
  EXPECT_EQ(raw, (std::vector<std::string>{" \"Joe\" <joe@example.com>", "\tMon, 1 Jan 2024 00:00:00 +0000",
                                           " =?utf-8?B?aGVsbG8=?=\n  second line", " one", "two"}));
}

TEST(RawHeader, RulesReadTheUndecodedValue) {
  Policy p(
      "stage custom_filters {\n"
      "  rule tab: if raw_header(\"Date\") matches /^\\t/ then score +1\n"
      "  rule b64: if raw_header(\"subject\") matches /=\\?\\S+\\?B\\?/i then score +1\n"
      "  rule fold: if raw_header(\"Subject\") matches /\\?=\\n  second/ then score +1\n"
      "  rule second: if raw_header(\"X-A\") is \"two\" then score +1\n"
      "  rule decoded: if raw_header(\"Subject\") contains \"hello\" then score +1\n"
      "  rule absent: if raw_header(\"X-None\") contains \"\" then score +1\n"
      "  rule other: if raw_header(\"X-A\") contains \"Joe\" then score +1\n"
      "}\n");
  Verdict v = p.run(kMessage);
  std::vector<std::string> fired;
  for (const auto& f : v.fired) fired.push_back(f.name);
  EXPECT_EQ(fired, (std::vector<std::string>{"tab", "b64", "fold", "second"}));
  ASSERT_EQ(v.fired.size(), 4u);
  ASSERT_FALSE(v.fired[3].evidence.empty());
  EXPECT_EQ(v.fired[3].evidence[0].field, "raw_header(\"x-a\")");
  EXPECT_EQ(v.fired[3].evidence[0].item_name, "X-A (header field 5)");
}

TEST(RawHeader, InsideAnyHeadersItIsTheCurrentField) {
  Policy p(
      "if any headers (raw_header(\"X-A\") is \"two\" and raw_header(\"X-A\") is \" one\") then reject\n"
      "if any headers (raw_header(\"X-A\") is \"two\") then quarantine\n");
  EXPECT_EQ(p.run(kMessage).action, Action::Quarantine);
}

TEST(RawHeader, ArgumentMustBeAHeaderName) {
  for (const char* bad : {"raw_header(subject)", "raw_header(\"Bad Name\")", "raw_header()"}) {
    compiler::Compilation c =
        compiler::compile_source("bad.mp", std::string("if ") + bad + " contains \"x\" then reject\n");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.diagnostics.items()[0].code, "E015") << bad;
  }
}

}  // namespace
}  // namespace mp::vm::interpreter_test
