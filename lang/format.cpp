// The formatter: walks the parse tree for the structure (items, stage blocks, rules,
// settings, conditions, actions) and re-emits the original tokens with canonical
// spacing, indentation and line breaks. Comments ride along with the token they
// follow; blank lines between items are kept (one at most).
#include "lang/format.h"

#include "PolicyLexer.h"
#include "lang/parse_session.h"

namespace mp::lang {

namespace {

using P = PolicyParser;
using antlr4::Token;

constexpr int kIndent = 2;

class Formatter {
 public:
  explicit Formatter(antlr4::CommonTokenStream& stream) : tokens_(stream.getTokens()) {}

  std::string format(P::PolicyFileContext* tree) {
    for (auto* item : tree->item()) {
      leading_comments(item->getStart()->getTokenIndex(), 0);
      emit_item(item);
    }
    leading_comments(tree->getStop()->getTokenIndex(), 0);  // comments before EOF
    if (!out_.empty() && out_.back() != '\n') out_ += '\n';
    return out_;
  }

 private:
  // Layout of items ------------------------------------------------------------

  void emit_item(P::ItemContext* item) {
    if (auto* s = item->settingsBlock()) return emit_settings(s);
    if (auto* s = item->stageBlock()) return emit_stage(s);
    if (auto* r = item->bareRule()) return emit_rule_body(r->IF(), r->condition(), r->THEN(), r->actions(), 0);
    P::ConditionContext* condition = item->defDecl()      ? item->defDecl()->condition()
                                     : item->assertDecl() ? item->assertDecl()->condition()
                                                          : nullptr;
    if (condition) {  // a def or an assert: the condition breaks as a rule's does
      start_line(0);
      emit_range(item->getStart()->getTokenIndex(), condition->getStart()->getTokenIndex() - 1, 0);
      emit_condition(condition, 0, current_column());
      return end_line();
    }
    start_line(0);
    emit_range(item->getStart()->getTokenIndex(), item->getStop()->getTokenIndex(), kIndent);
    end_line();
  }

  void emit_settings(P::SettingsBlockContext* s) {
    start_line(0);
    size_t settings = s->getStart()->getTokenIndex();
    emit_range(settings, next_default(settings + 1), kIndent);  // settings {
    end_line();
    for (auto* setting : s->setting()) {
      leading_comments(setting->getStart()->getTokenIndex(), kIndent);
      start_line(kIndent);
      emit_range(setting->getStart()->getTokenIndex(), setting->getStop()->getTokenIndex(), 2 * kIndent);
      end_line();
    }
    close_brace(s->getStop()->getTokenIndex(), 0);
  }

  void emit_stage(P::StageBlockContext* s) {
    start_line(0);
    size_t open = s->name()->getStop()->getTokenIndex() + 1;
    emit_range(s->getStart()->getTokenIndex(), next_default(open), kIndent);  // stage NAME {
    end_line();
    for (auto* rule : s->ruleDecl()) {
      leading_comments(rule->getStart()->getTokenIndex(), kIndent);
      start_line(kIndent);
      emit_range(rule->getStart()->getTokenIndex(), rule->IF()->getSymbol()->getTokenIndex() - 1, 2 * kIndent);
      end_line();
      emit_rule_body(rule->IF(), rule->condition(), rule->THEN(), rule->actions(), 2 * kIndent);
    }
    close_brace(s->getStop()->getTokenIndex(), 0);
  }

  void close_brace(size_t brace, int indent) {
    leading_comments(brace, indent + kIndent);
    start_line(indent);
    emit_range(brace, brace, indent);
    end_line();
  }

