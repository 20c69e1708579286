// Semantic analysis, part 1: declarations, list files, settings, rules and actions.
#include "compiler/sema.h"

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "lang/lang.h"
#include "runtime/body_edit.h"
#include "runtime/identity.h"
#include "vm/facts.h"

namespace mp::compiler {

namespace {

uint8_t direction_mask(const std::vector<lang::Direction>& directions) {
  if (directions.empty()) return vm::kAllDirections;
  uint8_t mask = 0;
  for (auto d : directions) mask |= static_cast<uint8_t>(1u << static_cast<unsigned>(d));
  return mask;
}

size_t pipeline_rank(const std::string& stage) {
  size_t custom = 0;
  for (size_t i = 0; i < std::size(lang::kPipelineStages); ++i) {
    if (stage == lang::kPipelineStages[i]) return 2 * i;
    if (std::string_view(lang::kPipelineStages[i]) == lang::kBareRuleStage) custom = 2 * i;
  }
  return custom + 1;  // other stages: right after custom_filters
}

std::vector<const lang::Stage*> pipeline_order(const std::vector<lang::Stage>& stages) {
  std::vector<const lang::Stage*> order;
  for (const auto& s : stages) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const lang::Stage* a, const lang::Stage* b) {
    return pipeline_rank(a->name) < pipeline_rank(b->name);
  });
  return order;
}

}  // namespace

IrModule Sema::check(const std::vector<lang::Policy>& files) {
  policy_file_ = files.front().file;
  for (const auto& file : files) declare(file);
  declare_options(files);
  // The modules' settings first: the policy file's win.
  for (size_t i = files.size(); i-- > 0;) check_settings(files[i]);
  std::vector<lang::Stage> stages = merge_stages(files);
  adjust_rules(files, stages);
  IrModule module;
  for (const lang::Stage* stage_ptr : pipeline_order(stages)) {
    const lang::Stage& stage = *stage_ptr;
    auto stage_index = static_cast<uint32_t>(module.stages.size());
    module.stages.push_back(stage.name);
    std::map<std::string, const lang::Rule*> names;
    const size_t first = module.rules.size();
    for (const auto& rule : stage.rules) {
      auto [it, fresh] = names.emplace(rule.name, &rule);
      if (!fresh) {
        lang::Diagnostic d{lang::Severity::Error,
                           "E040",
                           "rule `" + rule.name + "` is already defined in stage `" + stage.name + "`",
                           {rule.name_span, "second definition"},
                           {{it->second->name_span, "first defined here"}},
                           "rename one of the rules"};
        diagnostics_.add(std::move(d));
      }
      module.rules.push_back(check_rule(rule, stage_index));
    }
    order_by_scope(module.rules.begin() + static_cast<std::ptrdiff_t>(first), module.rules.end());
  }
  for (const auto& file : files) check_assertions(file, module);
  for (const auto& file : files) check_unused_defs(file);
  return module;
}

void Sema::check_assertions(const lang::Policy& file, IrModule& module) {
  static const std::pair<const char*, vm::Action> verdicts[] = {
      {"allow", vm::Action::Allow},     {"deliver", vm::Action::Deliver},
      {"reject", vm::Action::Reject},   {"quarantine", vm::Action::Quarantine},
      {"discard", vm::Action::Discard}, {"tempfail", vm::Action::Tempfail}};
  for (const auto& a : file.assertions) {
    const auto* v = std::find_if(std::begin(verdicts), std::end(verdicts),
                                 [&](const auto& p) { return a.verdict == p.first; });
    if (v == std::end(verdicts)) {
      std::vector<std::string> names;
      for (const auto& [name, action] : verdicts) names.emplace_back(name);
      std::string near = lang::closest_name(a.verdict, names);
      diagnostics_.error("E064", "`" + a.verdict + "` is not a verdict", a.verdict_span, "not a verdict",
                         near.empty()
                             ? "an assertion names allow, deliver, reject, quarantine, discard or tempfail"
                             : "did you mean `" + near + "`?");
      continue;
    }
    bound_.clear();
    IrNode condition_ir = a.condition ? condition(*a.condition) : IrNode::constant(true, a.span);
    auto lc = sources_.line_col(a.span.file, a.span.begin);
    module.assertions.push_back(
        {a.span, v->second, std::move(condition_ir), source_of(a.span, a.span),
         sources_.file(a.span.file).path + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column)});
  }
}

