// Parse tree → AST. Runs only on a tree without syntax errors, so every child the
// grammar requires is present. `and`/`or` chains are flattened iteratively into
// n-ary nodes (the parse tree of a long chain is deep; the AST is not).
#include "lang/ast_builder.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <map>

#include "lang/lang.h"

namespace mp::lang {

bool unescape_string(std::string_view body, std::string& out) {
  out.clear();
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    if (++i == body.size()) return false;
    switch (body[i]) {
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      default: return false;
    }
  }
  return true;
}

namespace {

using P = PolicyParser;

class AstBuilder {
 public:
  AstBuilder(FileId file, const ByteOffsetFn& offsets, Diagnostics& diagnostics)
      : file_(file), offsets_(offsets), diagnostics_(diagnostics) {}

  Policy build(P::PolicyFileContext* tree) {
    policy_.file = file_;
    for (auto* item : tree->item()) add_item(item);
    return std::move(policy_);
  }

 private:
  Span span(antlr4::ParserRuleContext* ctx) const {
    return Span{file_, offsets_(ctx->getStart()->getStartIndex()),
                offsets_(ctx->getStop()->getStopIndex() + 1)};
  }
  Span span(antlr4::tree::TerminalNode* node) const {
    auto* t = node->getSymbol();
    return Span{file_, offsets_(t->getStartIndex()), offsets_(t->getStopIndex() + 1)};
  }
  static Span join(Span a, Span b) { return Span{a.file, a.begin, b.end}; }

  void add_item(P::ItemContext* item) {
    if (auto* c = item->importDecl()) {
      policy_.imports.push_back({c->path()->getText(), span(c->path())});
    } else if (auto* c = item->constDecl()) {
      policy_.consts.push_back({c->name()->getText(), span(c->name()), literal(c->value())});
    } else if (auto* c = item->listDecl()) {
      add_list(c);
    } else if (auto* c = item->defDecl()) {
      policy_.defs.push_back({c->name()->getText(), span(c->name()), condition(c->condition())});
    } else if (auto* c = item->settingsBlock()) {
      for (auto* s : c->setting()) add_setting(s);
    } else if (auto* c = item->optionDecl()) {
      add_option(c);
    } else if (auto* c = item->disableDecl()) {
      policy_.adjustments.push_back(
          {RuleAdjustment::Kind::Disable, c->path()->getText(), span(c->path()), 0});
    } else if (auto* c = item->rescoreDecl()) {
      const double score = number(c->NUMBER()) * (c->MINUS() ? -1 : 1);
      policy_.adjustments.push_back(
          {RuleAdjustment::Kind::Rescore, c->path()->getText(), span(c->path()), score});
    } else if (auto* c = item->stageBlock()) {
      Stage& stage = stage_named(c->name()->getText(), span(c->name()));
      for (auto* r : c->ruleDecl()) stage.rules.push_back(rule(r));
    } else if (auto* c = item->bareRule()) {
      add_bare_rule(c);
    } else if (auto* c = item->assertDecl()) {
      policy_.assertions.push_back({span(c), c->verdictWord()->getText(), span(c->verdictWord()),
                                    c->condition() ? condition(c->condition()) : nullptr});
    }
  }

  void add_list(P::ListDeclContext* c) {
    ListDecl list{c->name()->getText(), span(c->name()), false, {}, {}, {}};
    if (auto* f = c->fileSource()) {
      list.from_file = true;
      list.file_span = span(f->STRING());
      list.file = string_body(f->STRING());
    } else {
      list.literal = list_literal(c->listLiteral());
    }
    policy_.lists.push_back(std::move(list));
  }

  void add_bare_rule(P::BareRuleContext* c) {
    Span where = span(c);
    Rule r;
    auto line_number = c->getStart()->getLine();
    r.name = "line_" + std::to_string(line_number);
    // A second bare rule on the same line gets a suffix: line_3_2.
    if (int& seen = bare_rules_per_line_[line_number]; ++seen > 1) r.name += "_" + std::to_string(seen);
    r.name_span = span(c->IF());
    r.span = where;
    r.condition = condition(c->condition());
    r.actions = actions(c->actions());
    stage_named(kBareRuleStage, where).rules.push_back(std::move(r));
  }

  Stage& stage_named(const std::string& name, Span where) {
    for (auto& s : policy_.stages) {
      if (s.name == name) return s;
    }
    policy_.stages.push_back(Stage{name, where, {}});
    return policy_.stages.back();
  }

