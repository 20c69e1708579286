// SpamAssassin meta expressions (sa_meta.h).
#include "importer/sa_meta.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace mp::importer {
namespace {

using Kind = MetaNode::Kind;

MetaNode node_of(Kind kind, std::vector<MetaNode> terms = {}) {
  MetaNode n;
  n.kind = kind;
  n.terms = std::move(terms);
  return n;
}

MetaNode constant(bool value) {
  MetaNode n;
  n.value = value;
  return n;
}

MetaNode rule_named(std::string name) {
  MetaNode n;
  n.kind = Kind::Rule;
  n.rule = std::move(name);
  return n;
}

bool compare(double count, const std::string& op, double n);

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  std::variant<MetaNode, std::string> parse() {
    auto node = disjunction();
    skip_space();
    if (!error_.empty()) return error_;
    if (pos_ != text_.size()) return fmt::format("`{}` not understood", text_.substr(pos_));
    if (has_pending_sum(*node)) return std::string("a sum of rules without a comparison");
    return *node;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool take(std::string_view token) {
    skip_space();
    if (text_.compare(pos_, token.size(), token) != 0) return false;
    pos_ += token.size();
    return true;
  }
  std::optional<MetaNode> fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return std::nullopt;
  }
  std::optional<MetaNode> joined(Kind kind, std::string_view token,
                                 std::optional<MetaNode> (Parser::*next)()) {
    auto first = (this->*next)();
    if (!first) return std::nullopt;
    MetaNode node = node_of(kind);
    node.terms.push_back(std::move(*first));
    while (take(token)) {
      auto more = (this->*next)();
      if (!more) return std::nullopt;
      node.terms.push_back(std::move(*more));
    }
    return node.terms.size() == 1 ? std::move(node.terms[0]) : node;
  }
  std::optional<MetaNode> disjunction() { return joined(Kind::Or, "||", &Parser::conjunction); }
  std::optional<MetaNode> conjunction() { return joined(Kind::And, "&&", &Parser::unary); }
  std::optional<MetaNode> unary() {
    if (take("!")) {
      auto inner = unary();
      if (!inner) return std::nullopt;
      return node_of(Kind::Not, {std::move(*inner)});
    }
    return comparison();
  }
  // A term of a sum: a rule, a parenthesized expression, or `!` before one.
  std::optional<MetaNode> term() {
    if (take("!")) {
      auto inner = term();
      if (!inner) return std::nullopt;
      return node_of(Kind::Not, {std::move(*inner)});
    }
    return primary();
  }
  // A sum (or a single term) and an optional comparison with a number. A sum without
  // one is pending: `(__A + __B) > 1` compares the parenthesized sum after it.
  std::optional<MetaNode> comparison() {
    auto sum = joined(Kind::Sum, "+", &Parser::term);
    if (!sum) return std::nullopt;
    skip_space();
    if (pos_ < text_.size() && std::string_view("*/-").find(text_[pos_]) != std::string_view::npos)
      return fail(fmt::format("meta arithmetic `{}` (only sums of rules translate)", text_[pos_]));
    for (const char* op : {">=", "<=", "==", "!=", ">", "<"}) {
      if (!take(op)) continue;
      skip_space();
      char* end = nullptr;
      const double n = std::strtod(text_.c_str() + pos_, &end);
      if (end == text_.c_str() + pos_)
        return fail(std::string("a comparison with something other than a number"));
      pos_ = static_cast<size_t>(end - text_.c_str());
      // A rule compared with a number other than 0/1 is a count of its hits (tflags
      // multiple): this language's conditions hold or not.
      if (sum->kind == Kind::Rule && compare(1, op, n) != compare(2, op, n))
        return fail(fmt::format("a count of {}'s hits (tflags multiple) `{} {:g}`", sum->rule, op, n));
      MetaNode node = sum->kind == Kind::Sum && !sum->compared ? std::move(*sum) : node_of(Kind::Sum, {*sum});
      node.op = op;
      node.threshold = n;
      node.compared = true;
      return node;
    }
    return sum;
  }
  std::optional<MetaNode> primary() {
    skip_space();
    if (take("(")) {
      auto inner = disjunction();
      if (!inner) return std::nullopt;
      if (!take(")")) return fail("a parenthesis is not closed");
      return inner;
    }
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    if (start == pos_)
      return fail(start == text_.size() ? std::string("an empty meta or a missing term")
                                        : fmt::format("`{}` not understood", text_.substr(start)));
    const std::string word = text_.substr(start, pos_ - start);
    if (word.empty()) return fail("an empty meta");
    if (std::isdigit(static_cast<unsigned char>(word[0]))) {
      if (word == "0" || word == "1") return constant(word == "1");
      return fail("a number as a term of a meta (only sums of rules translate)");
    }
    return rule_named(word);
  }

