// Pattern, set and net tables, and the per-field Hyperscan database build.
#include "compiler/tables.h"

#include "compiler/regex_atoms.h"
#include "vm/pcre.h"

#include <hs/hs.h>
#include <regex>

#include <fmt/format.h>
#include <atomic>
#include <cctype>
#include <map>
#include <thread>

namespace mp::compiler {

std::string escape_literal(std::string_view literal) {
  std::string out;
  out.reserve(literal.size() * 2);
  for (unsigned char c : literal) {
    if (std::isalnum(c))
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

std::string literal_text(const vm::PatternInfo& pattern) {
  if (pattern.literal_length == 0) return {};
  std::string_view e = pattern.expression;
  if (is_prefix_pattern(pattern)) e.remove_prefix(2);
  if (is_suffix_pattern(pattern)) e.remove_suffix(2);
  std::string out;
  for (size_t i = 0; i < e.size(); ++i) {
    if (e[i] == '\\' && i + 3 < e.size() && e[i + 1] == 'x') {
      out += static_cast<char>(std::stoi(std::string(e.substr(i + 2, 2)), nullptr, 16));
      i += 3;
    } else {
      out += e[i];
    }
  }
  return out;
}

namespace {

std::vector<uint32_t> renumbering(const std::vector<bool>& used) {
  std::vector<uint32_t> to(used.size(), kDropped);
  uint32_t next = 0;
  for (size_t id = 0; id < used.size(); ++id)
    if (used[id]) to[id] = next++;
  return to;
}

template <typename T>
void keep(std::vector<T>& items, const std::vector<uint32_t>& to) {
  size_t kept = 0;
  for (size_t id = 0; id < items.size(); ++id)
    if (to[id] != kDropped) {
      if (kept != id) items[kept] = std::move(items[id]);
      ++kept;
    }
  items.resize(kept);
}

template <typename Index>
void keep_index(Index& index, const std::vector<uint32_t>& to) {
  for (auto it = index.begin(); it != index.end();) {
    if (to[it->second] == kDropped) {
      it = index.erase(it);
    } else {
      it->second = to[it->second];
      ++it;
    }
  }
}

}  // namespace

std::vector<uint32_t> PatternTable::retain(const std::vector<bool>& used) {
  std::vector<uint32_t> to = renumbering(used);
  keep(patterns_, to);
  keep(first_use_, to);
  keep(plain_literals_, to);
  keep(atoms_, to);
  keep_index(index_, to);
  return to;
}

std::vector<uint32_t> SetTable::retain(const std::vector<bool>& used) {
  std::vector<uint32_t> to = renumbering(used);
  keep(sets_, to);
  keep_index(index_, to);
  return to;
}

std::vector<uint32_t> NetTable::retain(const std::vector<bool>& used) {
  std::vector<uint32_t> to = renumbering(used);
  keep(nets_, to);
  keep_index(index_, to);
  return to;
}

uint32_t PatternTable::intern(vm::PatternInfo info, lang::Span span, std::string plain_literal) {
  // With the source text in the key, evidence and traces quote the test as this rule
  // wrote it (`not contains "x"` and `contains "x"` are two patterns).
  auto key = std::make_tuple(info.field, info.expression, info.hs_flags, info.header_filter, info.source);
  auto [it, inserted] = index_.emplace(key, static_cast<uint32_t>(patterns_.size()));
  if (inserted) {
    patterns_.push_back(std::move(info));
    first_use_.push_back(span);
    plain_literals_.push_back(std::move(plain_literal));
    atoms_.emplace_back();
  }
  return it->second;
}

uint32_t PatternTable::add_literal(vm::FieldId field, std::string_view literal, bool anchored_start,
                                   bool anchored_end, bool caseless, std::string header_filter,
                                   std::string source, lang::Span span) {
  vm::PatternInfo info;
  info.field = field;
  info.expression = (anchored_start ? "\\A" : "") + escape_literal(literal) + (anchored_end ? "\\z" : "");
  info.hs_flags = caseless ? HS_FLAG_CASELESS : 0;
  if (literal.empty()) info.hs_flags |= HS_FLAG_ALLOWEMPTY;  // `contains ""`: true for every value
  info.header_filter = std::move(header_filter);
  info.literal_length = static_cast<uint32_t>(literal.size());
  info.source = std::move(source);
  bool plain = !anchored_start && !anchored_end && !literal.empty();
  return intern(std::move(info), span, plain ? std::string(literal) : std::string());
}

uint32_t PatternTable::add_regex(vm::FieldId field, std::string expression, uint32_t hs_flags,
                                 std::string header_filter, std::string source, lang::Span span) {
  vm::PatternInfo info;
  info.field = field;
  info.expression = std::move(expression);
  info.hs_flags = hs_flags | HS_FLAG_ALLOWEMPTY;
  info.header_filter = std::move(header_filter);
  info.source = std::move(source);
  return intern(std::move(info), span, {});
}

namespace {

struct CompileAttempt {
  hs_database_t* db = nullptr;
  int failed_expression = -1;  // index into the attempt's arrays, or -1
  std::string error;
};

// `lengths` is empty for regexes, else the byte length of each literal.
CompileAttempt try_compile(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                           const std::vector<unsigned>& ids, const std::vector<size_t>& lengths) {
  CompileAttempt out;
  hs_compile_error_t* error = nullptr;
  auto count = static_cast<unsigned>(exprs.size());
  hs_error_t status = lengths.empty()
                          ? hs_compile_multi(exprs.data(), flags.data(), ids.data(), count, HS_MODE_BLOCK,
                                             nullptr, &out.db, &error)
                          : hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lengths.data(),
                                                 count, HS_MODE_BLOCK, nullptr, &out.db, &error);
  if (status != HS_SUCCESS) {
    out.failed_expression = error ? error->expression : -1;
    out.error = error && error->message ? error->message : "unknown error";
    if (out.failed_expression < 0) out.failed_expression = 0;
    hs_free_compile_error(error);
  }
  return out;
}

}  // namespace

// Patterns are compiled in groups: per field and tested header (the VM scans a
// `header "X"` group only over X's values: vm/loaded.h, FieldDatabases); the plain
// literals together with the required literals of fast patterns (through Hyperscan's
// literal API, which skips regex analysis); anchored literals in chunks of 400; and
// the other regexes in chunks of 50. Hyperscan's compile time grows faster than
// linearly with the regexes of one database, and far faster for real-world ones: 170
// of SpamAssassin's body regexes, none taking over 0.6 s alone, took 32 s as one
// database and 11 s in chunks of 50, for about a tenth more scanning. All groups are
// compiled in parallel on every core.
std::vector<std::vector<uint32_t>> PatternTable::groups() const {
  constexpr size_t kAnchoredChunk = 400, kRegexChunk = 50;
  struct Group {
    std::vector<uint32_t> literals, anchored, regexes;
  };
  std::map<std::pair<vm::FieldId, std::string>, Group> by_key;
  for (uint32_t id = 0; id < patterns_.size(); ++id) {
    const vm::PatternInfo& p = patterns_[id];
    if (p.engine == vm::Engine::Pcre2 || p.engine == vm::Engine::Affix) continue;
    Group& g = by_key[{p.field, p.header_filter}];
    (in_literal_group(id) ? g.literals : p.literal_length > 0 ? g.anchored : g.regexes).push_back(id);
  }
  std::vector<std::vector<uint32_t>> out;
  auto chunked = [&out](const std::vector<uint32_t>& ids, size_t chunk) {
    for (size_t i = 0; i < ids.size(); i += chunk) {
      size_t end = std::min(ids.size(), i + chunk);
      out.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(i),
                       ids.begin() + static_cast<std::ptrdiff_t>(end));
    }
  };
  for (auto& [key, group] : by_key) {
    if (!group.literals.empty()) out.push_back(std::move(group.literals));
    chunked(group.anchored, kAnchoredChunk);
    chunked(group.regexes, kRegexChunk);
  }
  return out;
}

namespace {

bool hyperscan_accepts(const std::string& expression, uint32_t flags, std::string* reason) {
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_expression_info(expression.c_str(), flags, &info, &error) == HS_SUCCESS) {
    free(info);
    return true;
  }
  if (reason != nullptr) *reason = error && error->message ? error->message : "unknown error";
  hs_free_compile_error(error);
  return false;
}

std::string sentence_case(std::string reason) {
  if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  if (reason.ends_with(".")) reason.pop_back();
  return reason;
}

}  // namespace