// One list of stages for all files: a stage's rules from the policy file first (so a
// user's filter runs before a module's allow list), then each module's in import order.
std::vector<lang::Stage> Sema::merge_stages(const std::vector<lang::Policy>& files) const {
  std::vector<lang::Stage> stages;
  for (const auto& file : files) {
    for (const auto& stage : file.stages) {
      auto it = std::find_if(stages.begin(), stages.end(),
                             [&](const lang::Stage& s) { return s.name == stage.name; });
      if (it == stages.end()) {
        stages.push_back(stage);
      } else {
        it->rules.insert(it->rules.end(), stage.rules.begin(), stage.rules.end());
      }
    }
  }
  return stages;
}

// A def is checked where it is used (its names can mean the current item of a
// quantifier); one that no rule uses is checked once on its own so that its errors
// are not silently kept. What it compiles to is dropped.
void Sema::check_unused_defs(const lang::Policy& policy) {
  for (const auto& def : policy.defs) {
    const std::string key = scoped(def.name, def.span.file);
    if (used_names_.count(key) || !defs_.count(key)) continue;
    bound_.clear();
    defs_in_progress_ = {key};
    condition(*def.condition);
    defs_in_progress_.clear();
  }
}

void Sema::declare(const lang::Policy& policy) {
  std::map<std::string, lang::Span> seen;
  auto claim = [&](const std::string& name, lang::Span span) {
    auto [it, fresh] = seen.emplace(name, span);
    if (!fresh) {
      lang::Diagnostic d{lang::Severity::Error,
                         "E041",
                         "`" + name + "` is already declared",
                         {span, "declared again here"},
                         {{it->second, "first declared here"}},
                         {}};
      diagnostics_.add(std::move(d));
    }
    return fresh;
  };
  for (const auto& c : policy.consts) {
    if (claim(c.name, c.span)) consts_[scoped(c.name, c.span.file)] = &c;
  }
  for (const auto& l : policy.lists) {
    if (claim(l.name, l.span)) load_list(l);
  }
  for (const auto& d : policy.defs) {
    if (claim(d.name, d.span)) defs_[scoped(d.name, d.span.file)] = &d;
  }
}

void Sema::load_list(const lang::ListDecl& decl) {
  auto& items = lists_[scoped(decl.name, decl.span.file)];
  if (!decl.from_file) {
    for (const auto& item : decl.literal.items) expand_value(item, items, 0);
    return;
  }
  items = read_list_file(decl.file, decl.file_span);
}

// One entry per line of `file` (relative to the policy's directory); E050 when it
// cannot be read.
std::vector<ListItem> Sema::read_list_file(const std::string& file, lang::Span span) {
  std::vector<ListItem> items;
  std::filesystem::path path = base_dir_ / file;
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path)) {
    diagnostics_.error("E050", "cannot read list file `" + file + "`", span,
                       "no readable file at " + path.string(),
                       "list file paths are relative to the policy file's directory");
    return items;
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    // A UTF-8 byte-order mark would stay in the first entry, which then never matches.
    if (number == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    size_t end = line.find_last_not_of(" \t\r");
    lang::Literal entry{lang::LiteralKind::String, span, line.substr(begin, end - begin + 1), 0, {}};
    items.push_back({std::move(entry), file + ":" + std::to_string(number)});
  }
  return items;
}

std::vector<ListItem> Sema::setting_items(const lang::Setting& s) {
  if (s.from_file) return read_list_file(s.file, s.file_span);
  lang::Operand rhs;
  rhs.literal = s.value;
  rhs.span = s.value.span;
  return values(rhs, true);
}

// The org.* lists are also values every file can name (`client.ip in
// org.sending_servers`), as options are.
std::vector<ListItem>& Sema::org_list(const lang::Setting& s) {
  std::vector<ListItem>& items = lists_[kOptionPrefix + s.key];
  items = setting_items(s);
  return items;
}

