// The archive.* settings: each bound of attachment inspection set by the policy, at
// its edge (the attachment is examined whole, no archive_limit) and one past it (the
// flag, with what was listed so far still listed); the message is judged either way.
#include <gtest/gtest.h>

#include "tests/attach/fixtures.h"
#include "tests/vm/interpreter_test_util.h"

namespace mp::vm::interpreter_test {
namespace {

namespace fx = attach::testing;

// A policy with one setting that holds an attachment reaching a limit.
bool limited(const std::string& setting, const std::string& attachment) {
  Policy p("settings {\n  " + setting +
           "\n}\nif attachments.flags is archive_limit then quarantine \"not examined whole\"\n");
  Verdict v = p.run(fx::message_with({{"a.zip", attachment}}));
  return v.action == Action::Quarantine;
}

TEST(ArchiveLimits, DepthIsOpenedToTheSettingAndNoFurther) {
  // Three nested zips: the attachment and two levels inside it.
  const std::string three = fx::nested_zips(3);
  EXPECT_FALSE(limited("archive.max_depth = 3", three));
  EXPECT_TRUE(limited("archive.max_depth = 2", three));
}

TEST(ArchiveLimits, MembersAreListedToTheSetting) {
  const std::string four = fx::zip({{"a.txt", "a"}, {"b.txt", "b"}, {"c.txt", "c"}, {"d.txt", "d"}});
  EXPECT_FALSE(limited("archive.max_members = 4", four));
  EXPECT_TRUE(limited("archive.max_members = 3", four));
}

TEST(ArchiveLimits, BytesAreDecompressedToTheSetting) {
  const std::string kilobyte = fx::zip({{"a.txt", std::string(1024, 'a')}});
  EXPECT_FALSE(limited("archive.max_bytes = 1KB", kilobyte));
  EXPECT_TRUE(limited("archive.max_bytes = 1023", kilobyte));
}

TEST(ArchiveLimits, TheDefaultsStandWithoutSettings) {
  // 8 levels by default: 8 nested zips are examined whole, 9 are not.
  EXPECT_FALSE(limited("spam.threshold.reject = 15", fx::nested_zips(8)));
  EXPECT_TRUE(limited("spam.threshold.reject = 15", fx::nested_zips(9)));
}

TEST(ArchiveLimits, ValuesOutsideTheirRangeAreDiagnosed) {
  for (const char* bad : {"archive.max_depth = 0", "archive.max_depth = 65", "archive.max_members = 1.5",
                          "archive.max_bytes = 65GB", "archive.max_ratio = \"high\""}) {
    compiler::Compilation c = compiler::compile_source("t.mp", std::string("settings {\n  ") + bad + "\n}\n");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.diagnostics.items().front().code, "E062") << bad;
  }
  compiler::Compilation ok = compiler::compile_source(
      "t.mp", "settings {\n  archive.max_bytes = 64GB\n  archive.max_ratio = 1000000\n}\n");
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.image->settings.archive_limits.max_bytes, uint64_t{64} << 30);
  EXPECT_EQ(ok.image->settings.archive_limits.max_ratio, 1000000u);
}

TEST(ArchiveLimits, SurviveTheImage) {
  compiler::Compilation c = compiler::compile_source(
      "t.mp",
      "settings {\n  archive.max_depth = 3\n  archive.max_members = 7\n  archive.max_bytes = 5MB\n"
      "  archive.max_ratio = 9\n}\n");
  ASSERT_TRUE(c.ok());
  std::string bytes = write_image(*c.image);
  ProgramPtr p = Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  const attach::Limits& l = p->image().settings.archive_limits;
  EXPECT_EQ(l.max_depth, 3u);
  EXPECT_EQ(l.max_members, 7u);
  EXPECT_EQ(l.max_bytes, 5u << 20);
  EXPECT_EQ(l.max_ratio, 9u);
}

// Scores add up in binary floating point; the thresholds read them as decimals.
TEST(ScoreThresholds, ADecimalSumMeetsTheThresholdItEquals) {
  Policy p(R"(settings {
  spam.threshold.quarantine = 0.8
}
stage spam_engine {
  rule a: if subject contains "a" then score +0.7 "a"
  rule b: if body contains "b" then score +0.1 "b"
}
)");
  Verdict v = p.run("Subject: a\n\nb\n");
  EXPECT_EQ(v.action, Action::Quarantine) << v.score;
}

}  // namespace
}  // namespace mp::vm::interpreter_test
