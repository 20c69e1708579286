// The ANTLR driver: checks the text is text, refuses hostile nesting before the
// recursive-descent parser can overflow the stack, runs the generated parser with a
// listener that turns ANTLR's errors into E001 diagnostics, then hands a clean parse
// tree to the AST builder.
#include <antlr4-runtime.h>

#include <fmt/format.h>

#include <algorithm>

#include "PolicyLexer.h"
#include "PolicyParser.h"
#include "lang/ast_builder.h"
#include "lang/lang.h"
#include "lang/parse_session.h"
#include "lang/syntax_hints.h"

namespace mp::lang {

namespace {

constexpr size_t kMaxSyntaxErrors = 20;

std::string describe_token(const antlr4::dfa::Vocabulary& vocabulary, size_t type) {
  if (type == antlr4::Token::EOF) return "end of file";
  std::string literal = vocabulary.getLiteralName(type);
  if (!literal.empty()) return "`" + literal.substr(1, literal.size() - 2) + "`";
  std::string symbolic = vocabulary.getSymbolicName(type);
  std::transform(symbolic.begin(), symbolic.end(), symbolic.begin(), ::tolower);
  if (symbolic == "ident") return "a name";
  if (symbolic == "ipv4" || symbolic == "ipv6") return "an IP address";
  return "a " + symbolic;
}

class SyntaxErrorListener : public antlr4::BaseErrorListener {
 public:
  SyntaxErrorListener(FileId file, const OffsetMap& offsets, Diagnostics& diagnostics)
      : file_(file), offsets_(offsets), diagnostics_(diagnostics) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t,
                   size_t, const std::string& antlr_message, std::exception_ptr) override {
    if (++count_ > kMaxSyntaxErrors) return;
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    if (parser == nullptr || offending == nullptr) {
      report_lexer_error(antlr_message, recognizer);
      return;
    }
    // One error per item: what the parser trips over next, until the next item,
    // is a consequence of the first error (a cascade), not a mistake of its own.
    if (offending->getTokenIndex() < resume_at_) return;
    resume_at_ = next_item(*parser->getTokenStream(), offending->getTokenIndex());
    Span span{file_, offsets_.byte(offending->getStartIndex()),
              offsets_.byte(offending->getStopIndex() + 1)};
    if (offending->getType() == antlr4::Token::EOF) span.end = span.begin;
    std::string found = offending->getType() == antlr4::Token::EOF
                            ? "end of file"
                            : "`" + offending->getText() + "`";
    std::string expected = expected_list(*parser);
    std::string label = expected.empty() ? "unexpected here" : "expected " + expected;
    diagnostics_.error("E001", "unexpected " + found, span, label, syntax_hint(*parser, offending));
  }

  size_t count() const { return count_; }

 private:
  void report_lexer_error(const std::string&, antlr4::Recognizer* recognizer) {
    auto* lexer = dynamic_cast<antlr4::Lexer*>(recognizer);
    size_t at = lexer ? lexer->tokenStartCharIndex : 0;
    Span span{file_, offsets_.byte(at), offsets_.byte(at + 1)};
    diagnostics_.error("E001", "unrecognised character", span, "not part of any token");
  }

  std::string expected_list(antlr4::Parser& parser) const {
    antlr4::misc::IntervalSet expected;
    try {
      expected = parser.getExpectedTokens();
    } catch (...) {
      return {};
    }
    std::vector<std::string> names;
    const bool name_expected = expected.contains(static_cast<size_t>(PolicyLexer::IDENT));
    for (size_t type : expected.toList()) {
      // assert's words are names everywhere else: "a name" covers them.
      bool soft = type == PolicyLexer::ASSERT || type == PolicyLexer::NEVER || type == PolicyLexer::WHEN;
      if (soft && name_expected) continue;
      names.push_back(describe_token(parser.getVocabulary(), type));
    }
    if (names.empty() || names.size() > 6) return {};
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) out += (i + 1 == names.size()) ? " or " : ", ";
      out += names[i];
    }
    return out;
  }

  // The index of the first token after `index` that starts an item or a rule: a
  // keyword that begins one, first on its line. Past the end when there is none.
  static size_t next_item(antlr4::TokenStream& tokens, size_t index) {
    static const std::vector<size_t> starts = {
        PolicyLexer::IF,  PolicyLexer::RULE,     PolicyLexer::STAGE,  PolicyLexer::LIST,  PolicyLexer::CONST,
        PolicyLexer::DEF, PolicyLexer::SETTINGS, PolicyLexer::IMPORT, PolicyLexer::ASSERT};
    size_t line = tokens.get(index)->getLine();
    for (size_t i = index + 1; i < tokens.size(); ++i) {
      antlr4::Token* t = tokens.get(i);
      if (t->getType() == antlr4::Token::EOF) break;
      bool first_on_line = t->getLine() > line;
      if (t->getChannel() == antlr4::Token::DEFAULT_CHANNEL) line = t->getLine();
      if (first_on_line && std::find(starts.begin(), starts.end(), t->getType()) != starts.end()) return i;
    }
    return tokens.size();
  }

  FileId file_;
  const OffsetMap& offsets_;
  Diagnostics& diagnostics_;
  size_t count_ = 0;
  size_t resume_at_ = 0;  // errors at earlier tokens are cascades (next_item)
};

