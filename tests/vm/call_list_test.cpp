// A fact call whose argument names a list (`dnsbl(reputation.dnsbl_zones)`): one test
// per entry, any of them; an empty list asks nothing.
#include <gtest/gtest.h>

#include <string>

#include "tests/vm/interpreter_test_util.h"
#include "vm/vm.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

std::vector<std::string> zones_read(const std::string& policy) {
  Policy p(policy);
  std::vector<std::string> zones;
  for (const auto& use : p.program()->facts_used()) {
    if (use.field == FieldId::Dnsbl) zones = use.arguments;
  }
  return zones;
}

TEST(VmCallOverList, EveryEntryIsAsked) {
  EXPECT_EQ(zones_read("list zones = [zen.example, bl.example]\nif dnsbl(zones) then tag \"listed\"\n"),
            (std::vector<std::string>{"zen.example", "bl.example"}));
  EXPECT_EQ(zones_read("option r.zones = [zen.example]\nif dnsbl(r.zones) is 127.0.0.2 then tag \"sbl\"\n"),
            (std::vector<std::string>{"zen.example"}));
}

TEST(VmCallOverList, AnEmptyListAsksNothingAndIsFalse) {
  EXPECT_TRUE(zones_read("option r.zones = []\nif dnsbl(r.zones) then tag \"listed\"\n").empty());
  Policy p("option r.zones = []\nif not dnsbl(r.zones) then tag \"not listed\"\n");
  EXPECT_EQ(p.run("From: a@b.example\r\nSubject: s\r\n\r\nb\r\n").tags,
            std::vector<std::string>{"not listed"});
}

TEST(VmCallOverList, ABadEntryIsReportedAtTheEntry) {
  EXPECT_EQ(error_codes("list zones = [zen.example, \"not a zone\"]\nif dnsbl(zones) then tag \"x\"\n"),
            "E015 ");
}

}  // namespace
}  // namespace mp::vm
