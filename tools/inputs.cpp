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

void print_diagnostics(const compiler::Compilation& c, const std::string& format, std::ostream& json_out) {
  bool color = format == "text" && isatty(STDERR_FILENO);
  for (const auto& d : c.diagnostics.items()) {
    if (format == "json")
      json_out << lang::render_json(d, c.sources) << "\n";
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
  try {
    return vm::Program::load({reinterpret_cast<const uint8_t*>(image.data()), image.size()});
  } catch (const vm::ImageError& e) {
    // The compiler accepted what the VM refuses: a compiler bug, reported, not a crash.
    std::cerr << "error: " << path
              << ": the compiled policy does not load (a policyc bug; please report it): " << e.what()
              << "\n";
    return nullptr;
  }
}

std::string default_sender(const runtime::Message& message) {
  return header_address(message, "Return-Path");
}

std::string header_address(const runtime::Message& message, const std::string& name) {
  auto path = message.header(name);
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
    std::error_code ec;
    out.push_back({path, path, {}, fs::exists(path, ec) ? "cannot read file" : "no such file or directory"});
    return;
  }
  if (bytes.empty()) {
    out.push_back({path, path, {}, "empty file: no message"});
    return;
  }
  std::vector<std::string> parts = runtime::split_mbox(bytes);
  if (parts.size() <= 1) {
    out.push_back({path, path, std::move(bytes), {}});
    return;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    out.push_back({path + "#" + std::to_string(i + 1), path, std::move(parts[i]), {}});
  }
}

// The first 4 KiB of a file: enough to see its first header line.
std::string head_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

// An envelope sidecar (FILE.env next to FILE, see envelope_options.h) belongs to its
// message: it is neither a message nor counted as skipped.
bool is_sidecar(const std::string& file, const std::vector<std::string>& sorted_files) {
  return file.ends_with(".env") &&
         std::binary_search(sorted_files.begin(), sorted_files.end(), file.substr(0, file.size() - 4));
}

// Adds the message files below directory `dir`, sorted; counts the others.
void add_directory(const std::string& dir, MessageFiles& found) {
  std::vector<std::string> below;
  walk(dir, below);
  std::sort(below.begin(), below.end());
  size_t before = found.files.size();
  for (const auto& file : below) {
    if (is_sidecar(file, below)) continue;
    if (looks_like_message(head_of(file)))
      found.files.push_back(file);
    else
      ++found.skipped;
  }
  if (found.files.size() == before) found.problems.push_back({dir, "no message in this directory", false});
}

}  // namespace

bool looks_like_message(std::string_view head) {
  if (head.starts_with("From ")) {
    size_t newline = head.find('\n');
    head = newline == std::string_view::npos ? std::string_view() : head.substr(newline + 1);
  }
  size_t i = 0;  // a field name: printable ASCII but ':', then ':'
  while (i < head.size() && head[i] > ' ' && head[i] < 127 && head[i] != ':') ++i;
  return i > 0 && i < head.size() && head[i] == ':';
}

// Every argument in order; a directory's message files sorted (as `policyc run` does).
// A path that is not a directory is taken as a file, so a missing one shows up as an
// error when read.
MessageFiles find_message_files(const std::vector<std::string>& paths) {
  MessageFiles found;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      add_directory(path, found);
      continue;
    }
    found.files.push_back(path);
    if (!fs::exists(path, ec)) found.problems.push_back({path, "no such file or directory", true});
  }
  return found;
}

bool report_message_files(const MessageFiles& found, bool with_missing) {
  if (found.skipped > 0) {
    std::cerr << "skipped " << found.skipped << (found.skipped == 1 ? " file" : " files") << " that "
              << (found.skipped == 1 ? "is" : "are") << " not a message (no header block)\n";
  }
  bool ok = true;
  for (const auto& p : found.problems) {
    if (p.missing && !with_missing) continue;
    std::cerr << "error: " << p.path << ": " << p.reason << "\n";
    ok = false;
  }
  return ok;
}

std::vector<std::string> message_files(const std::vector<std::string>& paths) {
  return find_message_files(paths).files;
}

std::vector<MessageInput> read_message_files(const std::vector<std::string>& files) {
  std::vector<MessageInput> out;
  for (const auto& file : files) add_file(file, out);
  return out;
}

std::vector<MessageInput> read_messages(const std::vector<std::string>& paths) {
  return read_message_files(message_files(paths));
}

}  // namespace mp::tools