  Rule rule(P::RuleDeclContext* c) {
    Rule r;
    r.name = c->name()->getText();
    r.name_span = span(c->name());
    r.span = span(c);
    for (auto* s : c->scope()) {
      if (s->name()) {
        r.terms.push_back({s->name()->getText(), span(s->name()), literal(s->value())});
        continue;
      }
      r.directions.push_back(s->INBOUND()    ? Direction::Inbound
                             : s->OUTBOUND() ? Direction::Outbound
                                             : Direction::Internal);
    }
    r.condition = condition(c->condition());
    r.actions = actions(c->actions());
    return r;
  }

  std::vector<Action> actions(P::ActionsContext* c) {
    std::vector<Action> out;
    for (auto* a : c->action()) out.push_back(action(a));
    return out;
  }

  Action action(P::ActionContext* c) {
    Action a;
    a.span = span(c);
    auto take_text = [&](antlr4::tree::TerminalNode* s) {
      if (s) {
        a.text = string_body(s);
        a.has_text = true;
      }
    };
    auto take_name = [&](P::PathContext* p) {
      if (p) {
        a.text_name = p->getText();
        a.text_name_span = span(p);
        a.has_text = true;
      }
    };
    if (dynamic_cast<P::AllowActionContext*>(c)) {
      a.kind = ActionKind::Allow;
    } else if (auto* x = dynamic_cast<P::RejectActionContext*>(c)) {
      a.kind = ActionKind::Reject;
      take_text(x->STRING());
    } else if (auto* x = dynamic_cast<P::QuarantineActionContext*>(c)) {
      a.kind = ActionKind::Quarantine;
      take_text(x->STRING());
    } else if (dynamic_cast<P::DiscardActionContext*>(c)) {
      a.kind = ActionKind::Discard;
    } else if (auto* x = dynamic_cast<P::TempfailActionContext*>(c)) {
      a.kind = ActionKind::Tempfail;
      take_text(x->STRING());
    } else if (auto* x = dynamic_cast<P::ScoreActionContext*>(c)) {
      a.kind = ActionKind::Score;
      a.score = number(x->NUMBER()) * (x->MINUS() ? -1 : 1);
      take_text(x->STRING());
    } else if (auto* x = dynamic_cast<P::TagActionContext*>(c)) {
      a.kind = ActionKind::Tag;
      take_text(x->STRING());
      take_name(x->path());
    } else if (auto* x = dynamic_cast<P::BannerActionContext*>(c)) {
      a.kind = ActionKind::Banner;
      take_text(x->STRING());
      take_name(x->path());
    } else if (auto* x = dynamic_cast<P::RewriteUrlsActionContext*>(c)) {
      a.kind = ActionKind::RewriteUrls;
      if (x->name()->getText() != "urls") {
        diagnostics_.error("E061", "`rewrite` rewrites the message's links: write `rewrite urls`",
                           span(x->name()), "not `urls`",
                           "e.g. `rewrite urls \"https://check.example/?u={url}\"`");
      }
      take_text(x->STRING());
      take_name(x->path());
      if (x->value()) a.except = literal(x->value());
    } else if (auto* x = dynamic_cast<P::AddHeaderActionContext*>(c)) {
      a.kind = ActionKind::AddHeader;
      a.header = header_name(x->headerName());
      take_text(x->STRING());
      take_name(x->path());
    } else if (auto* x = dynamic_cast<P::RemoveHeaderActionContext*>(c)) {
      a.kind = ActionKind::RemoveHeader;
      a.header = header_name(x->headerName());
    } else if (auto* x = dynamic_cast<P::LogActionContext*>(c)) {
      a.kind = ActionKind::Log;
      take_text(x->STRING());
    }
    return a;
  }

  std::string header_name(P::HeaderNameContext* c) {
    return c->STRING() ? string_body(c->STRING()) : c->getText();
  }

  // Conditions -------------------------------------------------------------------

