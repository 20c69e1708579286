// policyc fuzz --seeds DIR: libFuzzer's own engine (LLVMFuzzerRunDriver from
// libclang_rt.fuzzer_no_main: its mutations, corpus and dictionary) over a corpus of
// seed messages, guided not by code coverage but by the policy's: each rule fired,
// each rule reached and not fired, each verdict action, each assertion's condition.
// The policy's literals (pattern texts, set entries, header names) are its dictionary.
// It reaches what the solver cannot write: HTML, archives, relays, real MIME
// (docs/fuzzing.md, "Mutating real messages").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "explore/explore.h"
#include "vm/vm.h"

namespace mp::tools {

// A mutation input: an SMTP-like envelope, then the message after "DATA":
//   MAIL FROM:<a@example.net>
//   RCPT TO:<b@widget.com>          (one line per recipient)
//   XCLIENT ADDR=192.0.2.1 HELO=mx.example.net LOGIN=user
//   DATA
//   <the message, RFC 5322>
// Commands in any case; ESMTP parameters after the path are left out, and so is a path
// that is no address (LOCAL@DOMAIN; a sender then is the null sender) or a recipient
// already given; ADDR may be Postfix's "IPV6:..." form, and without it (or unreadable)
// the client is 192.0.2.1. An input whose first line is none of these commands is all
// message; its envelope is then MAIL FROM its first From address and RCPT TO its To
// addresses, read the same way.
std::string encode_mutation_input(const explore::Witness& w);
// Never throws: bytes that are no valid envelope are read as far as they go.
explore::Witness decode_mutation_input(std::string_view bytes);

// libFuzzer dictionary entries (`"text"` lines, \xNN escapes) of the literals the
// policy tests: quoted strings of its patterns, its set entries, "Name: " of the
// header fields it names.
std::vector<std::string> policy_dictionary(const vm::ImageData& image);

struct MutationOptions {
  std::string seeds;                         // a directory of seed inputs (either form above)
  std::vector<explore::Witness> more_seeds;  // e.g. the solver's witnesses
  double seconds = 30;                       // libFuzzer's -max_total_time
  std::string work_dir;                      // scratch: seeds/, kept/, the log; must exist
};

struct MutationResult {
  std::vector<explore::Witness> inputs;  // the seeds of `seeds`, then every input libFuzzer kept
  size_t seeds = 0;                      // how many of `inputs` are seeds
  uint64_t executions = 0;               // inputs libFuzzer ran ("Done N runs")
  std::string crash;                     // an input the VM crashed or hung on (a bug), "" for none
};

// Runs libFuzzer in a child process (its driver exits the process when done) for
// `seconds`, the policy `image` judging each input and the assertion probe `probe`
// (compiler::assertion_probe) telling which assertion conditions hold. Throws
// std::runtime_error when the seed directory cannot be read or the child not run.
MutationResult mutate_seeds(const vm::ImageData& image, const vm::ImageData& probe, size_t assertions,
                            const MutationOptions& options);

}  // namespace mp::tools
