// importer/: rule sets written for other filters, translated into this language.
//
// SpamAssassin (Mail::SpamAssassin::Conf, version 4.0): the rules of .cf files —
// header, body, rawbody, uri, full, mimeheader and meta, with score, describe, tflags,
// the if/ifplugin blocks and ReplaceTags — become defs (one per rule, named as in
// SpamAssassin) and, for each rule with a non-zero score in the chosen score set, a rule
// of the spam_engine stage that adds that score. What cannot be translated is listed
// with its reason, never dropped silently. docs/import.md says what maps to what.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace mp::importer {

// One .cf file: its name (for the report and the comments of the output) and bytes.
struct CfFile {
  std::string path;
  std::string text;
};

struct ImportOptions {
  // SpamAssassin's score sets (Conf.pm, "score"): 0 no Bayes and no network tests,
  // 1 network, 2 Bayes, 3 both. Only set 0 can be run without a network here: with it,
  // network and Bayes rules read as false, as they do in SpamAssassin.
  int score_set = 0;
};

// A rule that was not translated, and why.
struct Skipped {
  std::string rule;  // the SpamAssassin name
  std::string file;
  int line = 0;
  // The kind of reason, for the report's totals: "eval" (Perl code), "network",
  // "bayes", "view" (a field view the language has no equivalent of), "regex",
  // "meta" (meta arithmetic beyond sums of rules), "depends" (a meta needing a rule
  // that was not translated), "constant" (a meta that is always false in the score set).
  std::string kind;
  std::string reason;
  bool scored = false;  // it has a non-zero score in the score set
};

struct ImportReport {
  size_t rules = 0;              // rules defined (after if/ifplugin)
  size_t scored = 0;             // of them, with a non-zero score in the score set
  size_t translated = 0;         // defs written
  size_t translated_scored = 0;  // scoring rules written
  size_t unused = 0;             // of the translated, defs no scoring rule reads: left out
  std::vector<Skipped> skipped;  // in file order
  // Lines that are no rule and no setting the importer knows (`FILE:LINE: text`), and
  // approximations worth knowing (docs/import.md).
  std::vector<std::string> notes;
};

struct ImportResult {
  std::string policy;  // the policy source, formatted as `policyc fmt` writes it
  ImportReport report;
};

// Translates the rules of `files`, read in order (a later definition of a rule, score
// or description replaces an earlier one, as in SpamAssassin). Never throws for bad
// input: what it cannot read is in the report's notes.
ImportResult import_spamassassin(std::span<const CfFile> files, const ImportOptions& options = {});

// The totals, and the rules not translated counted by kind of reason.
std::string report_summary(const ImportReport& report);
// The summary, then each rule not translated (`FILE:LINE: RULE: KIND: reason`) and the
// notes.
std::string report_text(const ImportReport& report);

}  // namespace mp::importer
