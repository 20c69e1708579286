// Anchored literals (`starts with`, `ends with`) are looked up by hash on the value's
// prefix and suffix (Engine::Affix, vm/affix.h), not scanned: the same verdicts and
// evidence as a scan, per header where the test names one, case folded with `nocase`.
#include <hs/hs.h>

#include <random>

#include "compiler/tables.h"
#include "tests/vm/interpreter_test_util.h"
#include "vm/affix.h"

namespace mp::vm::interpreter_test {
namespace {

const char* kPolicy =
    "stage custom_filters {\n"
    "  rule reply: if subject starts with \"re:\" nocase then score +1\n"
    "  rule shout: if subject ends with \"!!!\" then score +1\n"
    "  rule mailer: if header \"X-Mailer\" starts with \"Bulk\" then score +1\n"
    "  rule linked: if any url (domain ends with \".tracker.example\") then score +1\n"
    "  rule linked_too: if any url (domain ends with \"tracker.example\") then score +1\n"
    "}\n";

std::vector<std::string> fired(const Verdict& v) {
  std::vector<std::string> out;
  for (const auto& f : v.fired) out.push_back(f.name);
  return out;
}

const FiredRule* find_rule(const Verdict& v, const std::string& name) {
  for (const auto& f : v.fired)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(Affix, CompiledToLookupsNotDatabases) {
  compiler::Compilation c = compiler::compile_source("affix.mp", kPolicy);
  ASSERT_TRUE(c.ok());
  for (const auto& p : c.image->patterns) EXPECT_EQ(p.engine, Engine::Affix) << p.source;
  EXPECT_TRUE(c.image->databases.empty());
}

TEST(Affix, StartsAndEndsWithAsAScanWouldFind) {
  Policy p(kPolicy);
  Verdict v = p.run(
      "Subject: RE: sale now!!!\r\nX-Other: Bulk\r\nX-Mailer: Bulk Mailer 2\r\n\r\n"
      "see http://a.tracker.example/x and http://tracker.example/y\r\n");
  EXPECT_EQ(fired(v), (std::vector<std::string>{"reply", "shout", "mailer", "linked", "linked_too"}));
  const FiredRule* shout = find_rule(v, "shout");
  ASSERT_TRUE(shout && !shout->evidence.empty());
  EXPECT_EQ(shout->evidence[0].offset, 12);  // "RE: sale now!!!" is 15 bytes
  EXPECT_EQ(shout->evidence[0].end, 15);
  const FiredRule* reply = find_rule(v, "reply");
  ASSERT_TRUE(reply && !reply->evidence.empty());
  EXPECT_EQ(reply->evidence[0].offset, 0);
  EXPECT_EQ(reply->evidence[0].end, 3);
  const FiredRule* linked = find_rule(v, "linked");
  ASSERT_TRUE(linked && !linked->evidence.empty());
  EXPECT_EQ(linked->evidence[0].item_name, "http://a.tracker.example/x");
}

TEST(Affix, NoMatchWhereTheLiteralIsElsewhereOrLonger) {
  Policy p(kPolicy);
  Verdict v = p.run(
      "Subject: about re: things!!! really\r\nX-Other: Bulk\r\nX-Mailer: Mass Bulk\r\n\r\n"
      "see http://tracker.example.com/ and http://xtracker.exampl/\r\n");
  EXPECT_TRUE(fired(v).empty()) << ::testing::PrintToString(fired(v));
  EXPECT_TRUE(fired(p.run("Subject: re\r\n\r\nx\r\n")).empty());  // shorter than every literal
}

// A property test of the index itself against std::string_view's own starts_with and
// ends_with, over random short texts of a small alphabet (so that hits are common).
TEST(Affix, IndexAgreesWithStartsAndEndsWith) {
  std::mt19937 rng(7);
  const std::string alphabet = "aAb.";
  auto text = [&](size_t max) {
    std::string s(std::uniform_int_distribution<size_t>(0, max)(rng), 'a');
    for (char& c : s) c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
    return s;
  };
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (int round = 0; round < 50; ++round) {
    struct Literal {
      std::string text;
      bool start, end, caseless;
    };
    std::vector<Literal> literals;
    AffixIndex index;
    for (uint32_t id = 0; id < 12; ++id) {
      std::string t = text(4);
      if (t.empty()) t = "a";
      Literal l{t, rng() % 2 == 0, false, rng() % 3 == 0};
      l.end = !l.start || rng() % 4 == 0;
      PatternInfo info;
      info.expression = (l.start ? "\\A" : "") + compiler::escape_literal(t) + (l.end ? "\\z" : "");
      info.hs_flags = l.caseless ? HS_FLAG_CASELESS : 0;
      info.literal_length = static_cast<uint32_t>(t.size());
      index.add(id, info);
      literals.push_back(l);
    }
    for (int n = 0; n < 200; ++n) {
      const std::string value = text(7);
      std::string scratch;
      std::vector<std::pair<uint32_t, uint64_t>> got;
      index.look_up(value, scratch, [&](uint32_t id, uint64_t end) { got.emplace_back(id, end); });
      std::sort(got.begin(), got.end());
      std::vector<std::pair<uint32_t, uint64_t>> want;
      for (uint32_t id = 0; id < literals.size(); ++id) {
        const Literal& l = literals[id];
        const std::string v = l.caseless ? lower(value) : value, t = l.caseless ? lower(l.text) : l.text;
        const std::string_view sv = v;
        const bool hit = l.start && l.end ? sv == t : l.start ? sv.starts_with(t) : sv.ends_with(t);
        if (hit) want.emplace_back(id, l.start && !l.end ? t.size() : v.size());
      }
      ASSERT_EQ(got, want) << "value `" << value << "`";
    }
  }
}

TEST(Affix, ADamagedLiteralIsAnImageError) {
  PatternInfo info;
  info.expression = "\\Aab.c";  // '.' unescaped: not an escaped literal
  info.literal_length = 4;
  AffixIndex index;
  EXPECT_THROW(index.add(0, info), ImageError);
  info.expression = "abc";  // not anchored
  info.literal_length = 3;
  EXPECT_THROW(index.add(0, info), ImageError);
  info.expression = "\\Aabc";
  info.literal_length = 2;  // length disagrees
  EXPECT_THROW(index.add(0, info), ImageError);
}

}  // namespace
}  // namespace mp::vm::interpreter_test