// Hyperscan's own analysis of each regex (no database is built): what it refuses
// goes to PCRE2, behind a Hyperscan prefilter when one can be made. Only a regex
// neither engine compiles is an error (E030, with both reasons).
// Hyperscan's compile time grows with a pattern's bounded repeats: one with many of
// them (SpamAssassin's obfuscation-aware phrase rules: 9 to 28 repeats whose bounds add
// up to 218–333) takes seconds to be refused as too large, and a repeat of a thousand
// or more (`[^>]{0,2048}`, `[^<\s]{1400}`) took 20 s for a database of seven patterns,
// in prefilter mode too. Such patterns go to PCRE2 at once (measured in
// docs/performance.md, "Importing SpamAssassin").
bool costly_for_hyperscan(const std::string& expression) {
  static const std::regex kBoundedRepeat(R"(\{(\d{1,9})(,(\d{0,9}))?\})");
  int repeats = 0;
  long bounds = 0;
  for (auto it = std::sregex_iterator(expression.begin(), expression.end(), kBoundedRepeat);
       it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    if (m[2].matched && m[3].length() == 0) continue;  // {n,}: no upper bound
    const long upper = std::stol(m[3].matched && m[3].length() > 0 ? m[3].str() : m[1].str());
    if (upper >= 1000) return true;
    ++repeats;
    bounds += upper;
  }
  return repeats >= 9 && bounds >= 200;
}

