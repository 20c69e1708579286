// Semantic analysis, part 3: what imported modules add — options (settings a module
// offers, with defaults the policy's settings override) and the policy's adjustments
// of module rules (`disable rule STAGE.RULE`, `rescore rule STAGE.RULE N`).
#include <algorithm>
#include <optional>

#include "compiler/sema.h"

namespace mp::compiler {

namespace {

using lang::LiteralKind;

constexpr const char* kBuiltinSettings[] = {"archive.max_bytes",
                                            "archive.max_depth",
                                            "archive.max_members",
                                            "archive.max_ratio",
                                            "bayes.auto_learn",
                                            "bayes.auto_learn.ham",
                                            "bayes.auto_learn.spam",
                                            "facts.on_temperror",
                                            "header.max_field_bytes",
                                            "header.max_fields",
                                            "mime.max_depth",
                                            "mime.max_parts",
                                            "org.domains",
                                            "org.groups",
                                            "org.sending_servers",
                                            "org.trusted_relays",
                                            "org.spamtraps",
                                            "regex.budget_ms",
                                            "regex.match_limit",
                                            "spam.threshold.quarantine",
                                            "spam.threshold.reject",
                                            "state.on_error",
                                            "state.reputation.half_life",
                                            "urls.max_count"};

bool is_builtin_setting(const std::string& key) {
  return std::find(std::begin(kBuiltinSettings), std::end(kBuiltinSettings), key) !=
         std::end(kBuiltinSettings);
}

const char* kind_text(LiteralKind kind) {
  switch (kind) {
    case LiteralKind::String: return "a string";
    case LiteralKind::Number: return "a number";
    case LiteralKind::Size: return "a size";
    case LiteralKind::Address: return "an address";
    case LiteralKind::Ip: return "an IP address";
    case LiteralKind::Regex: return "a regex";
    case LiteralKind::Path: return "a word";
    case LiteralKind::List: return "a list";
    case LiteralKind::Bool: return "true or false";
  }
  return "a value";
}

bool same_literal(const lang::Literal& a, const lang::Literal& b) {
  return a.kind == b.kind && a.text == b.text && a.number == b.number;
}

}  // namespace

void Sema::declare_options(const std::vector<lang::Policy>& files) {
  for (const char* key : {"org.domains", "org.sending_servers", "org.trusted_relays"})
    lists_[kOptionPrefix + std::string(key)];
  for (const auto& file : files) {
    for (const auto& option : file.options) {
      auto [it, fresh] = options_.emplace(option.key, &option);
      if (!fresh || is_builtin_setting(option.key)) {
        lang::Diagnostic d{lang::Severity::Error,
                           "E041",
                           "option `" + option.key + "` is already declared",
                           {option.span, "declared again here"},
                           {},
                           "an option's key names one setting of one module"};
        if (!fresh) d.secondary.push_back({it->second->span, "first declared here"});
        diagnostics_.add(std::move(d));
        continue;
      }
      const bool default_listed =
          option.choices.empty() ||
          std::any_of(option.choices.begin(), option.choices.end(),
                      [&](const lang::Literal& c) { return same_literal(c, option.value); });
      if (!default_listed) {
        diagnostics_.error("E062", "the default of `" + option.key + "` is not one of its choices",
                           option.value.span, "not among the choices",
                           "add it to the `in [...]` list, or choose one of them");
      }
      const std::string key = kOptionPrefix + option.key;
      if (option.value.kind == LiteralKind::List) {
        auto& items = lists_[key];
        for (const auto& item : option.value.items) expand_value(item, items, 0);
      } else {
        option_values_.push_back({option.key, option.span, option.value});
        consts_[key] = &option_values_.back();
      }
    }
  }
}

// A setting that names an option replaces its value, which must be of the default's
// kind (a list option takes a list, a list or const name, or file("...")). Returns
// false when `s` names no option.
bool Sema::set_option(const lang::Setting& s) {
  auto option = options_.find(s.key);
  if (option == options_.end()) return false;
  const lang::Literal& fallback = option->second->value;
  const std::string key = kOptionPrefix + s.key;
  if (fallback.kind == LiteralKind::List) {
    const bool names_something = s.value.kind == LiteralKind::Path &&
                                 (find_name(lists_, s.value.text, s.value.span) != lists_.end() ||
                                  find_name(consts_, s.value.text, s.value.span) != consts_.end());
    if (!s.from_file && s.value.kind != LiteralKind::List && !names_something) {
      diagnostics_.error("E062", "`" + s.key + "` takes a list", s.value.span, "not a list",
                         "write [a, b], the name of a list, or file(\"names.txt\")");
      return true;
    }
    lists_[key] = setting_items(s);
    return true;
  }
  lang::Literal value = s.value;
  if (value.kind == LiteralKind::Path && fallback.kind != LiteralKind::Path) {
    if (auto c = find_name(consts_, value.text, value.span); c != consts_.end()) {
      used_names_.insert(c->first);
      value = c->second->value;
      value.span = s.value.span;
    }
  }
  if (!option->second->choices.empty() && !s.from_file) {
    std::string allowed;
    bool listed = false;
    for (const auto& choice : option->second->choices) {
      allowed += (allowed.empty() ? "" : ", ") + std::string(sources_.slice(choice.span));
      listed |= same_literal(choice, value);
    }
    if (!listed) {
      diagnostics_.error("E062", "`" + s.key + "` is one of " + allowed, s.value.span, "not one of them",
                         "declared at " + sources_.location(option->second->span));
      return true;
    }
  }
  if (s.from_file || value.kind != fallback.kind) {
    diagnostics_.error("E062", "`" + s.key + "` takes " + kind_text(fallback.kind), s.value.span,
                       std::string("not ") + kind_text(fallback.kind),
                       "its default is `" + std::string(sources_.slice(fallback.span)) + "` (" +
                           sources_.location(option->second->span) + ")");
    return true;
  }
  option_values_.push_back({s.key, s.span, value});
  consts_[key] = &option_values_.back();
  return true;
}

// A dotted name in a value position that no const, list or option has, in a setting's
// namespace: `org.domain`, `url_defense.skip_domain`. It would otherwise read as a
// domain (or text) of that spelling and never match, so it is E012. A namespace with
// `_` cannot be a host name; for the others (org., spam., …) only a near miss of a
// setting counts, so that `org.uk` stays a domain.
bool Sema::misspelt_setting(const lang::Literal& v) {
  const size_t dot = v.text.find('.');
  if (v.kind != LiteralKind::Path || dot == std::string::npos) return false;
  const std::string space = v.text.substr(0, dot + 1);
  std::vector<std::string> names;
  for (const char* name : kBuiltinSettings) {
    if (std::string_view(name).starts_with(space)) names.emplace_back(name);
  }
  for (const auto& [name, option] : options_) {
    if (name.starts_with(space)) names.push_back(name);
  }
  const std::string near = lang::closest_name(v.text, names);
  if (names.empty() || (near.empty() && space.find('_') == std::string::npos)) return false;
  diagnostics_.error("E012", "unknown setting `" + v.text + "`", v.span, "no option or setting of this name",
                     near.empty() ? known_settings(v.text) : "did you mean `" + near + "`?");
  return true;
}

std::string Sema::known_settings(const std::string& key) const {
  std::vector<std::string> names(std::begin(kBuiltinSettings), std::end(kBuiltinSettings));
  for (const auto& [name, option] : options_) names.push_back(name);
  if (std::string near = lang::closest_name(key, names); !near.empty()) return "did you mean `" + near + "`?";
  std::string hint = "known settings:";
  for (const char* name : kBuiltinSettings)
    hint += std::string(name == kBuiltinSettings[0] ? " " : ", ") + name;
  if (!options_.empty()) hint += "; and the imported modules' options (docs/stdlib.md)";
  return hint;
}

namespace {

struct RuleAt {
  lang::Stage* stage = nullptr;
  size_t index = 0;
};

std::optional<RuleAt> find_rule(std::vector<lang::Stage>& stages, const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos) return std::nullopt;
  for (auto& stage : stages) {
    if (stage.name != name.substr(0, dot)) continue;
    for (size_t i = 0; i < stage.rules.size(); ++i) {
      if (stage.rules[i].name == name.substr(dot + 1)) return RuleAt{&stage, i};
    }
  }
  return std::nullopt;
}

std::vector<std::string> rule_names(const std::vector<lang::Stage>& stages) {
  std::vector<std::string> names;
  for (const auto& stage : stages) {
    for (const auto& rule : stage.rules) names.push_back(stage.name + "." + rule.name);
  }
  return names;
}

}  // namespace

