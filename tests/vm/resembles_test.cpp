// The `resembles` test through compiler and VM: display names and domains that look
// like a list entry (runtime/resemble.h) fire, with evidence naming the entry; the
// usual "any item", negation and binding rules hold; what can never match is an error.
#include <gtest/gtest.h>

#include <string>

#include "compiler/compiler.h"
#include "tests/vm/interpreter_test_util.h"
#include "vm/vm.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

std::string from(const std::string& from_field, const std::string& extra = "") {
  return "From: " + from_field + "\r\nTo: staff@widget.com\r\n" + extra + "Subject: hello\r\n\r\nbody\r\n";
}

const char* kImpersonation =
    "list executives = [\"Jane Widget\", \"Widget, John\"]\n"
    "stage anti_spoofing {\n"
    "  rule exec: if from.display_name resembles executives and from.domain is not widget.com "
    "then quarantine \"exec\"\n}\n";

TEST(VmResembles, DisplayNameImpersonationSurvivesDisguises) {
  Policy p(kImpersonation);
  for (const char* name :
       {"\"Jane Widget\"", "\"JANE  WIDGET\"", "\"Widget, Jane\"", "\"Dr. Jane Widget (CEO)\"",
        "=?utf-8?B?StCwbmUgV2lkZ2V0?=", "\"John Widget\"", "\"Jon Widget\""}) {
    EXPECT_EQ(p.run(from(std::string(name) + " <boss@freemail.example>")).action, Action::Quarantine) << name;
  }
  EXPECT_EQ(p.run(from("\"Jane Widget\" <jane@widget.com>")).action, Action::Deliver);
  EXPECT_EQ(p.run(from("\"Janet Ridge\" <janet@freemail.example>")).action, Action::Deliver);
  EXPECT_EQ(p.run(from("<nobody@freemail.example>")).action, Action::Deliver);
}

TEST(VmResembles, EvidenceNamesTheValueAndTheEntry) {
  Policy p(kImpersonation);
  p.evaluator().set_trace(true);
  // "Jаne" with a Cyrillic а, RFC 2047 encoded.
  Verdict v = p.run(from("=?utf-8?B?StCwbmUgV2lkZ2V0?= <boss@freemail.example>"));
  ASSERT_EQ(v.fired.size(), 1u);
  ASSERT_FALSE(v.fired[0].evidence.empty());
  EXPECT_EQ(v.fired[0].evidence[0].field, "from.display_name");
  EXPECT_EQ(v.fired[0].evidence[0].excerpt, "J\u0430ne Widget");
  ASSERT_FALSE(v.trace.empty());
  EXPECT_EQ(v.trace[0].tests[0].detail,
            "in boss@freemail.example: \"J\u0430ne Widget\" looks like \"jane widget\"");
}

TEST(VmResembles, LookAlikeDomainsOfOurOwn) {
  Policy p(
      "settings { org.domains = [widget.com] }\n"
      "if from.domain resembles org.domains and from.domain not in org.domains "
      "then quarantine \"look-alike\"\n");
  for (const char* domain : {"w1dget.com", "widgets.com", "wigdet.com", "xn--wdget-n2e.com", "widget.co"}) {
    EXPECT_EQ(p.run(from(std::string("a@") + domain)).action, Action::Quarantine) << domain;
  }
  for (const char* domain : {"widget.com", "mail.widget.com", "gadget.com", "widget.com.evil.example"}) {
    EXPECT_EQ(p.run(from(std::string("a@") + domain)).action, Action::Deliver) << domain;
  }
}

TEST(VmResembles, NegationAndBindingFollowTheUsualRules) {
  Policy p(
      "if not from.display_name resembles [\"Jane Widget\"] then tag \"no exec\"\n"
      "if any from (display_name resembles [\"Jane Widget\"] and domain is freemail.example) "
      "then tag \"exec from freemail\"\n");
  EXPECT_EQ(p.run(from("\"Someone\" <a@b.example>")).tags, std::vector<std::string>{"no exec"});
  // Two From mailboxes: the name and the domain belong to different ones.
  Verdict split = p.run(from("\"Jane Widget\" <jane@widget.com>, \"Other\" <x@freemail.example>"));
  EXPECT_TRUE(split.tags.empty());
  Verdict same = p.run(from("\"Jane Widget\" <x@freemail.example>"));
  EXPECT_EQ(same.tags, std::vector<std::string>{"exec from freemail"});
}

TEST(VmResembles, ListFilesAndOptionsFeedIt) {
  Policy p(
      "option anti_spoofing.executives = [\"Jane Widget\"]\n"
      "if from.display_name resembles anti_spoofing.executives then tag \"exec\"\n");
  EXPECT_EQ(p.run(from("\"Widget, Jane\" <a@b.example>")).tags, std::vector<std::string>{"exec"});
}

TEST(VmResembles, WhatCannotMatchIsAnError) {
  EXPECT_EQ(error_codes("if from.display_name resembles [\"Dr.\"] then tag \"x\"\n"), "E023 ");
  EXPECT_EQ(error_codes("if client.ip resembles [\"Jane\"] then tag \"x\"\n"), "E020 ");
  EXPECT_EQ(error_codes("if size resembles [\"Jane\"] then tag \"x\"\n"), "E020 ");
  EXPECT_NE(error_codes("if from.display_name resembles [\"Jane Widget\"] nocase then tag \"x\"\n"), "");
  EXPECT_EQ(error_codes("if from.domain resembles [a@b.example] then tag \"x\"\n"), "E021 ");
  EXPECT_EQ(error_codes("if from.display_name resembles [\"Jane Widget\"] then tag \"x\"\n"), "");
}

TEST(VmResembles, DisassemblyShowsTheReadableEntries) {
  compiler::Compilation c = compiler::compile_source(
      "p.mp", "if from.display_name resembles [\"Dr. Jane Widget\"] then tag \"x\"\n");
  ASSERT_TRUE(c.ok());
  std::string listing = disassemble(*c.image);
  EXPECT_NE(listing.find("Resembles"), std::string::npos) << listing;
  EXPECT_NE(listing.find("resembles {jane widget}"), std::string::npos) << listing;
}

}  // namespace
}  // namespace mp::vm