  std::shared_ptr<Condition> condition(P::ConditionContext* c) {
    auto node = std::make_shared<Condition>();
    node->span = span(c);
    if (auto* x = dynamic_cast<P::ParenCondContext*>(c)) return condition(x->condition());
    if (auto* x = dynamic_cast<P::SumCondContext*>(c)) {
      node->kind = CondKind::Sum;
      for (auto* term : x->condition()) node->children.push_back(condition(term));
      node->op = relation(x->relOp()->getText());
      node->op_span = span(x->relOp());
      node->rhs = operand(x->operand());
      return node;
    }
    if (auto* x = dynamic_cast<P::NotCondContext*>(c)) {
      node->kind = CondKind::Not;
      node->children.push_back(condition(x->condition()));
    } else if (dynamic_cast<P::AndCondContext*>(c) || dynamic_cast<P::OrCondContext*>(c)) {
      flatten_chain(c, *node);
    } else if (auto* x = dynamic_cast<P::QuantCondContext*>(c)) {
      node->kind = CondKind::Quantified;
      node->quantifier = x->quantifier()->ANY() ? Quantifier::Any : Quantifier::All;
      node->collection = x->name()->getText();
      node->collection_span = span(x->name());
      node->children.push_back(condition(x->condition()));
    } else if (auto* x = dynamic_cast<P::CompareCondContext*>(c)) {
      auto* op = x->compareOp();
      node->op = op->CONTAINS() ? CompareOp::Contains
                 : op->STARTS() ? CompareOp::StartsWith
                                : CompareOp::EndsWith;
      fill_compare(*node, x->operand(0), x->operand(1), span(op), x->NOT(), x->NOCASE());
    } else if (auto* x = dynamic_cast<P::IsCondContext*>(c)) {
      node->op = CompareOp::Is;
      fill_compare(*node, x->operand(0), x->operand(1), span(x->IS()), x->NOT(), x->NOCASE());
    } else if (auto* x = dynamic_cast<P::InCondContext*>(c)) {
      node->op = CompareOp::In;
      fill_compare(*node, x->operand(0), x->operand(1), span(x->IN()), x->NOT(), x->NOCASE());
    } else if (auto* x = dynamic_cast<P::ResemblesCondContext*>(c)) {
      node->op = CompareOp::Resembles;
      fill_compare(*node, x->operand(0), x->operand(1), span(x->RESEMBLES()), x->NOT(), nullptr);
    } else if (auto* x = dynamic_cast<P::MatchCondContext*>(c)) {
      node->kind = CondKind::Compare;
      node->op = CompareOp::Matches;
      node->lhs = operand(x->operand());
      node->negated = x->NOT() != nullptr;
      node->op_span = span(x->MATCHES());
      if (x->NOT() != nullptr && span(x->NOT()).begin < node->op_span.begin) {
        node->op_span = join(span(x->NOT()), node->op_span);
      }
      split_regex(x->REGEX()->getText(), *node);
      node->rhs.kind = OperandKind::Literal;
      node->rhs.span = span(x->REGEX());
      node->rhs.literal = Literal{LiteralKind::Regex, node->rhs.span, node->regex, 0, {}};
    } else if (auto* x = dynamic_cast<P::RelCondContext*>(c)) {
      check_text_equality(x);
      node->op = relation(x->relOp()->getText());
      fill_compare(*node, x->operand(0), x->operand(1), span(x->relOp()), nullptr, nullptr);
    } else if (auto* x = dynamic_cast<P::BoolCondContext*>(c)) {
      if (is_string_literal(x->operand())) {
        diagnostics_.error("E010", "a string is not a condition by itself", span(c), "no field before it",
                           "a test names a field first: `subject contains \"invoice\"`");
      }
      node->kind = CondKind::Bool;
      node->lhs = operand(x->operand());
    }
    return node;
  }

  // Walks down the left spine of a same-operator chain without recursion.
  void flatten_chain(P::ConditionContext* c, Condition& node) {
    bool is_and = dynamic_cast<P::AndCondContext*>(c) != nullptr;
    node.kind = is_and ? CondKind::And : CondKind::Or;
    std::vector<P::ConditionContext*> right_operands;
    P::ConditionContext* cursor = c;
    while (true) {
      auto* as_and = dynamic_cast<P::AndCondContext*>(cursor);
      auto* as_or = dynamic_cast<P::OrCondContext*>(cursor);
      if (is_and ? as_and == nullptr : as_or == nullptr) break;
      right_operands.push_back(is_and ? as_and->condition(1) : as_or->condition(1));
      cursor = is_and ? as_and->condition(0) : as_or->condition(0);
    }
    std::vector<P::ConditionContext*> operands = {cursor};
    operands.insert(operands.end(), right_operands.rbegin(), right_operands.rend());
    for (size_t i = 1; i < operands.size(); ++i)
      check_missing_field(operands[i - 1], operands[i], is_and ? "and" : "or");
    for (auto* operand : operands) node.children.push_back(condition(operand));
  }

  // Source text of [from, to), as written.
  static std::string source_text(antlr4::Token* from, antlr4::Token* to) {
    return from->getInputStream()->getText(
        antlr4::misc::Interval(from->getStartIndex(), to->getStartIndex() - 1));
  }