  // `if COND then ACTIONS`: one line when it fits, else `then …` on a line of its own,
  // and a long condition broken before its top-level `and`/`or`.
  // Every token and comment from `if` to the last action is emitted exactly once:
  // [if … condition start), the condition and the comments after it, [then … last action].
  void emit_rule_body(antlr4::tree::TerminalNode* if_node, P::ConditionContext* condition,
                      antlr4::tree::TerminalNode* then_node, P::ActionsContext* actions, int indent) {
    size_t if_token = if_node->getSymbol()->getTokenIndex();
    size_t then_token = then_node->getSymbol()->getTokenIndex();
    size_t last = actions->getStop()->getTokenIndex();
    start_line(indent);
    bool one_line = !has_comment(if_token, last) && indent + flat_width(if_token, last) <= kFormatWidth;
    if (one_line) {
      emit_range(if_token, last, indent + kIndent);
      return end_line();
    }
    emit_range(if_token, condition->getStart()->getTokenIndex() - 1, indent + kIndent);
    emit_condition(condition, indent, current_column());
    emit_range(condition->getStop()->getTokenIndex() + 1, then_token - 1, indent + kIndent);  // comments
    end_line();
    start_line(indent);
    emit_range(then_token, last, indent + kIndent);
    end_line();
  }

  void emit_condition(P::ConditionContext* condition, int indent, size_t column) {
    size_t first = condition->getStart()->getTokenIndex();
    size_t last = condition->getStop()->getTokenIndex();
    if (!has_comment(first, last) && column + 1 + flat_width(first, last) <= kFormatWidth) {
      return emit_range(first, last, indent + kIndent);
    }
    // Break before each `and`/`or` outside parentheses.
    int depth = 0;
    size_t from = first;
    for (size_t i = first; i <= last; ++i) {
      const std::string text = tokens_[i]->getText();
      if (text == "(" || text == "[") ++depth;
      if (text == ")" || text == "]") --depth;
      bool junction = depth == 0 && i > first && is_default(i) &&
                      (tokens_[i]->getType() == PolicyLexer::AND || tokens_[i]->getType() == PolicyLexer::OR);
      if (!junction) continue;
      emit_range(from, i - 1, indent + 2 * kIndent);
      end_line();
      start_line(indent + kIndent);
      from = i;
    }
    emit_range(from, last, indent + 2 * kIndent);
  }

  // Tokens and spacing ------------------------------------------------------------

  // Emits the default-channel tokens in [first, last] on the current line, with the
  // comments among them; a comment ends the line and the next token continues at
  // `continuation` indentation.
  void emit_range(size_t first, size_t last, int continuation) {
    for (size_t i = first; i <= last && i < tokens_.size(); ++i) {
      Token* t = tokens_[i];
      if (t->getType() == Token::EOF) break;
      if (!is_default(i)) {
        if (t->getType() == PolicyLexer::COMMENT) emit_comment(i, continuation);
        continue;
      }
      if (pending_newline_) {
        end_line();
        start_line(continuation);
      }
      if (!line_empty_ && needs_space(last_token_, i)) out_ += ' ';
      out_ += t->getText();
      line_empty_ = false;
      last_token_ = i;
    }
  }

  void emit_comment(size_t i, int indent) {
    Token* c = tokens_[i];
    bool trailing = !line_empty_ && last_token_ != kNone && tokens_[last_token_]->getLine() == c->getLine();
    if (!trailing && !line_empty_) {
      end_line();
      start_line(indent);
    }
    out_ += (trailing ? "  " : "") + c->getText();
    line_empty_ = false;
    pending_newline_ = true;
    last_comment_line_ = c->getLine();
  }

  // Comments between the last emitted token and `next` (standalone, or trailing on the
  // previous line), and one blank line where the author left any.
  void leading_comments(size_t next, int indent) {
    size_t line_before = last_line();
    size_t from = last_token_ == kNone ? 0 : last_token_ + 1;
    for (size_t i = from; i < next && i < tokens_.size(); ++i) {
      if (tokens_[i]->getType() != PolicyLexer::COMMENT) continue;
      bool trailing = line_before != 0 && tokens_[i]->getLine() == line_before && last_token_ != kNone &&
                      tokens_[last_token_]->getLine() == line_before;
      if (trailing) {
        trim_final_newline();
        out_ += "  " + tokens_[i]->getText() + "\n";
        last_comment_line_ = tokens_[i]->getLine();
        continue;
      }
      blank_line_if_gap(line_before, tokens_[i]->getLine());
      out_ += std::string(indent, ' ') + tokens_[i]->getText() + "\n";
      line_before = tokens_[i]->getLine();
      last_comment_line_ = line_before;
    }
    if (next < tokens_.size() && tokens_[next]->getType() != Token::EOF) {
      blank_line_if_gap(line_before, tokens_[next]->getLine());
    }
  }