// A regex Hyperscan can run is still better decided by PCRE2 behind its required text
// when that text is selective: at most 16 literals of 4 bytes or more. They go into
// the field's literal database, which compiles in a fraction of the time of a regex
// one (about 1.5 ms a regex in chunks of 400), and rare literals leave PCRE2 few
// values to confirm: Suricata's fast_pattern.
std::optional<RequiredAtoms> selective_atoms(const vm::PatternInfo& p) {
  constexpr size_t kMaxLiterals = 16, kMinLength = 4;
  if ((p.hs_flags & HS_FLAG_UTF8) != 0) return std::nullopt;
  auto atoms = required_atoms(p.expression, (p.hs_flags & HS_FLAG_CASELESS) != 0, false);
  if (!atoms || atoms->literals.size() > kMaxLiterals) return std::nullopt;
  for (const auto& literal : atoms->literals) {
    if (literal.size() < kMinLength) return std::nullopt;
  }
  // PCRE2 must read it as Hyperscan does: `[\w-.]` is a range PCRE2 refuses.
  if (!vm::compile_pcre2(p.expression, p.hs_flags, nullptr)) return std::nullopt;
  return atoms;
}

void PatternTable::assign_engines(lang::Diagnostics& diagnostics) {
  for (uint32_t id = 0; id < patterns_.size(); ++id) {
    vm::PatternInfo& p = patterns_[id];
    if (p.engine != vm::Engine::Hyperscan || !plain_literals_[id].empty()) continue;
    // A literal anchored at the start or end of the value is looked up, not scanned
    // (vm/affix.h).
    if (p.literal_length > 0) {
      p.engine = vm::Engine::Affix;
      continue;
    }
    // A costly pattern takes Hyperscan seconds in prefilter mode too: its required text,
    // if any, is its only prefilter. Hyperscan's own reason, where it has one, is the
    // better explanation in an E030.
    std::string hyperscan_reason;
    const bool accepted = hyperscan_accepts(p.expression, p.hs_flags, &hyperscan_reason);
    if (costly_for_hyperscan(p.expression))
      demote(id,
             accepted ? "Its bounded repeats would take Hyperscan seconds to compile"
                      : sentence_case(hyperscan_reason),
             Prefilters::AtomsOnly, diagnostics);
    else if (!accepted)
      demote(id, sentence_case(hyperscan_reason), Prefilters::Any, diagnostics);
    else if (auto atoms = selective_atoms(p))
      prefilter_by_atoms(id, std::move(*atoms));
  }
}

void PatternTable::demote(uint32_t id, const std::string& hyperscan_reason, Prefilters prefilters,
                          lang::Diagnostics& diagnostics) {
  vm::PatternInfo& p = patterns_[id];
  std::string pcre_reason;
  if (!vm::compile_pcre2(p.expression, p.hs_flags, &pcre_reason)) {
    const bool lookbehind = pcre_reason.find("lookbehind") != std::string::npos;
    diagnostics.error("E030", "neither Hyperscan nor PCRE2 can compile this pattern: " + pcre_reason,
                      first_use_[id], "this pattern",
                      lookbehind
                          ? "a look-behind has a fixed length: `(?<=re: )invoice`, or match the context "
                            "as part of the pattern: `re:\\s*invoice`"
                          : "Hyperscan: " + hyperscan_reason +
                                "; check the expression's parentheses, brackets, escapes and repeats "
                                "(pcre2pattern(3))");
    p.engine = vm::Engine::Pcre2;
    return;
  }
  p.prefilter.clear();
  const bool prefilter = prefilters == Prefilters::Any &&
                         hyperscan_accepts(p.expression, p.hs_flags | HS_FLAG_PREFILTER, nullptr);
  p.engine = prefilter ? vm::Engine::Prefilter : vm::Engine::Pcre2;
  p.hs_flags = prefilter ? p.hs_flags | HS_FLAG_PREFILTER : p.hs_flags & ~HS_FLAG_PREFILTER;
  atoms_[id] = {};
  if (prefilter || prefilters == Prefilters::None || (p.hs_flags & HS_FLAG_UTF8) != 0) return;
  // Else its required literals, when it has some (regex_atoms.h).
  if (auto atoms = required_atoms(p.expression, (p.hs_flags & HS_FLAG_CASELESS) != 0, false))
    prefilter_by_atoms(id, std::move(*atoms));
}

