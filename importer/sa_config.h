// Reading SpamAssassin .cf files (Mail::SpamAssassin::Conf): the rule definitions,
// scores, descriptions, tflags and ReplaceTags settings that survive the files'
// if/ifplugin blocks. Internal to importer/.
#pragma once

#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "importer/spamassassin.h"

namespace mp::importer {

struct SaRule {
  std::string name;
  std::string type;        // header, body, rawbody, uri, full, mimeheader, meta
  std::string definition;  // everything after the name
  std::string file;
  int line = 0;
};

struct SaConfig {
  std::vector<SaRule> rules;  // in order of first definition; a redefinition replaces
  std::map<std::string, std::array<double, 4>> scores;
  std::map<std::string, std::string> descriptions;
  std::map<std::string, std::set<std::string>> tflags;
  std::map<std::string, std::string> replace_tags;  // replace_tag/pre/inter/post NAME VALUE
  std::set<std::string> replace_rules;
  double required_score = 5;       // SpamAssassin's default
  // freemail_domains (FreeMail): the domains the evals check_freemail_* read, and the
  // entries with `*` (any text within one label) or `?` (one character) as regexes, as
  // the plugin makes them (`aol.*` is `aol\.[^.]*`).
  std::vector<std::string> freemail, freemail_wildcards;
  // freemail_welcomelist (and its old name freemail_whitelist): addresses and domains
  // that are never freemail, lowercase.
  std::vector<std::string> freemail_welcome_addresses, freemail_welcome_domains;
  // url_shortener (DecodeShortURLs), for short_url: `*.x.example` and `.x.example` are
  // kept as suffixes; other wildcards are left out (a note says so).
  std::vector<std::string> shorteners, shortener_suffixes;
  std::vector<std::string> notes;  // lines not understood
};

// Reads `files` in order. Comments (`#` not escaped by a backslash) and blank lines
// are skipped; `ifplugin`/`if`/`else`/`endif` are followed with the plugins of
// SpamAssassin 4.0's default .pre files loaded (docs/import.md).
SaConfig read_config(std::span<const CfFile> files);

// The score of `rule` in `set`: its `score` line's (one value: every set; four: one
// per set), else SpamAssassin's default, 1 (0.01 for a T_ test rule), and 0 for a
// sub-rule (`__NAME`), which never scores.
double score_of(const SaConfig& config, const std::string& rule, int set);

}  // namespace mp::importer