  static bool is_string_literal(P::OperandContext* o) {
    auto* v = dynamic_cast<P::ValueOperandContext*>(o);
    return v != nullptr && dynamic_cast<P::StringValueContext*>(v->value()) != nullptr;
  }

  // `subject contains "a" or "b"`: the second test lost its field. Says how to write
  // it, from the test before it; condition() reports a lone string otherwise.
  void check_missing_field(P::ConditionContext* before, P::ConditionContext* c, const char* word) {
    auto* lone = dynamic_cast<P::BoolCondContext*>(c);
    auto* test = dynamic_cast<P::CompareCondContext*>(before);
    if (lone == nullptr || test == nullptr || !is_string_literal(lone->operand())) return;
    std::string field_and_test = source_text(test->getStart(), test->operand(1)->getStart());
    diagnostics_.error(
        "E010", "a string is not a condition by itself", span(c), "no field before it",
        fmt::format("repeat the field and the test after `{}`: `{}{} {} {}{}`", word, field_and_test,
                    test->operand(1)->getText(), word, field_and_test, c->getText()));
  }

  // `subject == "x"`: `==` and `!=` compare numbers; text is compared with `is`.
  void check_text_equality(P::RelCondContext* x) {
    std::string op = x->relOp()->getText();
    auto* v = dynamic_cast<P::ValueOperandContext*>(x->operand(1));
    if ((op != "==" && op != "!=") || v == nullptr) return;
    antlr4::ParserRuleContext* value = v->value();
    bool text = dynamic_cast<P::StringValueContext*>(value) || dynamic_cast<P::AddressValueContext*>(value) ||
                dynamic_cast<P::Ipv4ValueContext*>(value) || dynamic_cast<P::Ipv6ValueContext*>(value) ||
                dynamic_cast<P::ListValueContext*>(value);
    if (!text) return;
    std::string is = op == "==" ? "is" : "is not";
    diagnostics_.error("E020", "`" + op + "` compares numbers", span(x->relOp()), "not for text",
                       fmt::format("compare text, addresses and domains with `{}`: `{} {} {}`", is,
                                   x->operand(0)->getText(), is, v->getText()));
  }

  static CompareOp relation(const std::string& text) {
    if (text == "<") return CompareOp::Lt;
    if (text == "<=") return CompareOp::Le;
    if (text == ">") return CompareOp::Gt;
    if (text == ">=") return CompareOp::Ge;
    if (text == "==") return CompareOp::Eq;
    return CompareOp::Ne;
  }

  void fill_compare(Condition& node, P::OperandContext* lhs, P::OperandContext* rhs, Span op,
                    antlr4::tree::TerminalNode* negation, antlr4::tree::TerminalNode* nocase) {
    node.kind = CondKind::Compare;
    node.lhs = operand(lhs);
    node.rhs = operand(rhs);
    // `not in`, `not contains`: the operator as written includes its `not`, so that
    // traces and diagnostics quote the test the author wrote.
    if (negation != nullptr && span(negation).begin < op.begin) op = join(span(negation), op);
    node.op_span = op;
    node.negated = negation != nullptr;
    node.nocase = nocase != nullptr;
  }

  static void split_regex(const std::string& token, Condition& node) {
    size_t close = token.rfind('/');
    node.regex = token.substr(1, close - 1);
    node.regex_flags = token.substr(close + 1);
  }

  // Operands and literals ----------------------------------------------------------

  Operand operand(P::OperandContext* c) {
    Operand o;
    o.span = span(c);
    if (auto* x = dynamic_cast<P::HeaderOperandContext*>(c)) {
      o.kind = OperandKind::Header;
      o.header_name = string_body(x->STRING());
    } else if (dynamic_cast<P::AnyHeaderOperandContext*>(c)) {
      o.kind = OperandKind::AnyHeader;
    } else if (auto* x = dynamic_cast<P::CountOperandContext*>(c)) {
      o.kind = OperandKind::Count;
      o.name = x->name()->getText();
      o.name_span = span(x->name());
      if (x->condition()) o.count_filter = condition(x->condition());
    } else if (auto* x = dynamic_cast<P::CallOperandContext*>(c)) {
      o.kind = OperandKind::Call;
      o.name = x->name()->getText();
      o.name_span = span(x->name());
      for (auto* a : x->operand()) o.args.push_back(operand(a));
    } else if (auto* x = dynamic_cast<P::ValueOperandContext*>(c)) {
      o.kind = OperandKind::Literal;
      o.literal = literal(x->value());
    }
    return o;
  }

