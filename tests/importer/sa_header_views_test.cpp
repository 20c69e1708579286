// The header views the importer translates SpamAssassin rules to, against
// SpamAssassin's own reading of the same messages of the public corpus (every tenth):
// raw_header("NAME") against `NAME:raw`, mime_header("NAME") against the MIMEHeader
// plugin's parts. Skipped without the corpus or Mail::SpamAssassin (bench/peers/run
// installs it).
#include <gtest/gtest.h>
#include <strings.h>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "runtime/message.h"
#include "runtime/relays.h"

namespace mp::importer {
namespace {

namespace fs = std::filesystem;

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool named(const runtime::HeaderField& h, const std::string& name) {
  return strcasecmp(h.name.c_str(), name.c_str()) == 0;
}

// The messages compared, each parsed once, and the lines sa_header_views.pl prints for
// them in `mode` (split at tabs); nullopt when the corpus or SpamAssassin is missing.
struct Sample {
  std::vector<fs::path> files;
  std::vector<runtime::Message> messages;
  std::vector<std::vector<std::string>> lines;
};

std::optional<Sample> spamassassin_reading(const std::string& mode) {
  const fs::path corpus = fs::path(MP_CORPUS_DIR) / "spamassassin-public";
  if (!fs::exists(corpus) || std::system("/usr/bin/perl -MMail::SpamAssassin -e1 2>/dev/null") != 0)
    return std::nullopt;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(corpus))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  Sample sample;
  // Every tenth message; MP_SA_VIEWS_STEP=1 compares the whole corpus.
  const char* step_text = std::getenv("MP_SA_VIEWS_STEP");
  const size_t step = step_text ? std::max(1, std::atoi(step_text)) : 10;
  const fs::path list = fs::temp_directory_path() / ("mp_sa_views_" + std::to_string(::getpid()));
  std::ofstream names(list);
  for (size_t i = 0; i < files.size(); i += step) {
    sample.files.push_back(files[i]);
    sample.messages.push_back(runtime::Message::parse(read_file(files[i])));
    names << files[i].string() << "\n";
  }
  names.close();
  const std::string command = "/usr/bin/perl " MP_SOURCE_DIR "/tests/importer/sa_header_views.pl " + mode +
                              " '@" + list.string() + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  char line[1 << 16];
  while (pipe && fgets(line, sizeof line, pipe.get()) != nullptr) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string f; in >> f;) fields.push_back(f);
    sample.lines.push_back(std::move(fields));
  }
  pipe.reset();
  fs::remove(list);
  return sample;
}

// SpamAssassin joins a repeated header's occurrences, each ending in a line break.
TEST(SaHeaderViews, RawHeaderReadsTheBytesSpamAssassinReads) {
  const auto sample = spamassassin_reading("raw");
  if (!sample) GTEST_SKIP() << "no corpus or no Mail::SpamAssassin";
  size_t differ = 0;
  for (const auto& l : sample->lines) {
    ASSERT_GE(l.size(), 2u);  // an empty value prints no third field
    const size_t index = std::stoul(l[0]);
    ASSERT_LT(index, sample->messages.size());
    std::string ours;
    for (const auto& h : sample->messages[index].headers())
      if (named(h, l[1])) ours += h.raw + "\n";
    const std::string theirs = l.size() > 2 ? unhex(l[2]) : "";
    if (ours != theirs && ++differ < 10)
      ADD_FAILURE() << sample->files[index] << " " << l[1] << ": SpamAssassin reads `" << theirs
                    << "`, we read `" << ours << "`";
  }
  EXPECT_EQ(sample->lines.size(), sample->files.size() * 6);
  EXPECT_EQ(differ, 0u);
}

