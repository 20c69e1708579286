// policyc import spamassassin (spamassassin.h): every rule resolved once (a meta after
// the rules it names), written as a def, and as a scoring rule when it has a score.
#include <fmt/format.h>

#include <map>
#include <optional>
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
    if (const std::string off = off_in_score_set_0(rule, config_); !off.empty()) {
      out.off = true;
      out.why = Untranslatable{
          off, off == "bayes" ? "Bayes (learnt, not a rule here)" : "a network test (score set 0 has none)"};
    } else if (!resolving_.insert(name).second) {
      out.why = Untranslatable{"meta", "it names itself"};
    } else {
      auto condition = rule.type == "meta" ? meta(rule) : rule_condition(rule, config_);
      resolving_.erase(name);
      if (auto* why = std::get_if<Untranslatable>(&condition)) {
        out.why = *why;
      } else if (std::string problem = parse_problem(name, std::get<std::string>(condition));
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
      if (rule.file != last_file_) {
        defs += "\n# " + rule.file + "\n";
        last_file_ = rule.file;
      }
      defs += "def " + rule.name + " = " + *resolved.condition + "\n";
      r.report.translated++;
      if (score == 0) continue;
      r.report.translated_scored++;
      rules += fmt::format("  rule {}: if {} then score {:+g} \"{}\"\n", rule.name, rule.name, score,
                           description(rule.name));
    }
    r.policy = header(r.report) + defs + "\nstage spam_engine {\n" + rules + "}\n";
    format(r);
    r.report.notes.insert(r.report.notes.begin(), config_.notes.begin(), config_.notes.end());
    return r;
  }

 private:
  std::variant<std::string, Untranslatable> meta(const SaRule& rule) {
    auto parsed = parse_meta(rule.definition);
    if (auto* why = std::get_if<std::string>(&parsed)) return Untranslatable{"meta", *why};
    std::optional<Untranslatable> needs;
    auto known = [&](const std::string& name) -> std::optional<bool> {
      if (!by_name_.count(name)) return false;  // SpamAssassin reads an unknown rule as 0
      const Resolved& r = resolve(name);
      if (r.off) return false;
      if (!r.condition && !needs)
        needs = Untranslatable{"depends", "needs " + name + " (" + r.why->reason + ")"};
      return std::nullopt;
    };
    MetaNode folded = fold_meta(std::get<MetaNode>(std::move(parsed)), known);
    if (needs) return *needs;
    if (folded.kind == MetaNode::Kind::Constant)
      return Untranslatable{"constant",
                            folded.value ? "always true in score set 0"
                                         : "always false in score set 0 (it needs network or Bayes rules)"};
    return meta_condition(folded);
  }

  // The description, as one string of this language: quotes and backslashes escaped,
  // bytes that are not printable ASCII or UTF-8 made `?`.
  std::string description(const std::string& name) const {
    auto it = config_.descriptions.find(name);
    const std::string text = it == config_.descriptions.end() ? name : it->second;
    std::string out;
    for (unsigned char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c < 0x20 || c >= 0x80 ? '?' : static_cast<char>(c);
    }
    return out;
  }

  std::string header(const ImportReport& report) const {
    return fmt::format(
        "# Imported from SpamAssassin by `policyc import spamassassin`, score set {} ({}).\n"
        "# {} of {} rules translated; `--report` lists the others with their reasons.\n"
        "settings {{\n  spam.threshold.quarantine = {:g}\n  spam.threshold.reject = {:g}\n}}\n",
        options_.score_set, options_.score_set == 0 ? "no Bayes, no network tests" : "scores only",
        report.translated, report.rules, config_.required_score, std::max(15.0, config_.required_score * 3));
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
      "{} rules read, {} with a score; translated {} ({} scoring rules), not translated {}\n", report.rules,
      report.scored, report.translated, report.translated_scored, report.skipped.size());
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
