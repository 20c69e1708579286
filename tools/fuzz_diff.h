// policyc fuzz --diff OLD NEW: messages whose verdict's action differs between two
// policies, found by the solver over both (explore::fuzz_diff) and confirmed by both
// VMs; or the proof that there are none (docs/fuzzing.md, "Two policies").
#pragma once

#include <string>

namespace mp::tools {

struct FuzzDiffOptions {
  std::string old_policy, new_policy;
  std::string out;              // "" for none: else NNN-*.eml, old.mptest, new.mptest
  std::string format = "text";  // or "json"
  double budget = 60;           // seconds
  unsigned solver_timeout_ms = 10000;
  bool require_proof = false;  // --require-proof: "not found" is not "proved"
};

// Prints the report; returns the exit status: 0 when no message changes action (proved,
// or not found unless require_proof), 1 when one does or (require_proof) the two are not
// proved to agree, 2 when a policy cannot be compiled or the solver fails.
int run_fuzz_diff(const FuzzDiffOptions& o);

}  // namespace mp::tools
