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

namespace mp::lang {

namespace {

constexpr size_t kMaxSyntaxErrors = 20;

// ANTLR reports positions in code points; spans are in bytes.
class OffsetMap {
 public:
  explicit OffsetMap(std::string_view text) {
    for (uint32_t i = 0; i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) byte_of_.push_back(i);
    }
    byte_of_.push_back(static_cast<uint32_t>(text.size()));
  }
  uint32_t byte(size_t code_point) const {
    return byte_of_[std::min(code_point, byte_of_.size() - 1)];
  }

 private:
  std::vector<uint32_t> byte_of_;
};

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
    Span span{file_, offsets_.byte(offending->getStartIndex()),
              offsets_.byte(offending->getStopIndex() + 1)};
    if (offending->getType() == antlr4::Token::EOF) span.end = span.begin;
    std::string found = offending->getType() == antlr4::Token::EOF
                            ? "end of file"
                            : "`" + offending->getText() + "`";
    std::string expected = expected_list(*parser);
    std::string label = expected.empty() ? "unexpected here" : "expected " + expected;
    diagnostics_.error("E001", "unexpected " + found, span, label, hint_for(*parser, offending));
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
    for (size_t type : expected.toList()) {
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

  static std::string hint_for(antlr4::Parser&, antlr4::Token* offending) {
    static const std::vector<std::string> actions = {"allow", "reject", "quarantine",
                                                     "discard", "tempfail", "score", "tag"};
    if (std::find(actions.begin(), actions.end(), offending->getText()) != actions.end()) {
      return "a condition is followed by `then` and its actions: `if COND then allow`";
    }
    return {};
  }

  FileId file_;
  const OffsetMap& offsets_;
  Diagnostics& diagnostics_;
  size_t count_ = 0;
};

// UTF-8 validity and no control characters but tab/CR/LF.
bool check_text(const SourceMap& sources, FileId file, Diagnostics& diagnostics) {
  const std::string& text = sources.file(file).text;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    }
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

Policy parse(const SourceMap& sources, FileId file, Diagnostics& diagnostics) {
  Policy empty;
  empty.file = file;
  if (!check_text(sources, file, diagnostics)) return empty;

  const std::string& text = sources.file(file).text;
  OffsetMap offsets(text);
  antlr4::ANTLRInputStream input(text);
  PolicyLexer lexer(&input);
  SyntaxErrorListener listener(file, offsets, diagnostics);
  lexer.removeErrorListeners();
  lexer.addErrorListener(&listener);
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();
  if (!check_nesting(tokens, file, offsets, diagnostics)) return empty;

  PolicyParser parser(&tokens);
  parser.removeErrorListeners();
  parser.addErrorListener(&listener);
  PolicyParser::PolicyFileContext* tree = parser.policyFile();
  if (listener.count() > 0) return empty;  // semantic analysis needs a clean tree
  return build_ast(tree, file, [&](size_t cp) { return offsets.byte(cp); }, diagnostics);
}

}  // namespace mp::lang
