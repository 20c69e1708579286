// header_number("NAME"): a number out of a header field our own systems wrote (seed
// 002, "trust upstream scores"); the same field forged by the sender is not read.
#include <gtest/gtest.h>

#include <string>

#include "tests/vm/interpreter_test_util.h"
#include "vm/vm.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

const char* kPolicy =
    "settings { org.trusted_relays = [10.0.0.0/8] }\n"
    "stage reputation {\n"
    "  rule upstream_spam: if header_number(\"X-Spam-Score\") >= 5 then quarantine \"upstream\"\n"
    "  rule upstream_ham: if header_number(\"x-spam-score\") < 0 then tag \"upstream ham\"\n"
    "  rule unscored: if not header_number(\"X-Spam-Score\") >= 5 then tag \"not spam upstream\"\n"
    "}\n";

std::string relayed(const std::string& inside_score, const std::string& outside_score) {
  return "Received: from relay1.widget.com ([10.0.0.5]) by gw.widget.com\r\n" + inside_score +
         "Received: from outside.example ([198.51.100.99]) by relay1.widget.com\r\n" + outside_score +
         "From: a@outside.example\r\nSubject: s\r\n\r\nbody\r\n";
}

TEST(VmHeaderNumber, ReadsTheScoreOurRelayWrote) {
  Policy p(kPolicy);
  Envelope via_relay = envelope("a@outside.example", {}, "10.0.0.5");
  EXPECT_EQ(p.run(relayed("X-Spam-Score: 7.5\r\n", ""), via_relay).action, Action::Quarantine);
  Verdict ham = p.run(relayed("X-Spam-Score: -2.1 (ham)\r\n", ""), via_relay);
  EXPECT_EQ(ham.tags, (std::vector<std::string>{"upstream ham", "not spam upstream"}));
  // Mirapoint's form (seed 002): the first number counts.
  EXPECT_EQ(p.run(relayed("X-Spam-Score: score=300/50, host=razorgate\r\n", ""), via_relay).action,
            Action::Quarantine);
}

TEST(VmHeaderNumber, AForgedScoreFromOutsideIsIgnored) {
  Policy p(kPolicy);
  // The sender wrote a low score below our relay's hop: it is not ours, so not read.
  Verdict v = p.run(relayed("", "X-Spam-Score: -100\r\n"), envelope("a@outside.example", {}, "10.0.0.5"));
  EXPECT_EQ(v.tags, std::vector<std::string>{"not spam upstream"});
  // Straight from outside: no header is ours.
  Verdict direct = p.run("X-Spam-Score: 99\r\nFrom: a@x.example\r\nSubject: s\r\n\r\nb\r\n",
                         envelope("a@x.example", {}, "198.51.100.7"));
  EXPECT_EQ(direct.action, Action::Deliver);
}

TEST(VmHeaderNumber, NoValueMakesEveryComparisonFalse) {
  Policy p(
      "if header_number(\"X-Score\") != 3 then tag \"ne\"\n"
      "if header_number(\"X-Score\") == 0 then tag \"eq\"\n"
      "if header_number(\"X-Score\") < 100 then tag \"lt\"\n");
  EXPECT_TRUE(p.run("From: a@x.example\r\nSubject: s\r\n\r\nb\r\n").tags.empty());
  EXPECT_TRUE(p.run("X-Score: n/a\r\nFrom: a@x.example\r\nSubject: s\r\n\r\nb\r\n").tags.empty());
}

TEST(VmHeaderNumber, BadUseIsAnError) {
  EXPECT_EQ(error_codes("if header_number(X-Score) > 1 then tag \"x\"\n"), "E015 ");
  EXPECT_EQ(error_codes("if header_number(\"X Score\") > 1 then tag \"x\"\n"), "E015 ");
  EXPECT_EQ(error_codes("if header_number(\"X-Score\") contains \"1\" then tag \"x\"\n"), "E020 ");
  EXPECT_EQ(error_codes("if header_nmber(\"X-Score\") > 1 then tag \"x\"\n"), "E011 ");
}

TEST(VmHeaderNumber, DisassemblyNamesTheHeader) {
  compiler::Compilation c =
      compiler::compile_source("p.mp", "if header_number(\"X-Spam-Score\") > 5 then tag \"x\"\n");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(disassemble(*c.image).find("header_number(\"x-spam-score\")"), std::string::npos);
}

}  // namespace
}  // namespace mp::vm
