// What policyc fuzz and fuzz --diff share: the VM that confirms a witness, and the
// writing of witnesses as .eml files and .mptest cases that `policyc test` replays.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "explore/explore.h"
#include "vm/vm.h"

namespace mp::tools {

// A compiled image loaded as gateways load it, one evaluation per witness with the
// witness's facts stated. Throws std::runtime_error when a witness states a fact no
// .mptest could (a bug of explore/).
class VmJudge {
 public:
  VmJudge(const vm::ImageData& image, bool trace);
  vm::Verdict operator()(const explore::Witness& w);
  // The same with w.message already parsed (with parse_options()), for a caller that
  // reads the message too or judges it under several images of one policy.
  vm::Verdict operator()(const explore::Witness& w, const runtime::Message& message);
  runtime::ParseOptions parse_options() const { return program_->parse_options(); }

 private:
  vm::ProgramPtr program_;
  vm::Evaluator evaluator_;
};

// The search's options from the command's: wall seconds for the whole search,
// milliseconds per solver query, and now as the date the rules' `until` is read at.
explore::FuzzOptions search_options(double budget_seconds, unsigned solver_timeout_ms);

// "1 witness", "2 witnesses".
std::string counted(size_t n, const std::string& one, const std::string& many);

// `s` with every character a file name should not hold turned into '-'.
std::string file_safe(const std::string& s);

// Goals counted by status: the summary both commands print.
struct GoalTally {
  size_t found = 0, impossible = 0, not_found = 0, not_tried = 0;
  void add(const explore::Goal& g);
  // "F found, I impossible, N without a witness" and ", T not tried" when some were not.
  std::string text() const;
  // The JSON summary's counts, then the search's solver queries and wall seconds.
  nlohmann::ordered_json json(size_t solver_queries, double seconds) const;
};

// A goal not met, as the text reports say it: "impossible: WHY", "no witness: WHY" or
// "not tried: WHY" ("found" for one met).
std::string goal_reason(const explore::Goal& g);

// A goal as JSON: its status, then `witness` (the reference given) when found, else
// `why`.
nlohmann::ordered_json goal_json(const explore::Goal& g, const nlohmann::ordered_json& witness);

// The line naming the tests the solver reads as unknowns; "" when there are none.
std::string approximated_line(const std::vector<std::string>& approximated);

// A .mptest case for `w` (saved as `message_file`): its envelope and stated facts, and
// `verdict`'s action, deciding rule and fired rules as the expectations (with the
// rules that were reached and did not fire when the verdict is traced).
std::string test_case(const std::string& name, const std::string& message_file, const explore::Witness& w,
                      const vm::Verdict& verdict);

// Writes DIR/FILE (DIR exists: out_dir_problem made it): `comment` (lines without
// '#'), the `policy:` line naming `policy` relative to DIR, and the cases. Throws
// std::runtime_error naming the file and the system's reason when it cannot be written.
void write_test_file(const std::string& dir, const std::string& file, const std::string& comment,
                     const std::string& policy, const std::vector<std::string>& cases);

// Removes from `dir` what an earlier `policyc fuzz` wrote there: its case files
// (fuzz.mptest, old.mptest, new.mptest, known by their first line) and the messages
// their cases name that have the names fuzz gives (NNN-….eml), so that a reused --out
// replays only this run's witnesses. Nothing else is touched (a message a user's case
// added names stays). A file already gone is no error; one that cannot be removed
// throws std::runtime_error naming it and the system's reason.
void remove_earlier_witnesses(const std::string& dir);

// Whether policyc fuzz may write `names` into `dir`: false, with the error on stderr
// naming the file, when one is there and fuzz did not write it — a case file (.mptest)
// whose first line is not fuzz's, or any other file (after remove_earlier_witnesses,
// fuzz's own messages are gone). Fuzz overwrites nothing of the user's.
bool may_write(const std::string& dir, const std::vector<std::string>& names);

// Writes message i of `messages` as DIR/names[i] when may_write allows it; false,
// having written nothing, when it does not. Throws std::runtime_error as
// write_test_file does.
bool write_messages(const std::string& dir, const std::vector<std::string>& names,
                    const std::vector<const std::string*>& messages);

// Why policyc fuzz cannot write into --out `dir`, checked before the search so that
// none is spent on results that cannot be kept: a file, not a directory; a directory
// that cannot be created; one that cannot be written (a file is made there and
// removed). Creates `dir`. nullopt when fuzz can write there.
std::optional<std::string> out_dir_problem(const std::string& dir);

// Writes a run's files into `dir`: removes what an earlier run wrote there, then calls
// `write` when `any` witness was found (no case file without a case: `policyc test`
// refuses one). Returns write's status, or 2 with the error on stderr when a file
// cannot be removed or written.
int write_out(const std::string& dir, bool any, const std::function<int()>& write);

}  // namespace mp::tools