// A wrong entry is reported here once, and left out of the list the rules test, so
// that it does not come back as an error at every rule that reads the setting.
std::vector<std::string> Sema::domain_setting(const lang::Setting& s) {
  std::vector<std::string> out;
  std::vector<ListItem>& items = org_list(s);
  std::erase_if(items, [&](const ListItem& item) {
    const std::string& text = item.literal.text;
    auto kind = item.literal.kind;
    if ((kind != lang::LiteralKind::Path && kind != lang::LiteralKind::String) ||
        text.find_first_of("@/: \t") != std::string::npos) {
      diagnostics_.error("E062", "`org.domains` takes domain names", item.literal.span, "not a domain",
                         "write the domain alone: `widget.com`");
      return true;
    }
    if (text.find('*') != std::string::npos) {
      // The direction of mail compares whole domains; a wildcard would match no sender.
      diagnostics_.error("E062", "`org.domains` takes whole domains, not wildcards", item.literal.span,
                         "not a domain",
                         "list each domain you send from: `org.domains = [widget.com, eu.widget.com]`");
      return true;
    }
    out.push_back(runtime::fold_domain(text));
    return false;
  });
  return out;
}

std::vector<std::string> Sema::address_setting(const lang::Setting& s) {
  std::vector<std::string> out;
  std::vector<ListItem>& items = org_list(s);
  std::erase_if(items, [&](const ListItem& item) {
    const std::string& text = item.literal.text;
    const size_t at = text.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == text.size()) {
      diagnostics_.error("E062", "`" + s.key + "` takes email addresses", item.literal.span, "not an address",
                         "e.g. `org.spamtraps = [trap1@widget.com, old-sales@widget.com]`");
      return true;
    }
    out.push_back(runtime::fold_address(text));
    return false;
  });
  return out;
}

std::vector<runtime::Cidr> Sema::prefix_setting(const lang::Setting& s) {
  std::vector<runtime::Cidr> out;
  std::vector<ListItem>& items = org_list(s);
  std::erase_if(items, [&](const ListItem& item) {
    auto cidr = runtime::Cidr::parse(item.literal.text);
    if (!cidr) {
      diagnostics_.error("E062", "`" + s.key + "` takes IP addresses and CIDR prefixes", item.literal.span,
                         "not an IP address or prefix");
      return true;
    }
    if (cidr->prefix_len == 0) {
      // Every client would be one of ours: all mail outbound or internal, no inbound
      // checks; every Received hop trusted, so a forged one names the client.
      diagnostics_.error("E062", "`" + item.literal.text + "` is every address", item.literal.span,
                         "every client would count as ours",
                         "list the networks of your own servers, e.g. `" + s.key + " = [192.0.2.0/24]`");
      return true;
    }
    out.push_back(*cidr);
    return false;
  });
  return out;
}

// bayes.auto_learn = on|off; bayes.auto_learn.spam, bayes.auto_learn.ham: numbers.
void Sema::auto_learn_setting(const lang::Setting& s) {
  const lang::Literal& v = s.value;
  if (s.key == "bayes.auto_learn") {
    if (v.kind != lang::LiteralKind::Path || (v.text != "on" && v.text != "off")) {
      diagnostics_.error("E062", "`bayes.auto_learn` is `on` or `off`", v.span, "not on or off",
                         "the default is off: Bayes learns only from `policyc train` and reports");
      return;
    }
    settings.bayes_auto_learn = v.text == "on";
    return;
  }
  if (s.key != "bayes.auto_learn.spam" && s.key != "bayes.auto_learn.ham") {
    diagnostics_.error("E013", "unknown setting `" + s.key + "`", s.span, "not a known setting",
                       known_settings(s.key));
    return;
  }
  if (v.kind != lang::LiteralKind::Number) {
    diagnostics_.error("E062", "`" + s.key + "` takes a number", v.span, "not a number",
                       "a score without Bayes's own rules: e.g. 12 (spam), 0.1 (ham)");
    return;
  }
  (s.key.ends_with("spam") ? settings.auto_learn_spam : settings.auto_learn_ham) = v.number;
  auto_learn_span_ = v.span;
}

std::optional<uint64_t> Sema::whole_number_setting(const lang::Setting& s, uint64_t max,
                                                   const std::string& what, const std::string& default_text,
                                                   bool size) {
  const double v = s.value.number;
  const bool number =
      s.value.kind == lang::LiteralKind::Number || (size && s.value.kind == lang::LiteralKind::Size);
  if (!number || v < 1 || v > static_cast<double>(max) ||
      v != static_cast<double>(static_cast<uint64_t>(v))) {
    diagnostics_.error("E062", "`" + s.key + "` is a whole number from 1 to " + std::to_string(max),
                       s.value.span, "not " + what, "the default is " + default_text);
    return std::nullopt;
  }
  return static_cast<uint64_t>(v);
}

