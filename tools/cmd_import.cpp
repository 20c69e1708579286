// policyc import spamassassin: SpamAssassin .cf files translated into a policy
// (importer/spamassassin.h). The policy goes to -o FILE or stdout; the totals to
// stderr, and with --report FILE every rule not translated, with its reason.
// Exit status: 0 written, 2 an input that cannot be read or an output that cannot be
// written.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "importer/spamassassin.h"
#include "tools/commands.h"
#include "tools/inputs.h"

namespace mp::tools {

namespace {

struct ImportOptions {
  std::vector<std::string> inputs;
  std::string output, report;
  int score_set = 0;
};

// The .cf files of the inputs: a directory's in name order, as SpamAssassin reads them.
bool read_inputs(const std::vector<std::string>& inputs, std::vector<importer::CfFile>& files) {
  for (const auto& input : inputs) {
    std::vector<std::string> paths;
    std::error_code ec;
    if (std::filesystem::is_directory(input, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(input, ec))
        if (entry.path().extension() == ".cf") paths.push_back(entry.path().string());
      std::sort(paths.begin(), paths.end());
      if (paths.empty()) {
        std::cerr << "error: " << input << ": no .cf files\n";
        return false;
      }
    } else {
      paths.push_back(input);
    }
    for (const auto& path : paths) {
      importer::CfFile file{path, {}};
      if (!read_file(path, file.text)) {
        std::cerr << "error: cannot read " << path << "\n";
        return false;
      }
      files.push_back(std::move(file));
    }
  }
  return true;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) std::cerr << "error: cannot write " << path << "\n";
  return static_cast<bool>(out);
}

int run_import(const ImportOptions& o) {
  std::vector<importer::CfFile> files;
  if (!read_inputs(o.inputs, files)) return 2;
  const importer::ImportResult result = importer::import_spamassassin(files, {.score_set = o.score_set});
  std::cerr << importer::report_summary(result.report);
  if (!o.report.empty() && !write_text(o.report, importer::report_text(result.report))) return 2;
  if (o.output.empty()) {
    std::cout << result.policy;
    return 0;
  }
  return write_text(o.output, result.policy) ? 0 : 2;
}

void add_import_command(CLI::App& app, int& status) {
  auto o = std::make_shared<ImportOptions>();
  auto* cmd = app.add_subcommand("import", "Translate another filter's rules into a policy (docs/import.md)");
  cmd->require_subcommand(1);
  auto* sa = cmd->add_subcommand("spamassassin", "SpamAssassin .cf files (or directories of them)");
  sa->add_option("files", o->inputs, "FILE.cf or DIR")->required();
  sa->add_option("-o,--output", o->output, "Write the policy here (default: stdout)");
  sa->add_option("--report", o->report, "Write every rule not translated, with its reason, here");
  sa->add_option("--score-set", o->score_set, "SpamAssassin's score set: 0 (default) no Bayes, no network")
      ->check(CLI::Range(0, 3));
  sa->callback([o, &status] { status = run_import(*o); });
}

}  // namespace

MP_REGISTER_COMMAND(85, add_import_command);

}  // namespace mp::tools