void PatternTable::prefilter_by_atoms(uint32_t id, RequiredAtoms atoms) {
  vm::PatternInfo& p = patterns_[id];
  p.engine = vm::Engine::Prefilter;
  p.hs_flags &= ~HS_FLAG_PREFILTER;
  p.prefilter = atoms_expression(atoms);
  atoms_[id] = std::move(atoms);
}

// Compiles one group; a pattern Hyperscan refuses is reported and left out, and the
// rest is compiled again, so every bad regex is reported.
std::optional<vm::FieldDatabase> PatternTable::compile_group(std::vector<uint32_t> members,
                                                             std::vector<Refusal>& refused) const {
  const bool literal_group = in_literal_group(members[0]);
  while (!members.empty()) {
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    std::vector<size_t> lengths, member_of;  // member_of: the member each expression is of
    auto add = [&](const std::string& expression, unsigned expression_flags, size_t member) {
      exprs.push_back(expression.c_str());
      if (literal_group) lengths.push_back(expression.size());
      flags.push_back(expression_flags | HS_FLAG_SINGLEMATCH);
      ids.push_back(members[member]);
      member_of.push_back(member);
    };
    for (size_t m = 0; m < members.size(); ++m) {
      const uint32_t id = members[m];
      const vm::PatternInfo& p = patterns_[id];
      if (!literal_group) {
        add(p.expression, p.hs_flags, m);
      } else if (!plain_literals_[id].empty()) {
        add(plain_literals_[id], p.hs_flags & HS_FLAG_CASELESS, m);
      } else {  // a regex behind its required text: each literal reports the pattern
        for (const std::string& atom : atoms_[id].literals)
          add(atom, atoms_[id].caseless ? HS_FLAG_CASELESS : 0u, m);
      }
    }
    CompileAttempt attempt = try_compile(exprs, flags, ids, lengths);
    if (attempt.db == nullptr) {
      const size_t failed = member_of[static_cast<size_t>(attempt.failed_expression)];
      refused.push_back({members[failed], sentence_case(attempt.error)});
      members.erase(members.begin() + static_cast<std::ptrdiff_t>(failed));
      continue;
    }
    char* bytes = nullptr;
    size_t length = 0;
    hs_serialize_database(attempt.db, &bytes, &length);
    vm::FieldDatabase db{patterns_[members[0]].field, std::move(members), std::string(bytes, length)};
    free(bytes);
    hs_free_database(attempt.db);
    return db;
  }
  return std::nullopt;
}

std::vector<vm::FieldDatabase> PatternTable::build(lang::Diagnostics& diagnostics) {
  std::vector<std::vector<uint32_t>> work = groups();
  std::vector<std::optional<vm::FieldDatabase>> built(work.size());
  std::vector<std::vector<Refusal>> reports(work.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < work.size(); i = next++)
      built[i] = compile_group(std::move(work[i]), reports[i]);
  };
  size_t threads = std::min<size_t>(work.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();

  std::vector<vm::FieldDatabase> out;
  for (size_t i = 0; i < work.size(); ++i) {
    // Refused only when the database was built (too large, …): PCRE2 runs it alone.
    for (const Refusal& r : reports[i]) demote(r.id, r.reason, Prefilters::None, diagnostics);
    if (built[i]) out.push_back(std::move(*built[i]));
  }
  return out;
}

uint32_t SetTable::add(vm::SetInfo set) {
  // The source text is part of the key: evidence and traces quote it, and `in [exe]`
  // must not be shown as another rule's `is ".exe"`. Sets of one field share one
  // lookup index at run time, so a second set costs little.
  auto key = std::make_tuple(set.field, set.fold, set.header_filter, set.entries, set.source);
  auto [it, inserted] = index_.emplace(std::move(key), static_cast<uint32_t>(sets_.size()));
  if (inserted) sets_.push_back(std::move(set));
  return it->second;
}

uint32_t NetTable::add(vm::NetInfo net) {
  std::vector<std::string> key;
  for (const auto& p : net.prefixes) key.push_back(p.str());
  key.push_back("@" + net.argument);  // the same prefixes for another dnsbl zone are another net
  key.push_back("#" + net.source);    // quoted by evidence and traces
  auto [it, inserted] = index_.emplace(std::move(key), static_cast<uint32_t>(nets_.size()));
  if (inserted) nets_.push_back(std::move(net));
  return it->second;
}

}  // namespace mp::compiler
