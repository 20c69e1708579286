// policyc import spamassassin (spamassassin.h): every rule resolved once (a meta after
// the rules it names), written as a def, and as a scoring rule when it has a score.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "importer/sa_config.h"
#include "importer/sa_meta.h"
#include "importer/sa_translate.h"
#include "importer/spamassassin.h"
#include "lang/diagnostics.h"
#include "lang/format.h"

namespace mp::importer {
namespace {

// A rule once resolved: its condition, or why it has none, or off (false in set 0).
struct Resolved {
  std::optional<std::string> condition;
  std::optional<Untranslatable> why;
  bool off = false;
};

// Why `def NAME = CONDITION` does not parse ("" when it does): a translation this
// language cannot read is reported, never written into a policy that would not compile.
std::string parse_problem(const std::string& name, const std::string& condition) {
  lang::SourceMap sources;
  const lang::FileId file = sources.add("rule", "def " + name + " = " + condition + "\n");
  lang::Diagnostics diagnostics;
  if (lang::format_policy(sources, file, diagnostics)) return {};
  return diagnostics.items().empty() ? "does not parse" : diagnostics.items().front().message;
}

// The length of the UTF-8 sequence `text` starts with; 0 when it is none.
size_t utf8_length(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  const size_t length = lead >= 0xf0 && lead < 0xf5   ? 4
                        : lead >= 0xe0                ? 3
                        : lead >= 0xc2 && lead < 0xe0 ? 2
                                                      : 0;
  if (length == 0 || lead >= 0xf5 || text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) return 0;
  }
  return length;
}

// A rule's def and rule name: its SpamAssassin name, unless that is one of this
// language's keywords or has no capital letter (`score`, `size`: a keyword or a field's
// name), which get `SA_` before them.
std::string def_name(const std::string& name) {
  static const std::set<std::string_view> kKeywords = {
      "import",     "const",   "list",     "def",      "settings",  "stage",   "rule",    "if",
      "then",       "file",    "inbound",  "outbound", "internal",  "not",     "and",     "or",
      "is",         "in",      "contains", "starts",   "ends",      "with",    "matches", "nocase",
      "any",        "all",     "count",    "header",   "true",      "false",   "allow",   "reject",
      "quarantine", "discard", "tempfail", "score",    "tag",       "banner",  "add",     "remove",
      "log",        "option",  "disable",  "rescore",  "resembles", "rewrite", "except"};
  const bool capital = std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return capital && !kKeywords.count(name) ? name : "SA_" + name;
}

class Importer {
 public:
  Importer(const SaConfig& config, const ImportOptions& options) : config_(config), options_(options) {
    for (const SaRule& r : config_.rules) by_name_[r.name] = &r;
  }

  const Resolved& resolve(const std::string& name) {
    auto found = resolved_.find(name);
    if (found != resolved_.end()) return found->second;
    const SaRule& rule = *by_name_.at(name);
    Resolved out;
    const int set = options_.score_set;
    if (const std::string off = off_in_score_set_0(rule, config_); !off.empty()) {
      // Score sets 1 and 3 have the network tests, 2 and 3 Bayes (Conf.pm, "score").
      const bool in_set = off == "network" ? set % 2 == 1 : set >= 2;
      out.off = !in_set;
      out.why = Untranslatable{
          off, fmt::format("{} ({})", off == "bayes" ? "Bayes" : "a network test",
                           in_set ? fmt::format("score set {} runs it; it is not run here", set)
                                  : fmt::format("score set {} has none", set))};
    } else if (!name.starts_with("__") && config_.scores.count(name) &&
               config_.scores.at(name)[static_cast<size_t>(set)] == 0) {
      out.off = true;  // "Setting a rule's score to 0 will disable that rule from running" (Conf.pm)
      out.why =
          Untranslatable{"disabled", fmt::format("score 0 in set {}: SpamAssassin does not run it", set)};
    } else if (!resolving_.insert(name).second) {
      out.why = Untranslatable{"meta", "a loop of metas: it needs itself"};
    } else {
      auto condition = rule.type == "meta" ? meta(rule) : rule_condition(rule, config_);
      resolving_.erase(name);
      if (auto* why = std::get_if<Untranslatable>(&condition)) {
        out.why = *why;
      } else if (std::string problem = parse_problem(def_name(name), std::get<std::string>(condition));
                 !problem.empty()) {
        out.why = Untranslatable{"syntax", "the translation does not parse: " + problem};
      } else {
        out.condition = std::get<std::string>(condition);
      }
    }
    return resolved_.emplace(name, std::move(out)).first->second;
  }