// mime.max_depth, mime.max_parts, header.max_fields, header.max_field_bytes (a size:
// 100KB), urls.max_count: runtime::ParseOptions, in the image.
void Sema::parse_limit_setting(const lang::Setting& s) {
  runtime::ParseOptions& p = settings.parse_limits;
  if (s.key == "mime.max_depth") {
    if (auto v = whole_number_setting(s, vm::kMaxMimeDepthSetting, "a nesting depth", "64"))
      p.max_mime_depth = static_cast<int>(*v);
  } else if (s.key == "mime.max_parts") {
    if (auto v = whole_number_setting(s, vm::kMaxMimePartsSetting, "a count of parts", "1000"))
      p.max_mime_parts = static_cast<uint32_t>(*v);
  } else if (s.key == "header.max_fields") {
    if (auto v = whole_number_setting(s, vm::kMaxHeaderFieldsSetting, "a count of fields", "1000"))
      p.max_header_fields = static_cast<uint32_t>(*v);
  } else if (s.key == "header.max_field_bytes") {
    if (auto v = whole_number_setting(s, vm::kMaxHeaderFieldBytesSetting, "a size", "100KB", true))
      p.max_header_field_bytes = *v;
  } else if (auto v = whole_number_setting(s, vm::kMaxUrlsSetting, "a count of URLs", "1000")) {
    p.max_urls = static_cast<uint32_t>(*v);  // urls.max_count
  }
}

// regex.match_limit, regex.budget_ms (milliseconds): vm::RegexLimits, in the image.
void Sema::regex_limit_setting(const lang::Setting& s) {
  vm::RegexLimits& r = settings.regex_limits;
  if (s.key == "regex.match_limit") {
    if (auto v = whole_number_setting(s, vm::kMaxRegexMatchLimitSetting, "a count of PCRE2 match steps",
                                      "1000000"))
      r.match_limit = static_cast<uint32_t>(*v);
  } else if (auto v = whole_number_setting(s, vm::kMaxRegexBudgetMsSetting, "milliseconds", "250")) {
    r.budget_ms = static_cast<uint32_t>(*v);  // regex.budget_ms
  }
}

// archive.max_depth, archive.max_members, archive.max_bytes (a size: 100MB),
// archive.max_ratio: attach::Limits, in the image.
void Sema::archive_limit_setting(const lang::Setting& s) {
  attach::Limits& limits = settings.archive_limits;
  if (s.key == "archive.max_depth") {
    if (auto v = whole_number_setting(s, vm::kMaxArchiveDepthSetting, "a nesting depth", "8"))
      limits.max_depth = static_cast<uint32_t>(*v);
  } else if (s.key == "archive.max_members") {
    if (auto v = whole_number_setting(s, vm::kMaxArchiveMembersSetting, "a count of members", "1000"))
      limits.max_members = static_cast<uint32_t>(*v);
  } else if (s.key == "archive.max_bytes") {
    if (auto v = whole_number_setting(s, vm::kMaxArchiveBytesSetting, "a size", "100MB", true))
      limits.max_bytes = *v;
  } else {
    if (auto v = whole_number_setting(s, vm::kMaxArchiveRatioSetting, "a ratio", "100"))
      limits.max_ratio = static_cast<uint32_t>(*v);
  }
}

