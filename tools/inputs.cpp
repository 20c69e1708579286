// Policy and message inputs for policyc.
#include "tools/inputs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include "lang/diagnostics.h"
#include "runtime/message.h"

namespace mp::tools {

namespace fs = std::filesystem;

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in || fs::is_directory(path)) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

void print_diagnostics(const compiler::Compilation& c, const std::string& format) {
  bool color = format == "text" && isatty(STDERR_FILENO);
  for (const auto& d : c.diagnostics.items()) {
    if (format == "json") std::cerr << lang::render_json(d, c.sources) << "\n";
    else std::cerr << lang::render_text(d, c.sources, color) << "\n";
  }
  if (format == "text" && c.diagnostics.has_errors()) {  // warnings are summed up by the caller
    size_t n = c.diagnostics.error_count();
    std::cerr << "error: could not compile the policy due to " << n << (n == 1 ? " error" : " errors") << "\n";
  }
}

vm::ProgramPtr load_program(const std::string& path, const std::string& format) {
  std::string bytes;
  if (!read_file(path, bytes)) {
    std::cerr << "error: cannot read " << path << "\n";
    return nullptr;
  }
  if (bytes.compare(0, 8, std::string("MPOLICY\0", 8)) == 0) {
    try {
      return vm::Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    } catch (const vm::ImageError& e) {
      std::cerr << "error: " << path << ": " << e.what() << "\n";
      return nullptr;
    }
  }
  compiler::Compilation c = compiler::compile_source(path, std::move(bytes));
  print_diagnostics(c, format);
  if (!c.ok()) return nullptr;
  std::string image = vm::write_image(*c.image);
  return vm::Program::load({reinterpret_cast<const uint8_t*>(image.data()), image.size()});
}

std::string default_sender(const runtime::Message& message) {
  auto path = message.header("Return-Path");
  if (!path) return {};
  std::string s(*path);
  size_t open = s.find('<'), close = s.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    s = s.substr(open + 1, close - open - 1);
  }
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

namespace {

bool has_subdirectory(const fs::path& dir, const char* name) {
  std::error_code ec;
  return fs::is_directory(dir / name, ec);
}

// Regular files below `dir`. A Maildir (a folder with cur/ and new/) contributes the
// files of cur/ and new/ only: tmp/ holds messages still being delivered, and the files
// directly in the Maildir are the server's indexes (dovecot-uidlist, ...). Its other
// subfolders (Maildir++ folders such as .Sent/) are walked like any folder.
void walk(const fs::path& dir, std::vector<std::string>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return;
  const bool maildir = has_subdirectory(dir, "cur") && has_subdirectory(dir, "new");
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::directory_entry& entry = *it;
    std::error_code e;
    if (entry.is_directory(e) && !entry.is_symlink(e)) {
      if (maildir && entry.path().filename() == "tmp") continue;
      walk(entry.path(), out);
    } else if (entry.is_regular_file(e) && !maildir) {
      out.push_back(entry.path().string());
    }
  }
}

void add_file(const std::string& path, std::vector<MessageInput>& out) {
  std::string bytes;
  if (!read_file(path, bytes)) {
    out.push_back({path, {}, "cannot read file"});
    return;
  }
  std::vector<std::string> parts = runtime::split_mbox(bytes);
  if (parts.size() <= 1) {
    out.push_back({path, std::move(bytes), {}});
    return;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    out.push_back({path + "#" + std::to_string(i + 1), std::move(parts[i]), {}});
  }
}

}  // namespace

// Every argument in order; a directory's files sorted (as `policyc run` does). A path
// that is not a directory is taken as a file, so a missing one shows up as an error.
std::vector<std::string> message_files(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> below;
    walk(path, below);
    std::sort(below.begin(), below.end());
    files.insert(files.end(), below.begin(), below.end());
  }
  return files;
}

std::vector<MessageInput> read_messages(const std::vector<std::string>& paths) {
  std::vector<MessageInput> out;
  for (const auto& file : message_files(paths)) add_file(file, out);
  return out;
}

}  // namespace mp::tools
