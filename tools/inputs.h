// What policyc reads: a policy (source or compiled image) and messages (.eml files,
// mbox files, directories of either).
#pragma once

#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/compiler.h"
#include "runtime/message.h"
#include "vm/vm.h"

namespace mp::tools {

// Compiles a source policy or loads an image (told apart by the image magic).
// Diagnostics go to stderr in `format` ("text" or "json"); returns null on failure.
vm::ProgramPtr load_program(const std::string& path, const std::string& format);

// Text goes to stderr; JSON to `json_out`: stdout for check, build and lint, whose
// output the diagnostics are, stderr where stdout holds verdicts (run, diff, test).
void print_diagnostics(const compiler::Compilation& c, const std::string& format,
                       std::ostream& json_out = std::cerr);

struct MessageInput {
  std::string name;     // file path, or "path#N" for the N-th message of an mbox
  std::string path;     // the file it came from (name without "#N")
  std::string bytes;
  std::string error;    // set when the input could not be read
};

// A file is a message when, after an optional mbox "From " line, its first line is a
// header field ("Name: value", RFC 5322 section 2.2). Files without a header block
// (READMEs, licences, index files, envelope sidecars) are not messages.
bool looks_like_message(std::string_view head);

// A command-line argument that gives no message.
struct InputProblem {
  std::string path;
  std::string reason;    // "no such file or directory", "no message in this directory"
  bool missing = false;  // the path does not exist
};

// The message files named by the arguments, with what was left out.
struct MessageFiles {
  std::vector<std::string> files;  // in order; a named file is always listed, even a missing one
  std::vector<InputProblem> problems;
  size_t skipped = 0;  // files below the directories that are not messages
};

MessageFiles find_message_files(const std::vector<std::string>& paths);

// Prints the problems (all, or all but missing paths) and the number of skipped files
// to stderr; false when a problem was printed.
bool report_message_files(const MessageFiles& found, bool with_missing);

// The message files named by `paths`, in order: a directory's files sorted,
// recursively; a Maildir contributes cur/ and new/ only (not tmp/ or the server's
// index files). A path that is not a directory is taken as a file (so a missing one
// shows up as an error when read). Files below a directory that are not messages
// (looks_like_message) are left out.
std::vector<std::string> message_files(const std::vector<std::string>& paths);

// Reads `files` and splits mbox files.
std::vector<MessageInput> read_message_files(const std::vector<std::string>& files);
// Reads message_files(paths).
std::vector<MessageInput> read_messages(const std::vector<std::string>& paths);

bool read_file(const std::string& path, std::string& out);

// MAIL FROM when none is given: the message's own Return-Path ("" when it has none).
std::string default_sender(const runtime::Message& message);
// The address of the message's first header `name`, <> and blanks stripped ("" when none).
std::string header_address(const runtime::Message& message, const std::string& name);

}  // namespace mp::tools
