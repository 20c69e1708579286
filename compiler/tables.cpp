// Pattern, set and net tables, and the per-field Hyperscan database build.
#include "compiler/tables.h"

#include <hs/hs.h>

#include <cctype>
#include <fmt/format.h>

namespace mp::compiler {

std::string escape_literal(std::string_view literal) {
  std::string out;
  out.reserve(literal.size() * 2);
  for (unsigned char c : literal) {
    if (std::isalnum(c)) out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

uint32_t PatternTable::intern(vm::PatternInfo info, lang::Span span) {
  auto key = std::make_tuple(info.field, info.expression, info.hs_flags, info.header_filter);
  auto [it, inserted] = index_.emplace(key, static_cast<uint32_t>(patterns_.size()));
  if (inserted) {
    patterns_.push_back(std::move(info));
    first_use_.push_back(span);
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
  info.header_filter = std::move(header_filter);
  info.literal_length = static_cast<uint32_t>(literal.size());
  info.source = std::move(source);
  return intern(std::move(info), span);
}

uint32_t PatternTable::add_regex(vm::FieldId field, std::string expression, uint32_t hs_flags,
                                 std::string header_filter, std::string source, lang::Span span) {
  vm::PatternInfo info;
  info.field = field;
  info.expression = std::move(expression);
  info.hs_flags = hs_flags | HS_FLAG_ALLOWEMPTY;
  info.header_filter = std::move(header_filter);
  info.source = std::move(source);
  return intern(std::move(info), span);
}

namespace {

struct CompileAttempt {
  hs_database_t* db = nullptr;
  int failed_expression = -1;  // index into the attempt's arrays, or -1
  std::string error;
};

CompileAttempt try_compile(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                           const std::vector<unsigned>& ids) {
  CompileAttempt out;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                       HS_MODE_BLOCK, nullptr, &out.db, &error) != HS_SUCCESS) {
    out.failed_expression = error ? error->expression : -1;
    out.error = error && error->message ? error->message : "unknown error";
    if (out.failed_expression < 0) out.failed_expression = 0;
    hs_free_compile_error(error);
  }
  return out;
}

}  // namespace

std::vector<vm::FieldDatabase> PatternTable::build(lang::Diagnostics& diagnostics) const {
  std::vector<vm::FieldDatabase> out;
  for (size_t f = 0; f < vm::kFieldCount; ++f) {
    std::vector<uint32_t> members;
    for (uint32_t id = 0; id < patterns_.size(); ++id) {
      if (static_cast<size_t>(patterns_[id].field) == f) members.push_back(id);
    }
    // Retry without each pattern Hyperscan refuses, so every bad regex is reported.
    while (!members.empty()) {
      std::vector<const char*> exprs;
      std::vector<unsigned> flags, ids;
      for (uint32_t id : members) {
        exprs.push_back(patterns_[id].expression.c_str());
        flags.push_back(patterns_[id].hs_flags | HS_FLAG_SINGLEMATCH);
        ids.push_back(id);
      }
      CompileAttempt attempt = try_compile(exprs, flags, ids);
      if (attempt.db == nullptr) {
        uint32_t bad = members[static_cast<size_t>(attempt.failed_expression)];
        diagnostics.error("E030", "Hyperscan cannot compile this pattern: " + attempt.error,
                          first_use_[bad], "this pattern",
                          "Hyperscan has no back-references or look-around; rewrite the expression");
        members.erase(members.begin() + attempt.failed_expression);
        continue;
      }
      char* bytes = nullptr;
      size_t length = 0;
      hs_serialize_database(attempt.db, &bytes, &length);
      out.push_back({static_cast<vm::FieldId>(f), members, std::string(bytes, length)});
      free(bytes);
      hs_free_database(attempt.db);
      break;
    }
  }
  return out;
}

uint32_t SetTable::add(vm::SetInfo set) {
  auto key = std::make_tuple(set.fold, set.header_filter, set.entries);
  auto [it, inserted] = index_.emplace(std::move(key), static_cast<uint32_t>(sets_.size()));
  if (inserted) sets_.push_back(std::move(set));
  return it->second;
}

uint32_t NetTable::add(vm::NetInfo net) {
  std::vector<std::string> key;
  for (const auto& p : net.prefixes) key.push_back(p.str());
  auto [it, inserted] = index_.emplace(std::move(key), static_cast<uint32_t>(nets_.size()));
  if (inserted) nets_.push_back(std::move(net));
  return it->second;
}

}  // namespace mp::compiler
