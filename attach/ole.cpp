// The directory of an OLE2 compound file through libgsf (which parses the sectors,
// FAT and directory), searched for the storage names of a VBA project.
#include "attach/ole.h"

#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-utils.h>

#include <memory>
#include <mutex>

namespace mp::attach::detail {

namespace {

struct Unref {
  void operator()(void* object) const { g_object_unref(object); }
};
template <typename T>
using GsfPtr = std::unique_ptr<T, Unref>;

bool is_vba_name(const char* name) {
  return name != nullptr &&
         (g_ascii_strcasecmp(name, "VBA") == 0 || g_ascii_strcasecmp(name, "_VBA_PROJECT") == 0);
}

// Depth-first over storages; `budget` counts the entries still allowed, so that a
// crafted directory (libgsf rejects cycles, but not width) cannot make this slow.
bool search(GsfInfile* storage, int depth, int& budget) {
  const int children = gsf_infile_num_children(storage);
  for (int i = 0; i < children && budget > 0; ++i, --budget) {
    if (is_vba_name(gsf_infile_name_by_index(storage, i))) return true;
    GsfPtr<GsfInput> child(gsf_infile_child_by_index(storage, i));
    if (child && GSF_IS_INFILE(child.get()) && depth < 16 &&
        search(GSF_INFILE(child.get()), depth + 1, budget)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool has_vba_project(std::string_view bytes) {
  static std::once_flag initialised;
  std::call_once(initialised, [] {
    gsf_init();
    // A damaged directory is an answer here (no VBA project found), not something
    // for the gateway's log: libgsf reports it through g_critical.
    g_log_set_handler(
        "libgsf:msole", static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK),
        [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {}, nullptr);
  });
  GsfPtr<GsfInput> input(gsf_input_memory_new(reinterpret_cast<const guint8*>(bytes.data()),
                                              static_cast<gsf_off_t>(bytes.size()), FALSE));
  GError* error = nullptr;
  GsfPtr<GsfInfile> ole(gsf_infile_msole_new(input.get(), &error));
  if (error != nullptr) g_error_free(error);
  if (!ole) return false;
  int budget = kMaxOleEntries;
  return search(ole.get(), 0, budget);
}

}  // namespace mp::attach::detail
