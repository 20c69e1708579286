#include "tools/stated_facts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "compiler/sema.h"
#include "lang/diagnostics.h"
#include "tools/fact_options.h"
#include "tools/mptest.h"
#include "vm/facts.h"
#include "vm/fields.h"

namespace mp::tools {

using vm::FieldId;

namespace {

// Every fact, in fields.def order (vm::is_fact: later facts are appended there).
const std::vector<FieldId>& all_facts() {
  static const std::vector<FieldId> facts = [] {
    std::vector<FieldId> out;
    for (size_t id = 0; id < vm::kFieldCount; ++id) {
      if (vm::is_fact(static_cast<FieldId>(id))) out.push_back(static_cast<FieldId>(id));
    }
    return out;
  }();
  return facts;
}

std::string base_name(FieldId fact) {
  std::string_view name = vm::field_info(fact).name;
  return std::string(name.substr(0, name.find('(')));
}

// Facts that hold one value at most (language.md, section 7: "single fact").
bool single_valued(FieldId fact) {
  return vm::field_info(fact).kind == vm::ValueKind::Number || fact == FieldId::Spf ||
         fact == FieldId::Dkim || fact == FieldId::Dmarc || fact == FieldId::DmarcPolicy ||
         fact == FieldId::Fcrdns || fact == FieldId::Ptr;
}

bool has_value(std::string_view word, const std::vector<std::string_view>& values) {
  return std::find(values.begin(), values.end(), word) != values.end();
}

std::optional<std::string> vocabulary_problem(FieldId fact, const std::string& word) {
  const auto& vocabulary = vm::field_vocabulary(fact);
  if (has_value(word, vocabulary)) return std::nullopt;
  std::vector<std::string> names(vocabulary.begin(), vocabulary.end());
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  std::string best = lang::closest_name(word, names);
  return fmt::format("`{}` is not a value of {} ({}){}", word, base_name(fact), list,
                     best.empty() ? "" : fmt::format("; did you mean `{}`?", best));
}

// The largest a number fact can read: bayes is a probability, the others counts and
// scores without a bound.
double largest_value(FieldId fact) {
  return fact == FieldId::Bayes ? 1 : std::numeric_limits<double>::max();
}

// One word of an open-vocabulary fact: a country code, a DNS list's return code, a name.
std::optional<std::string> add_open_value(StatedFact& fact, const std::string& word) {
  if (word.empty())  // `ptr: ""` read as a name of two quote marks before
    return fmt::format("an empty value is none {} has; `none` states that it has no value",
                       base_name(fact.field));
  if (fact.field == FieldId::Country) {
    bool code = word.size() == 2 && std::isupper(static_cast<unsigned char>(word[0])) &&
                std::isupper(static_cast<unsigned char>(word[1]));
    if (!code) {
      std::string upper = word;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return fmt::format("`{}` is not a country code (two upper-case letters, ISO 3166){}", word,
                         upper.size() == 2 ? fmt::format("; did you mean `{}`?", upper) : "");
    }
    fact.text.push_back(word);
  } else if (vm::field_info(fact.field).kind == vm::ValueKind::Number) {
    char* end = nullptr;
    const double n = std::strtod(word.c_str(), &end);
    if (word.empty() || end != word.c_str() + word.size()) return fmt::format("`{}` is not a number", word);
    if (!std::isfinite(n) || n < 0 || n > largest_value(fact.field))
      return fmt::format("`{}` is not a value {} can have (a number from 0{})", word, base_name(fact.field),
                         fact.field == FieldId::Bayes ? " to 1" : "");
    fact.numbers.push_back(n);
  } else if (vm::field_info(fact.field).kind == vm::ValueKind::Ip) {
    auto ip = runtime::IpAddress::parse(word);
    if (!ip) return fmt::format("`{}` is not an IP address (a return code of the DNS list, 127.0.0.2)", word);
    fact.ips.push_back(*ip);
  } else if (compiler::field_is_caseless(fact.field)) {  // ptr, dkim.domains
    std::string folded = word;
    for (char& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    fact.text.push_back(std::move(folded));
  } else {  // av.signature: ClamAV's names, as clamd writes them (Win.Test.EICAR_HDB-1)
    fact.text.push_back(word);
  }
  return std::nullopt;
}

// `rate(client.auth_user, 1h)`: the argument as the compiler writes it,
// "client.auth_user/3600", by the compiler's rules (vm::rate_argument): a key the
// language refuses is refused here too, with the same hint.
std::optional<StatedFact> rate_key(StatedFact out, std::string_view argument, std::string* problem) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  const size_t comma = argument.find(',');
  std::optional<std::string> written;
  if (comma != std::string_view::npos)
    written = vm::rate_argument(out.field, trim(argument.substr(0, comma)), trim(argument.substr(comma + 1)));
  if (!written) {
    if (problem) *problem = vm::rate_argument_rules(out.field);
    return std::nullopt;
  }
  out.argument = std::move(*written);
  return out;
}

}  // namespace

std::optional<StatedFact> parse_fact_key(std::string_view key, std::string* problem) {
  for (const FieldId fact : all_facts()) {
    std::string base = base_name(fact);
    bool zone = fact == FieldId::Dnsbl || fact == FieldId::Dnswl;
    StatedFact out;
    out.field = fact;
    if (key == base && !zone) return out;
    if (!vm::takes_argument(fact) || !key.starts_with(base + "(") || !key.ends_with(")")) continue;
    std::string_view argument = key.substr(base.size() + 1, key.size() - base.size() - 2);
    if (zone) {
      if (argument.size() < 3 || argument.front() != '"' || argument.back() != '"') return std::nullopt;
      argument = argument.substr(1, argument.size() - 2);
    }
    if (fact == FieldId::Rate || fact == FieldId::RateSurge)
      return rate_key(std::move(out), argument, problem);
    if (argument.empty() || argument.find_first_of("\"() ") != std::string_view::npos) return std::nullopt;
    if (!zone && !vm::fact_argument_ok(fact, argument)) {
      if (problem)
        *problem = fmt::format("`{}` takes one {} field with one value, e.g. `{}({})`", base,
                               fact == FieldId::Mx ? "domain" : "IP", base,
                               fact == FieldId::Mx ? "sender.domain" : "client.ip");
      return std::nullopt;
    }
    out.argument = std::string(argument);
    return out;
  }
  return std::nullopt;
}

const std::vector<std::string>& fact_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const FieldId fact : all_facts()) {
      bool zone = fact == FieldId::Dnsbl || fact == FieldId::Dnswl;
      out.push_back(zone ? std::string(vm::field_info(fact).name) : base_name(fact));
    }
    return out;
  }();
  return keys;
}

