// attach::inspect over every attachment of the real messages in ../shared/corpus
// (SpamAssassin public corpus, rspamd's MIME test messages; skipped when absent): no
// crash, every type a MIME type, flags only where an attachment explains them. The
// counts are printed for docs/performance.md and reviews; MP_CORPUS_DETAIL=1 lists
// every attachment with a flag or members.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "attach/inspect.h"
#include "runtime/message.h"

namespace mp::attach {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  const fs::path root(MP_CORPUS_DIR);
  for (const char* dir : {"spamassassin-public", "mime-rspamd"}) {
    if (!fs::is_directory(root / dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      if (e.is_regular_file() && e.path().filename() != "LICENSE.md") files.push_back(e.path());
    }
  }
  return files;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(InspectCorpus, RealAttachmentsGetSaneTypes) {
  const auto files = corpus_files();
  if (files.empty()) GTEST_SKIP() << "no corpus at " << MP_CORPUS_DIR;
  std::map<std::string, int> types, flags;
  size_t attachments = 0, members = 0;
  double seconds = 0;
  for (const fs::path& file : files) {
    runtime::Message message = runtime::Message::parse(read(file));
    for (size_t i = 0; i < message.attachments().size(); ++i) {
      const std::string bytes = message.attachment_content(i);
      auto start = std::chrono::steady_clock::now();
      Report r = inspect(bytes, message.attachments()[i].name);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++attachments;
      ++types[r.type];
      members += r.members.size();
      for (size_t f = 0; f < kFlagCount; ++f) {
        if (r.flags.test(f)) ++flags[std::string(flag_name(static_cast<Flag>(f)))];
      }
      EXPECT_NE(r.type.find('/'), std::string::npos) << file << ": " << r.type;
      if (std::getenv("MP_CORPUS_DETAIL") && (r.flags.any() || !r.members.empty())) {
        std::cout << file.filename() << " " << message.attachments()[i].name << " " << r.type
                  << " flags=" << r.flags << "\n";
        for (const Member& m : r.members)
          std::cout << "    " << m.path << " " << m.type << " " << m.size << "\n";
      }
      for (const Member& m : r.members) EXPECT_TRUE(m.type.empty() || m.type.find('/') != std::string::npos);
    }
  }
  std::cout << files.size() << " messages, " << attachments << " attachments, " << members
            << " archive members, inspected in " << seconds << " s\n";
  for (const auto& [type, n] : types) std::cout << "  type " << type << ": " << n << "\n";
  for (const auto& [flag, n] : flags) std::cout << "  flag " << flag << ": " << n << "\n";
  EXPECT_GT(attachments, 100u);
}

// Debian has no rar writer, so the rar reader is tested on rspamd's rar messages.
TEST(InspectCorpus, RarArchivesAreListed) {
  const fs::path rar4 = fs::path(MP_CORPUS_DIR) / "mime-rspamd" / "rar4.eml";
  if (!fs::exists(rar4)) GTEST_SKIP() << "no corpus at " << MP_CORPUS_DIR;
  runtime::Message message = runtime::Message::parse(read(rar4));
  ASSERT_EQ(message.attachments().size(), 1u);
  Report r = inspect(message.attachment_content(0), message.attachments()[0].name);
  EXPECT_EQ(r.type, "application/x-rar");
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].name, "fake.exe");
  EXPECT_EQ(r.members[0].extension, "exe");
  EXPECT_FALSE(r.flags.any());
  // A rar sent as .gz: its members are listed, and the name is a mismatch.
  runtime::Message renamed = runtime::Message::parse(read(rar4.parent_path() / "rar-date-bad-ext.eml"));
  ASSERT_EQ(renamed.attachments().size(), 1u);
  Report bad = inspect(renamed.attachment_content(0), renamed.attachments()[0].name);
  EXPECT_EQ(bad.type, "application/x-rar");
  EXPECT_TRUE(bad.has(Flag::TypeMismatch));
  EXPECT_FALSE(bad.members.empty());
}

}  // namespace
}  // namespace mp::attach
