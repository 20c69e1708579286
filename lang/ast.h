// The policy AST: what the author wrote, with a Span on every node, before any name
// resolution or typing (that is compiler/sema). Conditions with many `and`/`or`
// operands are flat n-ary nodes, so long chains never mean deep recursion.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lang/source.h"

namespace mp::lang {

enum class LiteralKind { String, Number, Size, Address, Ip, Path, List, Bool, Regex };

// A literal or a name as written. A Path ("widget.com", "from.domain", "our_domains",
// "US") is interpreted by the compiler according to where it stands.
struct Literal {
  LiteralKind kind = LiteralKind::String;
  Span span;
  std::string text;             // string contents (unescaped), the path, the address…
  double number = 0;            // Number and Size (bytes), Bool (0/1)
  std::vector<Literal> items;   // List
};

struct Condition;

enum class OperandKind { Literal, Header, AnyHeader, Count, Call };

struct Operand {
  OperandKind kind = OperandKind::Literal;
  Span span;
  Literal literal;                        // Literal
  std::string header_name;                // Header
  std::string name;                       // Count: collection; Call: function name
  Span name_span;
  std::shared_ptr<Condition> count_filter;  // Count (optional)
  std::vector<Operand> args;              // Call
};

// Sum: `(A + B + C) >= 2`, how many of the children hold, compared with a number
// (SpamAssassin's arithmetic metas): children, op (Lt..Ne), rhs.
enum class CondKind { Not, And, Or, Quantified, Compare, Bool, Sum };
enum class CompareOp { Is, Contains, StartsWith, EndsWith, Matches, In, Resembles, Lt, Le, Gt, Ge, Eq, Ne };
enum class Quantifier { Any, All };

struct Condition {
  CondKind kind = CondKind::Bool;
  Span span;
  std::vector<std::shared_ptr<Condition>> children;  // Not (1), And/Or/Sum (n), Quantified (1)
  // Compare
  CompareOp op = CompareOp::Is;
  bool negated = false;  // `is not`, `not in`, `not contains`
  bool nocase = false;
  Span op_span;
  Operand lhs;
  Operand rhs;
  std::string regex;        // Matches: pattern between the slashes
  std::string regex_flags;  // Matches: letters after the closing slash
  // Quantified
  Quantifier quantifier = Quantifier::Any;
  std::string collection;
  Span collection_span;
  // Bool: a def name or a boolean field, in lhs
};

enum class Direction { Inbound, Outbound, Internal };

enum class ActionKind {
  Allow,
  Reject,
  Quarantine,
  Discard,
  Tempfail,
  Score,
  Tag,
  Banner,
  RewriteUrls,
  AddHeader,
  RemoveHeader,
  Log
};

struct Action {
  ActionKind kind = ActionKind::Allow;
  Span span;
  std::string text;    // reply text, reason, tag, header value, log line
  bool has_text = false;
  double score = 0;
  std::string header;  // AddHeader/RemoveHeader
  // Tag, Banner, AddHeader: the text given by a const or option name instead of a
  // string (`tag anti_spoofing.external_tag`); sema puts its value in `text`.
  std::string text_name;
  Span text_name_span;
  // RewriteUrls: `text`/`text_name` is the target ("https://check.example/?u={url}"),
  // `except` the domains whose links are left alone (a list, or a const/list/option name).
  std::optional<Literal> except;
};

// A word and a value in a rule's scope: `user ADDRESS`, `group NAME`, `until DATE`
// (kind as written, checked by sema).
struct ScopeTerm {
  std::string kind;
  Span kind_span;
  Literal value;
};

struct Rule {
  std::string name;
  Span name_span;
  Span span;
  std::vector<Direction> directions;  // empty: every direction
  std::vector<ScopeTerm> terms;       // recipients and expiry; empty: every recipient, for ever
  std::shared_ptr<Condition> condition;
  std::vector<Action> actions;
};

struct Stage {
  std::string name;
  Span span;
  std::vector<Rule> rules;
};

struct ConstDecl {
  std::string name;
  Span span;
  Literal value;
};

struct ListDecl {
  std::string name;
  Span span;
  bool from_file = false;
  std::string file;  // as written, relative to the policy file
  Span file_span;
  Literal literal;   // when not from a file
};

struct DefDecl {
  std::string name;
  Span span;
  std::shared_ptr<Condition> condition;
};

struct Setting {
  std::string key;
  Span span;
  Literal value;
  // `KEY = file("PATH")`: one entry per line of PATH (relative to this file's directory).
  bool from_file = false;
  std::string file;
  Span file_span;
};

// `option KEY = DEFAULT` in a module: a setting its users may give.
struct OptionDecl {
  std::string key;
  Span span;
  Literal value;
  std::vector<Literal> choices;  // `in [A, B]`: the only values it takes; empty: any of its kind
};

// `disable rule STAGE.RULE`, `rescore rule STAGE.RULE N`.
struct RuleAdjustment {
  enum class Kind { Disable, Rescore } kind = Kind::Disable;
  std::string rule;  // as written: STAGE.RULE
  Span span;
  double score = 0;  // Rescore
};

// `assert never VERDICT [when CONDITION]`: no message may get VERDICT (an action
// name, or `deliver`) while CONDITION holds (every message when there is none).
struct Assertion {
  Span span;            // the whole declaration
  std::string verdict;  // as written
  Span verdict_span;
  std::shared_ptr<Condition> condition;  // null: every message
};

struct Import {
  std::string module;  // "stdlib", "stdlib.anti_spoofing"
  Span span;
};

// One parsed file. Stages keep the order of their first appearance; a second block
// with the same name appends to the first. Bare rules go to `custom_filters`.
struct Policy {
  FileId file;
  std::vector<Import> imports;
  std::vector<ConstDecl> consts;
  std::vector<ListDecl> lists;
  std::vector<DefDecl> defs;
  std::vector<Setting> settings;
  std::vector<OptionDecl> options;
  std::vector<RuleAdjustment> adjustments;
  std::vector<Stage> stages;
  std::vector<Assertion> assertions;
};

}  // namespace mp::lang