std::optional<std::string> parse_fact_value(StatedFact& fact, std::string_view value) {
  std::vector<std::string> words = split_words(value);
  if (words.size() == 1 && words[0] == "temperror") {
    // As a failed lookup reads: "temperror" where the vocabulary has it, else no value.
    fact.temp_error = true;
    if (has_value("temperror", vm::field_vocabulary(fact.field))) fact.text.push_back("temperror");
    return std::nullopt;
  }
  if (words.size() > 1 && single_valued(fact.field)) {
    return fmt::format("{} has one value at most, not {}", base_name(fact.field), words.size());
  }
  bool closed = !vm::field_vocabulary(fact.field).empty();
  if (!closed && words.size() == 1 && words[0] == "none") return std::nullopt;  // no value
  for (const auto& word : words) {
    if (closed) {
      if (auto problem = vocabulary_problem(fact.field, word)) return problem;
      fact.text.push_back(word);
    } else if (auto problem = add_open_value(fact, word)) {
      return problem;
    }
  }
  return std::nullopt;
}

// ---- The fact source --------------------------------------------------------------

const StatedFact* StatedFacts::find(FieldId fact, const std::string& argument) const {
  const StatedFact* any = nullptr;  // mx / country stated without a field
  for (const auto& s : stated_) {
    if (s.field != fact) continue;
    if (s.argument == argument) return &s;
    if (s.argument.empty()) any = &s;
  }
  return any;
}

void StatedFacts::prefetch(std::span<const vm::FactUse> facts) {
  std::vector<vm::FactUse> unstated;  // stated facts need no DNS
  for (const auto& use : facts) {
    vm::FactUse rest{use.field, {}};
    for (const auto& argument : use.arguments) {
      if (!find(use.field, argument)) rest.arguments.push_back(argument);
    }
    bool whole = use.arguments.empty() && !find(use.field, "");
    if (whole || !rest.arguments.empty()) unstated.push_back(std::move(rest));
  }
  computed_.prefetch(unstated);
}

std::vector<std::string> StatedFacts::unstated_flags() const {
  std::vector<std::string> flags;
  for (const char* flag : FactAvailability::kFlags) {
    const bool needed = std::any_of(unstated_sources_.begin(), unstated_sources_.end(),
                                    [&](const auto& source) { return source.second == flag; });
    if (needed) flags.emplace_back(flag);
  }
  return flags;
}

vm::FactValue StatedFacts::unstated(FieldId fact, std::span<const std::string> arguments) {
  if (!computed_.computes(fact)) {
    auto note = [this, fact](std::string name) {
      if (std::find(unstated_.begin(), unstated_.end(), name) != unstated_.end()) return;
      unstated_.push_back(name);
      unstated_sources_.emplace_back(std::move(name), FactAvailability::flag(fact));
    };
    if (arguments.empty()) note(fact_name(fact, ""));
    for (const auto& argument : arguments) note(fact_name(fact, argument));
  }
  return computed_.compute(fact, arguments);
}

vm::FactValue StatedFacts::compute(FieldId fact, std::span<const std::string> arguments) {
  vm::FactValue out;
  std::vector<std::string> rest;
  auto answer = [&](const StatedFact& s, const std::string& argument) {
    vm::FactValue v;
    v.text = s.text;
    v.ips = s.ips;
    v.numbers = s.numbers;
    if (!argument.empty()) v.arguments.assign(s.text.size() + s.ips.size() + s.numbers.size(), argument);
    v.temp_error = s.temp_error;
    v.detail = fmt::format("{}stated by the test case (line {})",
                           argument.empty() ? "" : fact_name(fact, argument) + ": ", s.line);
    merge_fact_value(out, std::move(v));
  };
  if (arguments.empty()) {
    if (const StatedFact* s = find(fact, ""))
      answer(*s, "");
    else
      return unstated(fact, {});
    return out;
  }
  for (const auto& argument : arguments) {
    if (const StatedFact* s = find(fact, argument))
      answer(*s, argument);
    else
      rest.push_back(argument);
  }
  if (!rest.empty()) merge_fact_value(out, unstated(fact, rest));
  return out;
}

}  // namespace mp::tools
