// What policyc reads: a policy (source or compiled image) and messages (.eml files,
// mbox files, directories of either).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "runtime/message.h"
#include "vm/vm.h"

namespace mp::tools {

// Compiles a source policy or loads an image (told apart by the image magic).
// Diagnostics go to stderr in `format` ("text" or "json"); returns null on failure.
vm::ProgramPtr load_program(const std::string& path, const std::string& format);

void print_diagnostics(const compiler::Compilation& c, const std::string& format);

struct MessageInput {
  std::string name;     // file path, or "path#N" for the N-th message of an mbox
  std::string bytes;
  std::string error;    // set when the input could not be read
};

// The message files named by `paths`, in order: a directory's files sorted,
// recursively; a Maildir contributes cur/ and new/ only (not tmp/ or the server's
// index files). A path that is not a directory is taken as a file (so a missing one
// shows up as an error when read).
std::vector<std::string> message_files(const std::vector<std::string>& paths);

// Reads message_files(paths) and splits mbox files.
std::vector<MessageInput> read_messages(const std::vector<std::string>& paths);

bool read_file(const std::string& path, std::string& out);

// MAIL FROM when none is given: the message's own Return-Path ("" when it has none).
std::string default_sender(const runtime::Message& message);

}  // namespace mp::tools
