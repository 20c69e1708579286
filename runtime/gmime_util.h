// Private helpers shared by the GMime-facing parts of the runtime: ownership
// wrappers for GObject/g_malloc'd values, and the bounded defect list every stage
// of message parsing reports into.
#pragma once

#include <gmime/gmime.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

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

// A hostile message can trigger a warning per line; the list is informational, so
// it is capped rather than allowed to grow with the input.
inline constexpr size_t kMaxDefects = 64;

inline void add_defect(std::vector<std::string>& defects, std::string defect) {
  if (defects.size() >= kMaxDefects) return;
  if (std::find(defects.begin(), defects.end(), defect) != defects.end()) return;
  defects.push_back(std::move(defect));
}

}  // namespace mp::runtime::detail
