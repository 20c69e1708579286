// inspect(): the attachment's own type and flags, then what is inside it.
#include "attach/inspect.h"

#include <algorithm>
#include <array>

#include "attach/archive.h"
#include "attach/magic.h"
#include "attach/ole.h"
#include "attach/types.h"

namespace mp::attach {

namespace {

constexpr std::array<std::string_view, kFlagCount> kFlagNames = {
    "encrypted", "macros", "type_mismatch", "executable", "contains_executable", "archive_limit", "corrupt"};

}  // namespace

std::string_view flag_name(Flag flag) {
  return kFlagNames[static_cast<size_t>(flag)];
}

std::string extension_of(std::string_view name) {
  const size_t slash = name.rfind('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return {};
  std::string extension(name.substr(dot + 1));
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

Report inspect(std::string_view bytes, std::string_view name, const Limits& limits) {
  Report report;
  report.type = detail::mime_type(bytes);
  auto set = [&report](Flag flag) { report.flags.set(static_cast<size_t>(flag)); };
  if (detail::is_executable_type(report.type)) set(Flag::Executable);
  if (detail::contradicts(extension_of(name), report.type)) set(Flag::TypeMismatch);
  if (detail::is_ole_type(report.type) && detail::has_vba_project(bytes)) set(Flag::Macros);
  detail::list_archive(bytes, name, report.type, limits, report);
  return report;
}

}  // namespace mp::attach
