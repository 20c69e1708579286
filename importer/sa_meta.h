// SpamAssassin meta rules (`meta NAME (__A && !__B) || (__C + __D + __E) > 1`) read into
// a small tree, folded once the rules they name are known, and written as a condition
// of this language: && → and, || → or, ! → not, sums of rules → a sum of conditions.
// Internal to importer/.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mp::importer {

struct MetaNode {
  enum class Kind { Rule, Constant, Not, And, Or, Sum };
  Kind kind = Kind::Constant;
  std::string rule;             // Rule
  bool value = false;           // Constant
  std::vector<MetaNode> terms;  // Not (one), And, Or, Sum
  std::string op = ">=";        // Sum: < <= > >= == !=
  double threshold = 1;         // Sum
  bool compared = false;        // Sum: its comparison was read (else it is still pending)
};

// Parses a meta's expression; the error says what is beyond a sum of rules (a product,
// a number as a term, an unbalanced parenthesis).
std::variant<MetaNode, std::string> parse_meta(const std::string& expression);

// Each rule the expression names, once.
std::vector<std::string> meta_rules(const MetaNode& node);

// Replaces the rules `known` says are constant (a network rule with score set 0: false)
// and folds: `false && X` is false, a sum's constant terms move into its threshold, a
// sum no count can satisfy is false.
MetaNode fold_meta(MetaNode node, const std::function<std::optional<bool>(const std::string&)>& known);

// The condition in this language's syntax.
std::string meta_condition(const MetaNode& node);

}  // namespace mp::importer
