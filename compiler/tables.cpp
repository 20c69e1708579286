// Pattern, set and net tables, and the per-field Hyperscan database build.
#include "compiler/tables.h"

#include <hs/hs.h>

#include <fmt/format.h>
#include <atomic>
#include <cctype>
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

uint32_t PatternTable::intern(vm::PatternInfo info, lang::Span span, std::string plain_literal) {
  // With the source text in the key, evidence and traces quote the test as this rule
  // wrote it (`not contains "x"` and `contains "x"` are two patterns).
  auto key = std::make_tuple(info.field, info.expression, info.hs_flags, info.header_filter, info.source);
  auto [it, inserted] = index_.emplace(key, static_cast<uint32_t>(patterns_.size()));
  if (inserted) {
    patterns_.push_back(std::move(info));
    first_use_.push_back(span);
    plain_literals_.push_back(std::move(plain_literal));
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

// Patterns are compiled in groups: per field, the plain literals together (through
// Hyperscan's literal API, which skips regex analysis) and the rest in chunks (Hyperscan's compile time grows
// faster than linearly with the number of regexes in one database), all groups in parallel on every core.
std::vector<std::vector<uint32_t>> PatternTable::groups() const {
  constexpr size_t kRegexChunk = 400;
  std::vector<std::vector<uint32_t>> out;
  for (size_t f = 0; f < vm::kFieldCount; ++f) {
    std::vector<uint32_t> literals, regexes;
    for (uint32_t id = 0; id < patterns_.size(); ++id) {
      if (static_cast<size_t>(patterns_[id].field) != f) continue;
      (plain_literals_[id].empty() ? regexes : literals).push_back(id);
    }
    if (!literals.empty()) out.push_back(std::move(literals));
    for (size_t i = 0; i < regexes.size(); i += kRegexChunk) {
      size_t end = std::min(regexes.size(), i + kRegexChunk);
      out.emplace_back(regexes.begin() + static_cast<std::ptrdiff_t>(i),
                       regexes.begin() + static_cast<std::ptrdiff_t>(end));
    }
  }
  return out;
}

namespace {

// The hint of E030, by what Hyperscan's compile error says (lower-cased): the first
// entry whose key the reason contains. Order matters: specific reasons first.
struct RegexRefusal {
  std::string_view key;
  std::string_view hint;
};

constexpr RegexRefusal kRegexRefusals[] = {
    {"back-reference",
     "Hyperscan has no back-references (\\1): write the repeated text out, or test the parts "
     "separately"},
    {"zero-width assertion",
     "Hyperscan has no look-ahead or look-behind ((?=, (?!, (?<=, (?<!): match the context "
     "as part of the pattern, or add a second test (`and not FIELD matches /.../`)"},
    {"embedded start anchor",
     "`^` may only start the pattern (or a line, with the `m` flag): move it to the "
     "front, or drop it"},
    {"embedded end anchor",
     "`$` and `\\z` may only end the pattern (or a line, with the `m` flag): move it to "
     "the end, or drop it"},
    {"too large",
     "the pattern is too large for Hyperscan: use a smaller bound (`{1,100}`), or split it into "
     "several tests joined by `or`"},
    {"atomic group",
     "Hyperscan has no atomic groups: write a plain group `(...)`; a yes/no match is the same"},
    {"possessive", "Hyperscan has no possessive quantifiers: drop the extra `+` (`a+`, not `a++`)"},
    {"not supported", "Hyperscan does not support this construct: rewrite the expression without it"},
    {"unsupported", "Hyperscan does not support this construct: rewrite the expression without it"},
};

std::string e030_hint(const std::string& reason) {
  for (const auto& r : kRegexRefusals) {
    if (reason.find(r.key) != std::string::npos) return std::string(r.hint);
  }
  return "the expression is not a valid regular expression: check its parentheses, brackets and repeats";
}

}  // namespace

// Compiles one group; a pattern Hyperscan refuses is reported and left out, and the
// rest is compiled again, so every bad regex is reported.
std::optional<vm::FieldDatabase> PatternTable::compile_group(std::vector<uint32_t> members,
                                                             lang::Diagnostics& diagnostics) const {
  bool literal_group = !plain_literals_[members[0]].empty();
  while (!members.empty()) {
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    std::vector<size_t> lengths;
    for (uint32_t id : members) {
      const std::string& literal = plain_literals_[id];
      exprs.push_back(literal_group ? literal.data() : patterns_[id].expression.c_str());
      if (literal_group) lengths.push_back(literal.size());
      flags.push_back(patterns_[id].hs_flags | HS_FLAG_SINGLEMATCH);
      ids.push_back(id);
    }
    CompileAttempt attempt = try_compile(exprs, flags, ids, lengths);
    if (attempt.db == nullptr) {
      uint32_t bad = members[static_cast<size_t>(attempt.failed_expression)];
      std::string reason = attempt.error;
      if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
      if (reason.ends_with(".")) reason.pop_back();
      diagnostics.error("E030", "Hyperscan cannot compile this pattern: " + reason, first_use_[bad],
                        "this pattern", e030_hint(reason));
      members.erase(members.begin() + attempt.failed_expression);
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

std::vector<vm::FieldDatabase> PatternTable::build(lang::Diagnostics& diagnostics) const {
  std::vector<std::vector<uint32_t>> work = groups();
  std::vector<std::optional<vm::FieldDatabase>> built(work.size());
  std::vector<lang::Diagnostics> reports(work.size());
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
    diagnostics.append(reports[i]);
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
