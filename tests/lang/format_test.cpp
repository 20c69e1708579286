// The formatter: canonical, idempotent, keeps every token and comment, and a
// formatted policy compiles to the same rules.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "compiler/compiler.h"
#include "lang/format.h"
#include "runtime/message.h"
#include "vm/vm.h"

namespace mp::lang {
namespace {

std::optional<std::string> format_text(const std::string& text, const std::string& path = "f.mp") {
  SourceMap sources;
  FileId file = sources.add(path, text);
  Diagnostics diagnostics;
  return format_policy(sources, file, diagnostics);
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Everything but whitespace, in order: formatting may only move whitespace.
std::string without_whitespace(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

const char* kMessy =
    "# top comment\n\n\n"
    "const   a=[x.com,y.com]   # trailing\n"
    "stage   custom_filters{rule a(inbound,outbound):if(subject contains \"x\"or not size>10MB)and "
    "count(attachments(size>1MB))>=2 then score -1.5 \"r\",tag \"t\"\n"
    "# between rules\n"
    "rule b: if any url(domain ends with \".ru\") then reject \"550 5.7.1 no\"   # trailing b\n"
    "rule c: if from.domain in a\n  # a comment inside a condition\n  and subject contains \"y\" then allow\n"
    "}\n"
    "if sender is a@b.com then allow if header \"X-A\" contains \"b\" then discard\n"
    "settings{spam.threshold.quarantine=4 spam.threshold.reject=9}\n";

TEST(Format, MessyInputBecomesCanonical) {
  auto formatted = format_text(kMessy);
  ASSERT_TRUE(formatted);
  EXPECT_NE(formatted->find("stage custom_filters {\n  rule a (inbound, outbound):\n    if ("), std::string::npos)
      << *formatted;
  EXPECT_NE(formatted->find("then score -1.5 \"r\", tag \"t\""), std::string::npos) << *formatted;
  EXPECT_NE(formatted->find("count(attachments (size > 1MB)) >= 2"), std::string::npos) << *formatted;
  EXPECT_NE(formatted->find("any url (domain ends with \".ru\")"), std::string::npos) << *formatted;
  EXPECT_NE(formatted->find("settings {\n  spam.threshold.quarantine = 4\n  spam.threshold.reject = 9\n}"),
            std::string::npos)
      << *formatted;
  EXPECT_EQ(formatted->find("\n\n\n"), std::string::npos) << "at most one blank line";
}

TEST(Format, KeepsEveryTokenAndComment) {
  auto formatted = format_text(kMessy);
  ASSERT_TRUE(formatted);
  EXPECT_EQ(without_whitespace(*formatted), without_whitespace(kMessy));
  for (const char* comment : {"# top comment", "# trailing", "# between rules", "# trailing b",
                              "# a comment inside a condition"}) {
    EXPECT_NE(formatted->find(comment), std::string::npos) << comment;
  }
}

// Comments right after `if`, before `then` and after `then` used to take a keyword's
// place: every token must survive wherever a comment sits.
TEST(Format, CommentsAroundIfAndThenKeepEveryToken) {
  for (const char* source : {"if # c\n  subject contains \"a\" then tag \"y\"\n",
                             "if subject contains \"a\" then # c\n  tag \"y\"\n",
                             "if subject contains \"a\" # c\n  then tag \"y\"\n",
                             "stage s {\n  rule r: # a\n    if # b\n    subject contains \"a\" # c\n    then # d\n"
                             "    tag \"y\"\n}\n"}) {
    auto once = format_text(source);
    ASSERT_TRUE(once) << source;
    EXPECT_EQ(without_whitespace(*once), without_whitespace(source)) << *once;
    auto twice = format_text(*once);
    ASSERT_TRUE(twice) << *once;
    EXPECT_EQ(*once, *twice);
  }
}

TEST(Format, IsIdempotent) {
  auto once = format_text(kMessy);
  ASSERT_TRUE(once);
  auto twice = format_text(*once);
  ASSERT_TRUE(twice);
  EXPECT_EQ(*once, *twice);
}

// The examples and the stdlib modules: what users read and copy.
TEST(Format, ExamplesAreFormattedAndStable) {
  std::vector<std::filesystem::path> files;
  for (const char* dir : {MP_SOURCE_DIR "/examples", MP_SOURCE_DIR "/stdlib"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (entry.path().extension() == ".mp") files.push_back(entry.path());
    }
  }
  ASSERT_FALSE(files.empty());
  for (const auto& path : files) {
    std::string text = read(path);
    auto formatted = format_text(text, path.string());
    ASSERT_TRUE(formatted) << path;
    EXPECT_EQ(*formatted, text) << path << " is not formatted: run policyc fmt";
  }
}

TEST(Format, DocExamplesStayIdempotentAndKeepTokens) {
  std::regex block("```mp\n([\\s\\S]*?)```");
  for (const auto& entry : std::filesystem::directory_iterator(MP_SOURCE_DIR "/docs")) {
    if (entry.path().extension() != ".md") continue;
    std::string doc = read(entry.path());
    for (std::sregex_iterator it(doc.begin(), doc.end(), block), end; it != end; ++it) {
      std::string source = (*it)[1];
      auto once = format_text(source);
      ASSERT_TRUE(once) << entry.path() << ":\n" << source;
      EXPECT_EQ(without_whitespace(*once), without_whitespace(source)) << source;
      auto twice = format_text(*once);
      ASSERT_TRUE(twice);
      EXPECT_EQ(*once, *twice) << source;
    }
  }
}

TEST(Format, SyntaxErrorGivesDiagnosticsAndNoText) {
  SourceMap sources;
  FileId file = sources.add("bad.mp", "if subject contains \"x\" allow\n");
  Diagnostics diagnostics;
  EXPECT_FALSE(format_policy(sources, file, diagnostics));
  ASSERT_FALSE(diagnostics.items().empty());
  EXPECT_EQ(diagnostics.items()[0].code, "E001");
}

// Same verdicts before and after formatting, on the widget messages, from a
// deliberately messy copy of the example (list files next to it).
TEST(Format, FormattingDoesNotChangeVerdicts) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "mp_format_verdicts";
  std::filesystem::create_directories(dir);
  for (const char* list : {"execs.txt", "exec-names.txt"}) {
    std::filesystem::copy_file(std::filesystem::path(MP_SOURCE_DIR "/examples/widget") / list, dir / list,
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::string messy = std::regex_replace(read(MP_SOURCE_DIR "/examples/widget/policy.mp"), std::regex("\n  +"), "\n");
  messy = std::regex_replace(messy, std::regex(" = "), "=");
  auto formatted = format_text(messy);
  ASSERT_TRUE(formatted);
  auto load = [&](const std::string& text) {
    auto c = compiler::compile_source((dir / "policy.mp").string(), text);
    EXPECT_TRUE(c.ok());
    std::string image = vm::write_image(*c.image);
    return vm::Program::load({reinterpret_cast<const uint8_t*>(image.data()), image.size()});
  };
  vm::Evaluator before(load(messy)), after(load(*formatted));
  runtime::Envelope envelope;
  envelope.recipients = {"someone@widget.com"};
  envelope.client_ip = runtime::IpAddress::parse("192.0.2.7");
  size_t messages = 0;
  for (const auto& entry : std::filesystem::directory_iterator(MP_SOURCE_DIR "/examples/widget/mail")) {
    auto message = runtime::Message::parse(read(entry.path()));
    envelope.sender = message.from().empty() ? "" : message.from()[0].address;
    vm::Verdict a = before.evaluate(message, envelope), b = after.evaluate(message, envelope);
    EXPECT_EQ(a.action, b.action) << entry.path();
    EXPECT_EQ(a.stage_name, b.stage_name) << entry.path();
    EXPECT_EQ(a.score, b.score) << entry.path();
    EXPECT_EQ(a.tags, b.tags) << entry.path();
    ++messages;
  }
  EXPECT_GE(messages, 10u);
}

}  // namespace
}  // namespace mp::lang
