// attach-internal: what a libmagic MIME type means for inspection. The tables are in
// types.cpp, in one place, so docs/language.md can quote them.
#pragma once

#include <string_view>

namespace mp::attach::detail {

// A program by its content (PE, ELF, Mach-O, MSI, Java, a shebang script, …).
bool is_executable_type(std::string_view type);
// An archive or compressed file libarchive is asked to list.
bool is_archive_type(std::string_view type);
// A bare compressed stream (gzip, bzip2, xz, …): it may hold one file, not an archive.
bool is_compressed_type(std::string_view type);
// An OLE2 compound file (Word/Excel/PowerPoint 97-2003, Outlook .msg): it may hold VBA.
bool is_ole_type(std::string_view type);
// The extension names a type of kClaims and `type` is none of that type's MIME types.
// An extension not in kClaims, and an empty file, never mismatch.
bool contradicts(std::string_view extension, std::string_view type);

}  // namespace mp::attach::detail
