// A .mptest file saved with a UTF-8 byte-order mark (issue 9): the mark is not part of
// the first key, so `policy:` is read and no problem is reported.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tools/mptest.h"

namespace mp::tools {
namespace {

TEST(MptestFile, ByteOrderMarkIsNotPartOfTheFirstKey) {
  const auto dir = std::filesystem::temp_directory_path() / "mp_mptest_bom";
  std::filesystem::create_directories(dir);
  const auto path = dir / "bom.mptest";
  std::ofstream(path, std::ios::binary) << "\xEF\xBB\xBFpolicy: p.mp\n\ncase: one\n  message: m.eml\n  action: deliver\n";
  const TestFile file = parse_test_file(path.string());
  EXPECT_TRUE(file.problems.empty()) << file.problems.front().text;
  EXPECT_EQ(file.policy_written, "p.mp");
  ASSERT_EQ(file.cases.size(), 1u);
  EXPECT_EQ(file.cases[0].name, "one");
}

}  // namespace
}  // namespace mp::tools
