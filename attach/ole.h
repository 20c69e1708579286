// attach-internal: VBA projects in OLE2 compound files, found by libgsf.
#pragma once

#include <string_view>

namespace mp::attach::detail {

// True when the OLE2 file `bytes` has a VBA project: a storage named "VBA" (Word keeps
// it under "Macros", Excel under "_VBA_PROJECT_CUR", PowerPoint at the root) or a
// stream "_VBA_PROJECT". False for anything libgsf cannot read as OLE2. At most
// kMaxOleEntries directory entries are looked at.
bool has_vba_project(std::string_view bytes);

inline constexpr int kMaxOleEntries = 4096;

}  // namespace mp::attach::detail
