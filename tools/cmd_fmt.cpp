// policyc fmt: rewrite policies in the canonical layout (lang/format.h), or with
// --check report the files that are not formatted, with a diff, and exit 1.
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "lang/format.h"
#include "tools/commands.h"
#include "tools/inputs.h"
#include "tools/line_diff.h"

namespace mp::tools {

namespace {

struct FmtOptions {
  std::vector<std::string> policies;
  bool check = false;
};

// Differences a line diff cannot show (its lines would look identical): removes them
// from `text` and says what they were.
std::vector<std::string> invisible_differences(std::string& text) {
  std::vector<std::string> notes;
  if (text.starts_with("\xEF\xBB\xBF")) {
    text.erase(0, 3);
    notes.push_back("byte-order mark removed");
  }
  if (text.find("\r\n") != std::string::npos) {
    std::string lf;
    for (size_t i = 0; i < text.size(); ++i) {
      if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) lf += text[i];
    }
    text = std::move(lf);
    notes.push_back("line endings: CRLF → LF");
  }
  return notes;
}

// --check's report: the invisible differences, then a diff of the rest.
void print_check(const std::string& path, std::string text, const std::string& formatted) {
  for (const auto& note : invisible_differences(text)) std::cout << path << ": " << note << "\n";
  if (text != formatted) std::cout << unified_diff(text, formatted, path, path + " (formatted)");
}

// 0: already formatted (or rewritten), 1: not formatted (--check), 2: does not parse.
int format_one(const std::string& path, bool check) {
  std::string text;
  if (!read_file(path, text)) {
    std::cerr << "error: cannot read " << path << "\n";
    return 2;
  }
  lang::SourceMap sources;
  lang::FileId file = sources.add(path, text);
  lang::Diagnostics diagnostics;
  std::optional<std::string> formatted = lang::format_policy(sources, file, diagnostics);
  if (!formatted) {
    for (const auto& d : diagnostics.items()) std::cerr << lang::render_text(d, sources) << "\n";
    return 2;
  }
  if (*formatted == text) return 0;
  if (check) {
    print_check(path, text, *formatted);
    return 1;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << *formatted;
  if (!out) {
    std::cerr << "error: cannot write " << path << "\n";
    return 2;
  }
  return 0;
}

int format_all(const FmtOptions& o) {
  int status = 0;
  for (const auto& path : o.policies) status = std::max(status, format_one(path, o.check));
  return status;
}

void add_fmt_command(CLI::App& app, int& status) {
  auto o = std::make_shared<FmtOptions>();
  auto* cmd = app.add_subcommand("fmt", "Rewrite policies in the canonical layout");
  cmd->add_option("policy", o->policies, "Policy files")->required();
  cmd->add_flag("--check", o->check, "Change nothing; print a diff and exit 1 if a file is not formatted");
  cmd->callback([o, &status] { status = format_all(*o); });
}

}  // namespace

MP_REGISTER_COMMAND(14, add_fmt_command);

}  // namespace mp::tools
