// The messages the benchmarks run over: the SpamAssassin ham corpus of
// ../shared/corpus (2,500 real messages), or the example's messages when it is absent.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mp::bench {

inline const std::vector<std::string>& ham_corpus() {
  static const std::vector<std::string> messages = [] {
    namespace fs = std::filesystem;
    std::vector<std::string> out;
    fs::path dir = fs::path(MP_CORPUS_DIR) / "spamassassin-public" / "easy_ham";
    if (!fs::is_directory(dir)) dir = fs::path(MP_SOURCE_DIR) / "examples" / "widget" / "mail";
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file() && e.path().extension() != ".env") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::ostringstream s;
      s << in.rdbuf();
      out.push_back(s.str());
    }
    return out;
  }();
  return messages;
}

}  // namespace mp::bench
