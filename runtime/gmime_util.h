// Private helpers shared by the GMime-facing parts of the runtime: ownership
// wrappers for GObject/g_malloc'd values, and the bounded defect list every stage
// of message parsing reports into.
#pragma once

#include <gmime/gmime.h>

#include <algorithm>
#include <bitset>
#include <memory>
#include <string>
#include <vector>

#include "runtime/message.h"

namespace mp::runtime::detail {

struct GObjectUnref {
  void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(gpointer memory) const { g_free(memory); }
};
using GCharPtr = std::unique_ptr<char, GFree>;

struct ParserOptionsFree {
  void operator()(GMimeParserOptions* options) const { g_mime_parser_options_free(options); }
};
using ParserOptionsPtr = std::unique_ptr<GMimeParserOptions, ParserOptionsFree>;

// A hostile message can trigger a warning per line, so the texts are capped rather
// than allowed to grow with the input; the kinds are a bitset and never lost, so a
// flood of harmless warnings cannot hide the one a policy acts on.
inline constexpr size_t kMaxDefects = 64;

struct DefectList {
  std::vector<Defect> items;
  std::bitset<kDefectKindCount> kinds;

  void add(DefectKind kind, std::string text) {
    kinds.set(static_cast<size_t>(kind));
    if (items.size() >= kMaxDefects) return;
    if (std::any_of(items.begin(), items.end(), [&](const Defect& d) { return d.text == text; })) return;
    items.push_back(Defect{kind, std::move(text)});
  }
};

// g_mime_init, once per process, before any other GMime call.
void init_gmime_once();

// The parser options every parse of a message uses (loose RFC compliance, fallback
// charsets); GMime's warnings become defects in `defects`, which must outlive them.
ParserOptionsPtr new_parser_options(DefectList* defects);

}  // namespace mp::runtime::detail