  ImportResult result() {
    ImportResult r;
    std::string defs, rules;
    const std::set<std::string> used = used_defs();
    for (const SaRule& rule : config_.rules) {
      const Resolved& resolved = resolve(rule.name);
      const double score = score_of(config_, rule.name, options_.score_set);
      r.report.rules++;
      r.report.scored += score != 0;
      if (!resolved.condition) {
        r.report.skipped.push_back(
            {rule.name, rule.file, rule.line, resolved.why->kind, resolved.why->reason, score != 0});
        continue;
      }
      r.report.translated++;
      if (!used.count(def_name(rule.name))) {
        r.report.unused++;
        continue;
      }
      if (rule.file != last_file_) {
        defs += "\n# " + rule.file + "\n";
        last_file_ = rule.file;
      }
      defs += "def " + def_name(rule.name) + " = " + *resolved.condition + "\n";
      if (score == 0) continue;
      r.report.translated_scored++;
      rules += fmt::format("  rule {}: if {} then score {:+g} \"{}\"\n", def_name(rule.name),
                           def_name(rule.name), score, description(rule.name));
    }
    r.policy = header(r.report) + lists() + defs + "\nstage spam_engine {\n" + rules + "}\n";
    format(r);
    r.report.notes.insert(r.report.notes.begin(), config_.notes.begin(), config_.notes.end());
    return r;
  }

 private:
  std::variant<std::string, Untranslatable> meta(const SaRule& rule) {
    auto parsed = parse_meta(rule.definition);
    if (auto* why = std::get_if<std::string>(&parsed)) return Untranslatable{"meta", *why};
    std::optional<Untranslatable> needs;
    std::vector<std::string> falses;  // the rules that read as false
    auto known = [&](const std::string& name) -> std::optional<bool> {
      if (!by_name_.count(name)) {  // SpamAssassin reads an unknown rule as 0
        falses.push_back(name + " (not defined)");
        return false;
      }
      const Resolved& r = resolve(name);
      if (r.off) {
        falses.push_back(name + " (" + r.why->kind + ")");
        return false;
      }
      if (!r.condition && !needs)
        needs = Untranslatable{"depends", "needs " + name + " (" + r.why->reason + ")"};
      return std::nullopt;
    };
    MetaNode folded = fold_meta(std::get<MetaNode>(std::move(parsed)), known);
    if (needs) return *needs;
    if (folded.kind == MetaNode::Kind::Constant) {
      std::string list;
      for (const auto& f : falses) list += (list.empty() ? "" : ", ") + f;
      return Untranslatable{
          "constant",
          fmt::format("always {} in score set {}{}", folded.value ? "true" : "false", options_.score_set,
                      list.empty() ? std::string(": a comparison that always or never holds")
                                   : ", since these read as false: " + list)};
    }
    rename(folded);
    return meta_condition(folded);
  }

  // The defs a scoring rule reads, directly or through metas: the others are left out,
  // since every pattern of a policy is matched whether a rule reads it or not (a
  // SpamAssassin sub-rule only untranslated metas read, such as __FILL_THIS_FORM_LOAN1,
  // cost a quarter of the evaluation). A name inside a regex may keep a def it does not
  // need; that only costs.
  std::set<std::string> used_defs() {
    std::map<std::string, const std::string*> conditions;
    std::vector<std::string> pending;
    for (const SaRule& rule : config_.rules) {
      const Resolved& resolved = resolve(rule.name);
      if (!resolved.condition) continue;
      conditions[def_name(rule.name)] = &*resolved.condition;
      if (score_of(config_, rule.name, options_.score_set) != 0) pending.push_back(def_name(rule.name));
    }
    std::set<std::string> used;
    while (!pending.empty()) {
      std::string name = std::move(pending.back());
      pending.pop_back();
      if (!used.insert(name).second) continue;
      const std::string& text = *conditions[name];
      for (size_t i = 0; i < text.size();) {
        if (!std::isalpha(static_cast<unsigned char>(text[i])) && text[i] != '_') {
          ++i;
          continue;
        }
        size_t end = i;
        while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_'))
          ++end;
        std::string word = text.substr(i, end - i);
        if (conditions.count(word) && !used.count(word)) pending.push_back(std::move(word));
        i = end;
      }
    }
    return used;
  }

