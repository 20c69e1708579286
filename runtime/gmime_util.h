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

}  // namespace mp::runtime::detail