// `disable` drops the rule; `rescore` gives its one `score` action a new number.
void Sema::adjust_rules(const std::vector<lang::Policy>& files, std::vector<lang::Stage>& stages) {
  std::vector<std::pair<lang::Stage*, size_t>> disabled;
  std::map<std::string, const lang::RuleAdjustment*> adjusted;
  for (const auto& file : files) {
    for (const auto& adjustment : file.adjustments) {
      // A second `disable`/`rescore` of one rule contradicts or repeats the first.
      auto [first, fresh] = adjusted.emplace(adjustment.rule, &adjustment);
      if (!fresh) {
        const bool disabled_first = first->second->kind == lang::RuleAdjustment::Kind::Disable;
        diagnostics_.add(
            {lang::Severity::Error,
             "E042",
             "rule `" + adjustment.rule + "` is already " + (disabled_first ? "disabled" : "rescored"),
             {adjustment.span, "second adjustment"},
             {{first->second->span, "first one here"}},
             "keep one `disable` or `rescore` line per rule"});
        continue;
      }
      auto at = find_rule(stages, adjustment.rule);
      if (!at) {
        std::string near = lang::closest_name(adjustment.rule, rule_names(stages));
        diagnostics_.error(
            "E042",
            "no rule `" + adjustment.rule + "` to " +
                (adjustment.kind == lang::RuleAdjustment::Kind::Disable ? "disable" : "rescore"),
            adjustment.span, "not a rule",
            near.empty() ? "name a rule as STAGE.RULE; `policyc disasm` lists them"
                         : "did you mean `" + near + "`?");
        continue;
      }
      lang::Rule& rule = at->stage->rules[at->index];
      if (adjustment.kind == lang::RuleAdjustment::Kind::Disable) {
        disabled.emplace_back(at->stage, at->index);
        continue;
      }
      auto scores = std::count_if(rule.actions.begin(), rule.actions.end(),
                                  [](const lang::Action& a) { return a.kind == lang::ActionKind::Score; });
      if (scores != 1) {
        diagnostics_.error(
            "E042",
            "rule `" + adjustment.rule + "` has " +
                (scores == 0 ? std::string("no score action") : std::to_string(scores) + " score actions") +
                "; rescore changes a rule with exactly one",
            adjustment.span, "cannot rescore", "disable it and write your own rule instead");
        continue;
      }
      for (auto& action : rule.actions) {
        if (action.kind == lang::ActionKind::Score) action.score = adjustment.score;
      }
    }
  }
  // Erased last, highest index first, so the positions found above stay valid.
  std::sort(disabled.begin(), disabled.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  disabled.erase(std::unique(disabled.begin(), disabled.end()), disabled.end());
  for (const auto& [stage, index] : disabled)
    stage->rules.erase(stage->rules.begin() + static_cast<long>(index));
}

}  // namespace mp::compiler