  // The rule names in a folded meta, as the defs are named.
  static void rename(MetaNode& node) {
    if (node.kind == MetaNode::Kind::Rule) node.rule = def_name(node.rule);
    for (MetaNode& t : node.terms) rename(t);
  }

  // The description as one string of this language: `\#` is `#` (SpamAssassin's
  // escape), quotes and backslashes escaped, control characters a space, bytes that are
  // not UTF-8 `?`.
  std::string description(const std::string& name) const {
    auto it = config_.descriptions.find(name);
    const std::string text = it == config_.descriptions.end() ? name : it->second;
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c == '\\' && i + 1 < text.size() && text[i + 1] == '#') continue;
      if (c >= 0x80) {
        const size_t length = utf8_length(std::string_view(text).substr(i));
        out += length ? text.substr(i, length) : "?";
        i += length ? length - 1 : 0;
        continue;
      }
      if (c == '"' || c == '\\') out += '\\';
      out += c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c);
    }
    return out;
  }

  std::string header(const ImportReport& report) const {
    return fmt::format(
        "# Imported from SpamAssassin by `policyc import spamassassin`, score set {} ({}).\n"
        "# {} of {} rules translated ({} that no scoring rule reads left out); `--report` lists the\n"
        "# others with their reasons.\n"
        "settings {{\n  spam.threshold.quarantine = {:g}\n  spam.threshold.reject = {:g}\n}}\n",
        options_.score_set, options_.score_set == 0 ? "no Bayes, no network tests" : "scores only",
        report.translated, report.rules, report.unused, config_.required_score,
        std::max(15.0, config_.required_score * 3));
  }

  // The domain lists the mapped evals read (eval_condition).
  std::string lists() const {
    std::string out;
    auto list = [&out](const std::string& name, const std::vector<std::string>& entries) {
      if (entries.empty()) return;
      out += "list " + name + " = [";
      for (size_t i = 0; i < entries.size(); ++i) out += (i ? ", \"" : "\"") + entries[i] + "\"";
      out += "]\n";
    };
    list("sa_freemail", config_.freemail);
    list("sa_freemail_welcome_addresses", config_.freemail_welcome_addresses);
    list("sa_freemail_welcome_domains", config_.freemail_welcome_domains);
    list("sa_url_shorteners", config_.shorteners);
    list("sa_url_shorteners_suffixes", config_.shortener_suffixes);
    return out;
  }

  // In the layout `policyc fmt` writes.
  void format(ImportResult& r) const {
    lang::SourceMap sources;
    const lang::FileId file = sources.add("imported.mp", r.policy);
    lang::Diagnostics diagnostics;
    if (auto formatted = lang::format_policy(sources, file, diagnostics))
      r.policy = std::move(*formatted);
    else
      r.report.notes.push_back("the output could not be formatted: it is written as generated");
  }

  const SaConfig& config_;
  const ImportOptions& options_;
  std::map<std::string, const SaRule*> by_name_;
  std::map<std::string, Resolved> resolved_;
  std::set<std::string> resolving_;
  std::string last_file_;
};

}  // namespace

ImportResult import_spamassassin(std::span<const CfFile> files, const ImportOptions& options) {
  const SaConfig config = read_config(files);
  return Importer(config, options).result();
}

std::string report_summary(const ImportReport& report) {
  std::map<std::string, std::pair<size_t, size_t>> kinds;  // kind → (rules, scored)
  for (const Skipped& s : report.skipped) {
    kinds[s.kind].first++;
    kinds[s.kind].second += s.scored;
  }
  std::string out = fmt::format(
      "{} rules read, {} with a score; translated {} ({} scoring rules), not translated {}; {} translated "
      "that "
      "no scoring rule reads, left out\n",
      report.rules, report.scored, report.translated, report.translated_scored, report.skipped.size(),
      report.unused);
  for (const auto& [kind, counts] : kinds)
    out += fmt::format("  {:<9} {:>5} rules, {:>4} with a score\n", kind, counts.first, counts.second);
  return out;
}

std::string report_text(const ImportReport& report) {
  std::string out = report_summary(report);
  for (const Skipped& s : report.skipped)
    out += fmt::format("{}:{}: {}: {}: {}\n", s.file, s.line, s.rule, s.kind, s.reason);
  for (const std::string& note : report.notes) out += "note: " + note + "\n";
  return out;
}

}  // namespace mp::importer