// UTF-8 validity and no control characters but tab/CR/LF.
bool check_text(const SourceMap& sources, FileId file, Diagnostics& diagnostics) {
  const std::string& text = sources.file(file).text;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t length = utf8_sequence_length(text, i);
    bool valid = length > 0;
    if (valid && length == 1 && c < 0x20 && c != '\t' && c != '\n' && c != '\r') valid = false;
    if (valid && c == 0x7F) valid = false;
    if (!valid) {
      Span span{file, static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1)};
      diagnostics.error("E003", "the file is not UTF-8 policy text", span,
                        fmt::format("byte 0x{:02x} is not allowed here", c),
                        "policies are UTF-8 text; is this a compiled image or a binary file?");
      return false;
    }
    i += length;
  }
  return true;
}

// Parentheses, brackets and runs of `not` beyond kMaxNesting are refused up front:
// the generated parser recurses once per level.
bool check_nesting(antlr4::CommonTokenStream& tokens, FileId file, const OffsetMap& offsets,
                   Diagnostics& diagnostics) {
  int depth = 0;
  int not_run = 0;
  for (antlr4::Token* token : tokens.getTokens()) {
    std::string text = token->getText();
    if (text == "(" || text == "[") ++depth;
    if (text == ")" || text == "]") depth = std::max(0, depth - 1);
    not_run = token->getType() == PolicyLexer::NOT ? not_run + 1 : 0;
    if (depth > kMaxNesting || not_run > kMaxNesting) {
      Span span{file, offsets.byte(token->getStartIndex()),
                offsets.byte(token->getStopIndex() + 1)};
      diagnostics.error("E002", "condition nested more than " + std::to_string(kMaxNesting) +
                                    " levels deep",
                        span, "too deep here", "split the condition into named `def`s");
      return false;
    }
  }
  return true;
}

}  // namespace

bool with_parse_tree(const SourceMap& sources, FileId file, Diagnostics& diagnostics, const ParseTreeUser& use) {
  if (!check_text(sources, file, diagnostics)) return false;
  const std::string& text = sources.file(file).text;
  OffsetMap offsets(text);
  antlr4::ANTLRInputStream input(text);
  PolicyLexer lexer(&input);
  SyntaxErrorListener listener(file, offsets, diagnostics);
  lexer.removeErrorListeners();
  lexer.addErrorListener(&listener);
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();
  if (!check_nesting(tokens, file, offsets, diagnostics)) return false;

  // Two-stage parsing: the fast SLL prediction mode with bail-out first; only input
  // that SLL cannot decide (or that has errors) is parsed again in full LL mode,
  // which then reports the errors with recovery.
  PolicyParser parser(&tokens);
  parser.removeErrorListeners();
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
  PolicyParser::PolicyFileContext* tree = nullptr;
  try {
    tree = parser.policyFile();
  } catch (const antlr4::ParseCancellationException&) {
    tokens.seek(0);
    parser.reset();
    parser.addErrorListener(&listener);
    parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::LL);
    tree = parser.policyFile();
  }
  if (listener.count() > 0) return false;  // later stages need a clean tree
  use(tree, tokens, offsets);
  return true;
}

Policy parse(const SourceMap& sources, FileId file, Diagnostics& diagnostics) {
  Policy policy;
  policy.file = file;
  with_parse_tree(sources, file, diagnostics,
                  [&](PolicyParser::PolicyFileContext* tree, antlr4::CommonTokenStream&, const OffsetMap& offsets) {
                    policy = build_ast(tree, file, [&](size_t cp) { return offsets.byte(cp); }, diagnostics);
                  });
  return policy;
}

}  // namespace mp::lang
