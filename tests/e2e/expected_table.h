// examples/widget/expected.txt, the table of the example's expected verdicts, read for
// the end-to-end tests (widget_test.cpp runs each row, readme_job_test.cpp the
// README's main job). Header-only, as e2e_util.h.
//
// One row per message, whitespace-separated, '#' starts a comment:
//   FILE  ACTION  RULE  [envelope flags passed to `policyc run` verbatim]
// FILE is relative to examples/widget/; FILE#N is the N-th message of an mbox file.
// RULE is `-` when no rule decided (plain delivery, or a verdict by score).
#pragma once

#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace mp::e2e {

inline const std::filesystem::path kExampleDir = std::filesystem::path(MP_SOURCE_DIR) / "examples" / "widget";

inline const std::set<std::string> kActions = {"deliver",    "allow",   "reject",
                                               "quarantine", "discard", "tempfail"};

struct Row {
  int line = 0;
  std::string file;  // as written, relative to examples/widget/, maybe with #N
  std::string path;  // file without #N
  int index = 0;     // N of #N (1-based), 0 for a plain message file
  std::string action;
  std::string rule;  // "-" when no rule decided
  std::vector<std::string> flags;
  std::string error;  // why the row is malformed, "" if it is fine
};

// Shown by gtest for a parameterised case (instead of the struct's raw bytes).
inline void PrintTo(const Row& row, std::ostream* os) {
  *os << "expected.txt:" << row.line << " " << row.file;
}

// FILE#N: the message number, or the error.
inline void split_message_number(Row& row) {
  row.path = row.file;
  auto hash = row.file.rfind('#');
  if (hash == std::string::npos) return;
  row.path = row.file.substr(0, hash);
  try {
    row.index = std::stoi(row.file.substr(hash + 1));
  } catch (...) {
    row.index = 0;
  }
  if (row.index < 1) row.error = "bad message number in `" + row.file + "`";
}

inline std::vector<Row> parse_table(const std::filesystem::path& table) {
  std::vector<Row> rows;
  std::ifstream in(table);
  int number = 0;
  for (std::string text; std::getline(in, text);) {
    ++number;
    if (auto hash = text.find('#'); hash != std::string::npos) {
      // '#' starts a comment only at the start of a field; FILE#N keeps its '#'.
      if (hash == 0 || text[hash - 1] == ' ' || text[hash - 1] == '\t') text.erase(hash);
    }
    std::istringstream fields(text);
    std::vector<std::string> words;
    for (std::string w; fields >> w;) words.push_back(w);
    if (words.empty()) continue;
    Row row;
    row.line = number;
    row.file = words[0];
    if (words.size() < 3) {
      row.error = "expected FILE ACTION RULE [FLAGS...]";
    } else {
      row.action = words[1];
      row.rule = words[2];
      row.flags.assign(words.begin() + 3, words.end());
      if (!kActions.count(row.action)) row.error = "unknown action `" + row.action + "`";
    }
    split_message_number(row);
    rows.push_back(std::move(row));
  }
  return rows;
}

// An envelope sidecar (FILE.env next to message FILE, docs/cli.md), not a message.
inline bool is_sidecar(const std::filesystem::path& path) {
  return path.extension() == ".env";
}

}  // namespace mp::e2e
