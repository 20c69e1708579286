// Tag, banner and header texts from a const or option (`tag anti_spoofing.external_tag`):
// the stdlib's warning tags are options; an empty option turns the action off.
#include <gtest/gtest.h>

#include <string>

#include "tests/vm/interpreter_test_util.h"
#include "vm/vm.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

const char* kMessage = "From: a@b.example\r\nSubject: s\r\n\r\nbody\r\n";

TEST(VmActionText, FromAnOptionOrConst) {
  Policy p(
      "option w.tag = \"[External]\"\n"
      "const note = \"CAUTION: from outside\"\n"
      "stage s { rule r: if size > 0 then tag w.tag, banner note, add header X-Note note }\n");
  Verdict v = p.run(kMessage);
  EXPECT_EQ(v.tags, std::vector<std::string>{"[External]"});
  EXPECT_EQ(v.banners, std::vector<std::string>{"CAUTION: from outside"});
  ASSERT_EQ(v.added_headers.size(), 1u);
  EXPECT_EQ(v.added_headers[0].second, "CAUTION: from outside");
}

TEST(VmActionText, AnEmptyOptionTurnsTheActionOff) {
  Policy p("option w.tag = \"\"\nstage s { rule r: if size > 0 then tag w.tag, banner w.tag }\n");
  Verdict v = p.run(kMessage);
  ASSERT_EQ(v.fired.size(), 1u);
  EXPECT_TRUE(v.tags.empty());
  EXPECT_TRUE(v.banners.empty());
}

TEST(VmActionText, UnknownOrNotTextIsAnError) {
  EXPECT_EQ(error_codes("if size > 0 then tag w.nosuch\n"), "E012 ");
  EXPECT_EQ(error_codes("const n = 5\nif size > 0 then banner n\n"), "E021 ");
}

}  // namespace
}  // namespace mp::vm
