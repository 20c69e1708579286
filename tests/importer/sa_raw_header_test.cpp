// raw_header("NAME") against SpamAssassin's own `NAME:raw` over the public corpus: the
// importer translates `:raw` rules to it, so the two must read the same bytes.
// SpamAssassin joins a repeated header's occurrences, each ending in a line break; the
// test joins ours the same way. Skipped without the corpus or Mail::SpamAssassin
// (bench/peers/run installs it).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "runtime/message.h"

namespace mp::importer {
namespace {

namespace fs = std::filesystem;

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string joined_raw(const runtime::Message& m, const std::string& name) {
  std::string out;
  for (const auto& h : m.headers()) {
    if (h.name.size() == name.size() && strncasecmp(h.name.c_str(), name.c_str(), name.size()) == 0)
      out += h.raw + "\n";
  }
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SaRawHeader, SameBytesAsSpamAssassin) {
  const fs::path corpus = fs::path(MP_CORPUS_DIR) / "spamassassin-public";
  if (!fs::exists(corpus)) GTEST_SKIP() << "no corpus at " << corpus;
  if (std::system("/usr/bin/perl -MMail::SpamAssassin -e1 2>/dev/null") != 0)
    GTEST_SKIP() << "Mail::SpamAssassin is not installed";
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(corpus))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<fs::path> sample;
  for (size_t i = 0; i < files.size(); i += 10) sample.push_back(files[i]);
  std::string command = "/usr/bin/perl " MP_SOURCE_DIR "/tests/importer/sa_raw_headers.pl";
  for (const auto& f : sample) command += " '" + f.string() + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  ASSERT_TRUE(pipe);
  size_t compared = 0, differ = 0;
  char line[1 << 16];
  while (fgets(line, sizeof line, pipe.get()) != nullptr) {
    std::istringstream fields(line);
    size_t index = 0;
    std::string name, hex;
    fields >> index >> name >> hex;
    ASSERT_LT(index, sample.size());
    static std::map<size_t, runtime::Message> parsed;
    auto it = parsed.find(index);
    if (it == parsed.end())
      it = parsed.emplace(index, runtime::Message::parse(read_file(sample[index]))).first;
    ++compared;
    if (joined_raw(it->second, name) != unhex(hex)) {
      ++differ;
      ADD_FAILURE() << sample[index] << " " << name << ": SpamAssassin reads `" << unhex(hex)
                    << "`, we read `" << joined_raw(it->second, name) << "`";
    }
  }
  EXPECT_EQ(compared, sample.size() * 6);
  EXPECT_EQ(differ, 0u);
}

}  // namespace
}  // namespace mp::importer