// The plugin reads each entity's last field of the name (get_header in scalar
// context), its value ending in a line break; an entity without one reads as unset.
TEST(SaHeaderViews, MimeHeaderSeesTheEntitiesSpamAssassinSees) {
  const auto sample = spamassassin_reading("mime");
  if (!sample) GTEST_SKIP() << "no corpus or no Mail::SpamAssassin";
  size_t differ = 0, compared = 0;
  std::map<size_t, size_t> entities;  // message → SpamAssassin's entity count
  for (const auto& l : sample->lines) {
    ASSERT_EQ(l.size(), 4u);
    const size_t index = std::stoul(l[0]), entity = std::stoul(l[1]);
    ASSERT_LT(index, sample->messages.size());
    entities[index] = std::max(entities[index], entity + 1);
    const auto& ours = sample->messages[index].mime_headers();
    if (entity >= ours.size()) continue;  // counted below
    std::string last = "-";
    for (const auto& h : ours[entity])
      if (named(h, l[2])) last = h.value + "\n";
    ++compared;
    if (last != (l[3] == "-" ? "-" : unhex(l[3])) && ++differ < 10)
      ADD_FAILURE() << sample->files[index] << " entity " << entity << " " << l[2] << ": SpamAssassin reads `"
                    << (l[3] == "-" ? "(none)" : unhex(l[3])) << "`, we read `" << last << "`";
  }
  size_t count_differ = 0;
  for (const auto& [index, count] : entities) {
    if (sample->messages[index].mime_headers().size() != count && ++count_differ < 10)
      ADD_FAILURE() << sample->files[index] << ": SpamAssassin sees " << count << " entities, we see "
                    << sample->messages[index].mime_headers().size();
  }
  EXPECT_EQ(entities.size(), sample->files.size());
  EXPECT_GT(compared, sample->files.size() * 3);
  EXPECT_EQ(differ, 0u);
  EXPECT_EQ(count_differ, 0u);
}

// NAME:addr: every address of the NAME fields, as header_address("NAME") reads them
// (compared without regard to case: the language folds addresses).
TEST(SaHeaderViews, HeaderAddressReadsTheAddressesSpamAssassinReads) {
  const auto sample = spamassassin_reading("addr");
  if (!sample) GTEST_SKIP() << "no corpus or no Mail::SpamAssassin";
  size_t differ = 0, compared = 0;
  for (const auto& l : sample->lines) {
    ASSERT_GE(l.size(), 2u);
    const size_t index = std::stoul(l[0]);
    ASSERT_LT(index, sample->messages.size());
    std::string ours;
    for (const auto& a : sample->messages[index].addresses(l[1]))
      ours += (ours.empty() ? "" : "\n") + a.address;
    std::string theirs = l.size() > 2 ? unhex(l[2]) : "";
    for (std::string* s : {&ours, &theirs})
      std::transform(s->begin(), s->end(), s->begin(), [](unsigned char c) { return std::tolower(c); });
    compared += !theirs.empty();
    if (ours != theirs && ++differ < 20)
      ADD_FAILURE() << sample->files[index] << " " << l[1] << ":addr: SpamAssassin reads `" << theirs
                    << "`, we read `" << ours << "`";
  }
  EXPECT_EQ(sample->lines.size(), sample->files.size() * 6);
  EXPECT_GT(compared, sample->files.size());
  EXPECT_EQ(differ, 0u);
}

// X-Spam-Relays-*: the relays SpamAssassin reads from the Received fields, with no
// trusted_networks configured (trust inferred from private addresses and
// authentication), against relay_path with no trusted relays.
TEST(SaHeaderViews, RelaysReadTheHandoversSpamAssassinReads) {
  const auto sample = spamassassin_reading("relays");
  if (!sample) GTEST_SKIP() << "no corpus or no Mail::SpamAssassin";
  size_t differ = 0;
  for (const auto& l : sample->lines) {
    ASSERT_GE(l.size(), 2u);
    const size_t index = std::stoul(l[0]);
    ASSERT_LT(index, sample->messages.size());
    const auto path = runtime::relay_path(sample->messages[index], nullptr);
    if (l[1] == "Unparseable") {
      const std::string ours = std::to_string(path.unparseable), theirs = unhex(l.at(2));
      if (ours != theirs && ++differ < 20)
        ADD_FAILURE() << sample->files[index] << ": SpamAssassin could not read " << theirs
                      << " Received fields, we could not read " << ours;
      continue;
    }
    const auto& relays = l[1] == "Trusted"     ? path.trusted
                         : l[1] == "Untrusted" ? path.untrusted
                         : l[1] == "Internal"  ? path.internal
                                               : path.external;
    const std::string ours = runtime::relays_text(relays), theirs = l.size() > 2 ? unhex(l[2]) : "";
    if (ours != theirs && ++differ < 20)
      ADD_FAILURE() << sample->files[index] << " " << l[1] << ":\n  SpamAssassin `" << theirs
                    << "`\n  we read     `" << ours << "`";
  }
  EXPECT_EQ(sample->lines.size(), sample->files.size() * 5);
  EXPECT_EQ(differ, 0u);
}

}  // namespace
}  // namespace mp::importer
