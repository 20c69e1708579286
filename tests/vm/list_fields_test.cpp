// The mailing-list fields: precedence (lowercase, trimmed) and the URIs of
// List-Unsubscribe (RFC 2369), one value each; no value without the field.
#include <gtest/gtest.h>

#include "tests/vm/interpreter_test_util.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

TEST(ListFields, PrecedenceAndListUnsubscribe) {
  Policy p(R"(if precedence in [bulk, junk, "list"] then score +1 "list"
if list_unsubscribe starts with "https:" then score +2 "web unsubscribe"
if list_unsubscribe is "mailto:leave@list.example" then score +4 "mail unsubscribe"
if count(headers) > 0 and not list_unsubscribe matches /./ then score +8 "no unsubscribe"
)");
  EXPECT_EQ(p.run("Precedence:  Bulk \r\nList-Unsubscribe: <mailto:leave@list.example>,\r\n "
                  "<https://list.example/u?id=7>\r\n"
                  "Subject: news\r\n\r\nhi\r\n")
                .score,
            7);
  EXPECT_EQ(p.run("Precedence: first-class\r\nSubject: note\r\n\r\nhi\r\n").score, 8);
  EXPECT_EQ(p.run("List-Unsubscribe: nonsense without brackets\r\nSubject: x\r\n\r\nhi\r\n").score, 8);
}

}  // namespace
}  // namespace mp::vm
