// Plumbing shared by the end-to-end tests (tests/e2e/*_test.cpp): running a command
// through the shell with its output and exit status captured, shell quoting, scratch
// directories, whole-file reads and writes, and splitting output into lines.
//
// Header-only on purpose: tests/CMakeLists.txt builds only the *_test.cpp files of
// this directory into e2e_tests, so everything here is `inline`.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

namespace mp::e2e {

// The built policyc program.
inline const std::filesystem::path kPolicyc = std::filesystem::path(MP_BIN_DIR) / "policyc";

// ---- Text and files -------------------------------------------------------------

// `arg` in single quotes for /bin/sh, embedded single quotes escaped.
inline std::string shell_quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') quoted += "'\\''";
    else quoted += c;
  }
  return quoted + "'";
}

// The whole file, byte for byte; "" when it cannot be read.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` to `path` byte for byte (replacing it), creating the parent
// directories; a failed write is a test failure.
inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(static_cast<bool>(out)) << "cannot write " << path;
}

// The lines of `text` without their '\n', empty lines left out.
inline std::vector<std::string> non_empty_lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) result.push_back(line);
  }
  return result;
}

// One line of JSON output, which should be an object (the expectation is checked
// here); a line that is not JSON comes back discarded.
inline nlohmann::json parse_json_line(const std::string& line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
  EXPECT_TRUE(j.is_object()) << "not a JSON object: " << line;
  return j;
}

// ---- Scratch directories --------------------------------------------------------

// A directory of its own under the system temp directory (unique to this process and
// object), removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("mp_e2e_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `text` to `name` (relative, may hold directories) and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::filesystem::path p = path_ / name;
    write_text(p, text);
    return p;
  }

 private:
  std::filesystem::path path_;
};

// ---- Running commands -----------------------------------------------------------

struct RunResult {
  int status = -1;      // exit status, or -1 if the command did not exit normally
  bool ran = false;     // false when popen failed (already recorded as a test failure)
  std::string out;      // stdout
  std::string err;      // stderr (run_program only)
  std::string command;  // the command as shown in failure messages

  std::vector<std::string> lines() const { return non_empty_lines(out); }
  std::string last_line() const {
    auto l = lines();
    return l.empty() ? std::string() : l.back();
  }
};

// Runs `command` with /bin/sh and captures its stdout (through popen) and exit
// status; stderr is left alone, so redirect it in `command` if it is wanted.
inline RunResult run_shell(const std::string& command) {
  RunResult result;
  result.command = command;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return result;
  }
  result.ran = true;
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.out.append(buffer, n);
  int status = pclose(pipe);
  result.status = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs `argv` (each word quoted for the shell), in `cwd` unless that is empty; stdout
// is captured through popen, stderr through a scratch file.
inline RunResult run_program(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {}) {
  std::string command_line = cwd.empty() ? std::string() : "cd " + shell_quote(cwd.string()) + " && ";
  for (size_t i = 0; i < argv.size(); ++i) command_line += (i == 0 ? "" : " ") + shell_quote(argv[i]);
  TempDir scratch;
  const std::filesystem::path err_file = scratch.path() / "stderr";
  RunResult result = run_shell(command_line + " 2>" + shell_quote(err_file.string()));
  result.command = command_line;
  if (result.ran) result.err = read_text(err_file);
  return result;
}

// Runs the built policyc with `args` in `cwd`.
inline RunResult run_policyc(const std::filesystem::path& cwd, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kPolicyc.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, cwd);
}

// Runs the built policyc with `args` in the current directory.
inline RunResult run_policyc(const std::vector<std::string>& args) { return run_policyc({}, args); }

// A failure message for a run: the command, exit status, stderr and stdout (cut after
// `max_stdout` bytes).
inline std::string describe(const RunResult& r, std::size_t max_stdout = std::string::npos) {
  std::string out = r.out.size() > max_stdout ? r.out.substr(0, max_stdout) + "…" : r.out;
  return "command: " + r.command + "\nexit status: " + std::to_string(r.status) + "\nstderr:\n" + r.err +
         "stdout:\n" + out;
}

}  // namespace mp::e2e