void Sema::check_settings(const lang::Policy& policy) {
  lang::Span threshold_span{};
  for (const auto& s : policy.settings) {
    if (set_option(s)) continue;
    if (s.from_file && !s.key.starts_with("org.")) {
      diagnostics_.error(
          "E062", "`" + s.key + "` does not take a list file", s.file_span, "a list file",
          "file(\"...\") gives the lists of org.domains, org.sending_servers, org.trusted_relays "
          "and list options");
      continue;
    }
    if (s.key == "org.domains") {
      settings.org_domains = domain_setting(s);
    } else if (s.key == "org.sending_servers") {
      settings.sending_servers = prefix_setting(s);
    } else if (s.key == "org.trusted_relays") {
      settings.trusted_relays = prefix_setting(s);
    } else if (s.key == "spam.threshold.quarantine" || s.key == "spam.threshold.reject") {
      const lang::Literal* value = &s.value;
      if (auto c = find_name(consts_, value->text, value->span);
          value->kind == lang::LiteralKind::Path && c != consts_.end()) {
        used_names_.insert(c->first);
        value = &c->second->value;
      }
      if (value->kind != lang::LiteralKind::Number) {
        diagnostics_.error("E062", "`" + s.key + "` takes a number", s.value.span, "not a number");
        continue;
      }
      if (value->number <= 0) {
        // A message starts at score 0: at or below it, every message without a minus
        // would be quarantined (rejected).
        diagnostics_.error(
            "E062", "`" + s.key + "` at or below 0 holds every message that scores nothing", s.value.span,
            "every message reaches it",
            "thresholds are above 0, e.g. `spam.threshold.quarantine = 5.0`; to hold nothing by "
            "score, set it above any score rules can add, e.g. 1000");
        continue;
      }
      (s.key.ends_with("quarantine") ? settings.quarantine_threshold : settings.reject_threshold) =
          value->number;
      threshold_span = s.value.span;
    } else if (s.key == "facts.on_temperror" || s.key == "state.on_error") {
      if (s.value.kind != lang::LiteralKind::Path ||
          (s.value.text != "tempfail" && s.value.text != "ignore")) {
        diagnostics_.error("E062", "`" + s.key + "` is `tempfail` or `ignore`", s.value.span,
                           "not tempfail or ignore");
        continue;
      }
      (s.key == "state.on_error" ? settings.state_on_error : settings.on_temperror) =
          s.value.text == "ignore" ? vm::TempErrorPolicy::Ignore : vm::TempErrorPolicy::Tempfail;
    } else if (s.key == "state.reputation.half_life") {
      const auto seconds = vm::window_seconds(s.value.text);
      if (!seconds ||
          (s.value.kind != lang::LiteralKind::Path && s.value.kind != lang::LiteralKind::String)) {
        diagnostics_.error("E062", "`state.reputation.half_life` is a duration", s.value.span,
                           "not a duration", "e.g. `12h` (the default), `30m`, `2d`");
        continue;
      }
      settings.reputation_half_life = *seconds;
    } else if (s.key == "org.spamtraps") {
      settings.spamtraps = address_setting(s);
    } else if (s.key == "org.groups") {
      settings.groups = group_setting(s);
    } else if (s.key.starts_with("bayes.auto_learn")) {
      auto_learn_setting(s);
    } else if (s.key == "mime.max_depth" || s.key == "mime.max_parts" || s.key == "header.max_fields" ||
               s.key == "header.max_field_bytes" || s.key == "urls.max_count") {
      parse_limit_setting(s);
    } else if (s.key == "regex.match_limit" || s.key == "regex.budget_ms") {
      regex_limit_setting(s);
    } else if (s.key == "archive.max_depth" || s.key == "archive.max_members" ||
               s.key == "archive.max_bytes" || s.key == "archive.max_ratio") {
      archive_limit_setting(s);
    } else {
      diagnostics_.error("E013", "unknown setting `" + s.key + "`", s.span, "not a known setting",
                         known_settings(s.key));
    }
  }
  if (settings.auto_learn_ham >= settings.auto_learn_spam) {
    diagnostics_.error("E062", "`bayes.auto_learn.ham` must be below `bayes.auto_learn.spam`",
                       auto_learn_span_, "thresholds out of order",
                       "the defaults are 0.1 and 12 (SpamAssassin's)");
  }
  if (settings.quarantine_threshold > settings.reject_threshold) {
    diagnostics_.error("E062", "the quarantine threshold is above the reject threshold", threshold_span,
                       "quarantine would never happen",
                       "spam.threshold.quarantine must be at most spam.threshold.reject");
  }
}

IrRule Sema::check_rule(const lang::Rule& rule, uint32_t stage) {
  IrRule out;
  out.name = rule.name;
  out.stage = stage;
  out.span = rule.span;
  out.name_span = rule.name_span;
  out.directions = direction_mask(rule.directions);
  check_scope(rule, out);
  bound_.clear();
  out.condition = condition(*rule.condition);
  out.actions = check_actions(rule);
  return out;
}

}  // namespace mp::compiler