  void add_setting(P::SettingContext* s) {
    Setting setting{s->path()->getText(), span(s->path()), {}, false, {}, {}};
    if (auto* f = s->fileSource()) {
      setting.from_file = true;
      setting.file_span = span(f->STRING());
      setting.file = string_body(f->STRING());
      setting.value.span = setting.file_span;
    } else {
      setting.value = s->value() ? literal(s->value()) : action_word(s->actionWord());
    }
    policy_.settings.push_back(std::move(setting));
  }

  void add_option(P::OptionDeclContext* c) {
    OptionDecl option{c->path()->getText(), span(c->path()), {}, {}};
    option.value = c->value() ? literal(c->value()) : action_word(c->actionWord());
    for (auto* choice : c->optionChoice()) {
      option.choices.push_back(choice->value() ? literal(choice->value())
                                               : action_word(choice->actionWord()));
    }
    policy_.options.push_back(std::move(option));
  }

  // An action named as a value (facts.on_temperror = tempfail): a word.
  Literal action_word(P::ActionWordContext* c) {
    Literal word;
    word.kind = LiteralKind::Path;
    word.span = span(c);
    word.text = c->getText();
    return word;
  }

  Literal literal(P::ValueContext* c) {
    Literal l;
    l.span = span(c);
    l.text = c->getText();
    if (auto* x = dynamic_cast<P::StringValueContext*>(c)) {
      l.kind = LiteralKind::String;
      l.text = string_body(x->STRING());
    } else if (auto* x = dynamic_cast<P::NumberValueContext*>(c)) {
      l.kind = LiteralKind::Number;
      l.number = number(x->NUMBER()) * (x->MINUS() ? -1 : 1);
    } else if (dynamic_cast<P::SizeValueContext*>(c)) {
      l.kind = LiteralKind::Size;
      l.number = size_in_bytes(l.text, l.span);
    } else if (dynamic_cast<P::AddressValueContext*>(c)) {
      l.kind = LiteralKind::Address;
    } else if (dynamic_cast<P::Ipv4ValueContext*>(c) || dynamic_cast<P::Ipv6ValueContext*>(c)) {
      l.kind = LiteralKind::Ip;
    } else if (dynamic_cast<P::PathValueContext*>(c)) {
      l.kind = LiteralKind::Path;
    } else if (auto* x = dynamic_cast<P::ListValueContext*>(c)) {
      return list_literal(x->listLiteral());
    } else {
      l.kind = LiteralKind::Bool;
      l.number = dynamic_cast<P::TrueValueContext*>(c) ? 1 : 0;
    }
    return l;
  }

  Literal list_literal(P::ListLiteralContext* c) {
    Literal l{LiteralKind::List, span(c), c->getText(), 0, {}};
    for (auto* v : c->value()) l.items.push_back(literal(v));
    return l;
  }

  std::string string_body(antlr4::tree::TerminalNode* node) {
    std::string token = node->getText();
    std::string out;
    if (!unescape_string(std::string_view(token).substr(1, token.size() - 2), out)) {
      diagnostics_.error("E022", "invalid escape in string", span(node), "bad escape",
                         "escapes are \\\\, \\\", \\n, \\r and \\t");
    }
    return out;
  }

  static double number(antlr4::tree::TerminalNode* node) {
    std::string text = node->getText();
    double value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
  }

  double size_in_bytes(const std::string& text, Span where) {
    size_t unit_at = text.find_first_not_of("0123456789.");
    double value = 0;
    std::from_chars(text.data(), text.data() + unit_at, value);
    std::string unit = text.substr(unit_at);
    double scale = 1;
    if (unit == "KB" || unit == "kB" || unit == "K")
      scale = 1024;
    else if (unit == "MB" || unit == "M")
      scale = 1024.0 * 1024;
    else if (unit == "GB" || unit == "G")
      scale = 1024.0 * 1024 * 1024;
    else if (unit != "B")
      diagnostics_.error("E022", "unknown size unit", where, "here");
    return std::round(value * scale);
  }

  FileId file_;
  const ByteOffsetFn& offsets_;
  Diagnostics& diagnostics_;
  Policy policy_;
  std::map<size_t, int> bare_rules_per_line_;
};

}  // namespace

Policy build_ast(P::PolicyFileContext* tree, FileId file, const ByteOffsetFn& offsets,
                 Diagnostics& diagnostics) {
  return AstBuilder(file, offsets, diagnostics).build(tree);
}

}  // namespace mp::lang