  static bool has_pending_sum(const MetaNode& n) {
    if (n.kind == Kind::Sum && !n.compared) return true;
    return std::any_of(n.terms.begin(), n.terms.end(), has_pending_sum);
  }

  const std::string& text_;
  size_t pos_ = 0;
  std::string error_;
};

bool compare(double count, const std::string& op, double n) {
  return op == ">="   ? count >= n
         : op == "<=" ? count <= n
         : op == ">"  ? count > n
         : op == "<"  ? count < n
         : op == "==" ? count == n
                      : count != n;
}

bool is_constant(const MetaNode& n, bool value) {
  return n.kind == Kind::Constant && n.value == value;
}

// And/Or: constants absorb or vanish.
MetaNode fold_junction(MetaNode node) {
  const bool absorbing = node.kind == Kind::Or;  // true absorbs an or, false an and
  std::vector<MetaNode> kept;
  for (MetaNode& t : node.terms) {
    if (is_constant(t, absorbing)) return constant(absorbing);
    if (!is_constant(t, !absorbing)) kept.push_back(std::move(t));
  }
  if (kept.empty()) return constant(!absorbing);
  if (kept.size() == 1) return std::move(kept[0]);
  node.terms = std::move(kept);
  return node;
}

// A sum: its constant terms move into the threshold; a comparison that every count
// (or none) satisfies is constant; one term left is that term or its negation.
MetaNode fold_sum(MetaNode node) {
  std::vector<MetaNode> kept;
  for (MetaNode& t : node.terms) {
    if (t.kind == Kind::Constant)
      node.threshold -= t.value ? 1 : 0;
    else
      kept.push_back(std::move(t));
  }
  int holds = 0;
  for (size_t count = 0; count <= kept.size(); ++count)
    holds += compare(static_cast<double>(count), node.op, node.threshold);
  if (holds == 0 || holds == static_cast<int>(kept.size()) + 1) return constant(holds != 0);
  if (kept.size() == 1) {
    const bool when_held = compare(1, node.op, node.threshold);
    return when_held ? std::move(kept[0]) : node_of(Kind::Not, {std::move(kept[0])});
  }
  node.terms = std::move(kept);
  return node;
}

std::string wrapped(const MetaNode& n) {
  const std::string text = meta_condition(n);
  return n.kind == Kind::Rule || n.kind == Kind::Constant ? text : "(" + text + ")";
}

}  // namespace

std::variant<MetaNode, std::string> parse_meta(const std::string& expression) {
  return Parser(expression).parse();
}

std::vector<std::string> meta_rules(const MetaNode& node) {
  std::vector<std::string> out;
  if (node.kind == Kind::Rule) out.push_back(node.rule);
  for (const MetaNode& t : node.terms) {
    for (std::string& r : meta_rules(t)) {
      if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(std::move(r));
    }
  }
  return out;
}

MetaNode fold_meta(MetaNode node, const std::function<std::optional<bool>(const std::string&)>& known) {
  if (node.kind == Kind::Rule) {
    auto value = known(node.rule);
    return value ? constant(*value) : node;
  }
  for (MetaNode& t : node.terms) t = fold_meta(std::move(t), known);
  switch (node.kind) {
    case Kind::Not:
      if (node.terms[0].kind == Kind::Constant) return constant(!node.terms[0].value);
      return node;
    case Kind::And:
    case Kind::Or: return fold_junction(std::move(node));
    case Kind::Sum: return fold_sum(std::move(node));
    default: return node;
  }
}

std::string meta_condition(const MetaNode& n) {
  std::string out;
  switch (n.kind) {
    case Kind::Rule: return n.rule;
    case Kind::Constant: return n.value ? "true" : "false";
    case Kind::Not: return "not " + wrapped(n.terms[0]);
    case Kind::And:
    case Kind::Or:
      for (const MetaNode& t : n.terms) {
        const bool group =
            t.kind == Kind::Or || (t.kind == Kind::And && n.kind == Kind::Or) || t.kind == Kind::Sum;
        out += (out.empty()           ? ""
                : n.kind == Kind::And ? " and "
                                      : " or ") +
               (group ? "(" + meta_condition(t) + ")" : meta_condition(t));
      }
      return out;
    case Kind::Sum:
      for (const MetaNode& t : n.terms) out += (out.empty() ? "" : " + ") + wrapped(t);
      return fmt::format("({}) {} {:g}", out, n.op, n.threshold);
  }
  return out;
}

}  // namespace mp::importer
