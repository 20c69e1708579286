// attach-internal: archives listed with libarchive, recursively, within Limits.
#pragma once

#include <string_view>

#include "attach/inspect.h"

namespace mp::attach::detail {

// Lists the members of the archive `bytes` (libmagic type `type`, sent as `name`) into
// report.members, at every depth, and sets the flags what it finds inside calls for:
// Encrypted, Macros (a document with macros, or its VBA project, inside),
// ContainsExecutable, ArchiveLimit, Corrupt. Does nothing unless is_archive_type(type).
void list_archive(std::string_view bytes, std::string_view name, std::string_view type, const Limits& limits,
                  Report& report);

}  // namespace mp::attach::detail
