// explore-internal: the string half of a witness search. The skeleton solver decides
// which string tests (MessageModel::string_tests) hold; this finds values for that
// choice, one solver per group of variables that share a test or a shape (an address
// and its domain are one group, the subject another), because Z3's string solver is
// quick on a few variables and slow on one big conjunction of all of them.
#pragma once

#include <z3++.h>

#include <memory>
#include <string_view>
#include <vector>

#include "explore/budget.h"
#include "explore/model.h"

namespace mp::explore {

class StringSolver {
 public:
  // `timeout_ms` per solver call, within `budget` (which must outlive it).
  StringSolver(z3::context& ctx, const MessageModel& model, unsigned timeout_ms, const Budget& budget);
  ~StringSolver();

  // sat: model() has a value for every string variable. unsat: `lemmas` got one
  // clause per refuted group, over the skeleton's test booleans, true of every
  // message. unknown: a group timed out; `given_up` got the clause that rules out its
  // choice, which the caller may add for this goal only (it is no fact).
  z3::check_result solve(const z3::model& skeleton, std::vector<z3::expr>& lemmas,
                         std::vector<z3::expr>& given_up);
  const z3::model& model() const { return model_; }

 private:
  struct Group;
  z3::solver fresh_solver(const char* engine) const;
  z3::expr choice_clause(const Group& g, const std::vector<bool>& holds) const;
  z3::check_result solve_group(Group& g, const std::vector<bool>& holds) const;
  z3::check_result check_choice(Group& g, const std::vector<bool>& holds, const char* engine,
                                unsigned timeout_ms, const z3::expr_vector& extra) const;
  z3::expr_vector built_values(const Group& g, const std::vector<bool>& holds, std::string_view separator,
                               size_t alignment, bool& more) const;
  z3::expr as_chosen(const Group& g, const std::vector<bool>& holds, const z3::expr& value,
                     size_t except = SIZE_MAX) const;
  z3::expr refutation(const Group& g, const std::vector<bool>& holds) const;
  z3::context& ctx_;
  unsigned timeout_ms_;
  const Budget& budget_;
  std::vector<std::unique_ptr<Group>> groups_;
  z3::model model_;
};

}  // namespace mp::explore