  void blank_line_if_gap(size_t previous_line, size_t next_line) {
    if (previous_line != 0 && next_line > previous_line + 1 && !out_.ends_with("\n\n") && !out_.empty()) {
      out_ += '\n';
    }
  }

  size_t last_line() const {
    size_t token_line = last_token_ == kNone ? 0 : tokens_[last_token_]->getLine();
    return std::max(token_line, last_comment_line_);
  }

  bool needs_space(size_t previous, size_t current) const {
    const std::string a = tokens_[previous]->getText();
    const std::string b = tokens_[current]->getText();
    int a_type = static_cast<int>(tokens_[previous]->getType());
    if (b == ")" || b == "]" || b == "," || b == ":" || b == "." || a == "(" || a == "[" || a == ".") return false;
    // A sign sticks to its number (`score +1`); a `+` between conditions does not.
    if ((a_type == PolicyLexer::PLUS || a_type == PolicyLexer::MINUS) &&
        tokens_[current]->getType() == PolicyLexer::NUMBER)
      return false;
    if (b == "(") return space_before_paren(previous);
    return true;
  }

  // `count(`, `file(`, `country(` are calls; `any attachment (`, `rule x (` and
  // `count(attachments (` are not.
  bool space_before_paren(size_t previous) const {
    int type = static_cast<int>(tokens_[previous]->getType());
    if (type == PolicyLexer::COUNT || type == PolicyLexer::FILE) return false;
    if (type != PolicyLexer::IDENT) return true;
    size_t before = previous_default(previous);
    if (before == kNone) return false;
    int before_type = static_cast<int>(tokens_[before]->getType());
    bool collection = before_type == PolicyLexer::ANY || before_type == PolicyLexer::ALL ||
                      before_type == PolicyLexer::RULE ||
                      (tokens_[before]->getText() == "(" && previous_default(before) != kNone &&
                       tokens_[previous_default(before)]->getType() == PolicyLexer::COUNT);
    return collection;
  }

  size_t flat_width(size_t first, size_t last) const {
    size_t width = 0;
    size_t previous = kNone;
    for (size_t i = first; i <= last; ++i) {
      if (!is_default(i)) continue;
      if (previous != kNone && needs_space(previous, i)) ++width;
      width += tokens_[i]->getText().size();
      previous = i;
    }
    return width;
  }

  bool has_comment(size_t first, size_t last) const {
    for (size_t i = first; i <= last; ++i) {
      if (tokens_[i]->getType() == PolicyLexer::COMMENT) return true;
    }
    return false;
  }

  bool is_default(size_t i) const { return tokens_[i]->getChannel() == Token::DEFAULT_CHANNEL; }
  size_t next_default(size_t i) const {
    while (i < tokens_.size() && !is_default(i)) ++i;
    return i;
  }
  size_t previous_default(size_t i) const {
    while (i-- > 0) {
      if (is_default(i)) return i;
    }
    return kNone;
  }

  // Lines ----------------------------------------------------------------------------

  void start_line(int indent) {
    out_ += std::string(indent, ' ');
    line_start_ = out_.size() - indent;
    line_empty_ = true;
    pending_newline_ = false;
  }
  void end_line() {
    out_ += '\n';
    line_empty_ = true;
    pending_newline_ = false;
  }
  void trim_final_newline() {
    if (out_.ends_with("\n")) out_.pop_back();
  }
  size_t current_column() const { return out_.size() - line_start_; }

  static constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<Token*> tokens_;
  std::string out_;
  size_t line_start_ = 0;
  bool line_empty_ = true;
  bool pending_newline_ = false;
  size_t last_token_ = kNone;
  size_t last_comment_line_ = 0;
};

}  // namespace

std::optional<std::string> format_policy(const SourceMap& sources, FileId file, Diagnostics& diagnostics) {
  std::optional<std::string> out;
  with_parse_tree(sources, file, diagnostics,
                  [&](P::PolicyFileContext* tree, antlr4::CommonTokenStream& tokens, const OffsetMap&) {
                    out = Formatter(tokens).format(tree);
                  });
  return out;
}

}  // namespace mp::lang
