// The message limits as settings (mime.max_parts, header.max_fields,
// header.max_field_bytes, urls.max_count, regex.match_limit, regex.budget_ms): each at its edge (the message
// examined whole, no defect) and one past it (the defect the policy reads, and what lies past the limit not
// examined); the message is judged either way. The defaults, the range of each setting and the image round
// trip.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/vm/interpreter_test_util.h"

namespace mp::vm::interpreter_test {
namespace {

std::string with_headers(int extra) {
  std::string m = "From: a@example.org\nSubject: hi\n";
  for (int i = 0; i < extra; ++i) m += "X-Filler-" + std::to_string(i) + ": x\n";
  return m + "\nbody\n";
}

std::string with_parts(int leaves) {
  std::string m = "From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < leaves; ++i) m += "--b\nContent-Type: text/plain\n\npart " + std::to_string(i) + "\n";
  return m + "--b--\n";
}

std::string with_urls(int count) {
  std::string m = "From: a@example.org\nSubject: links\n\n";
  for (int i = 0; i < count; ++i) m += "http://site" + std::to_string(i) + ".example/\n";
  return m;
}

// Whether a policy with `setting` quarantines `message` for having `defect`.
bool defect(const std::string& setting, const std::string& defect, const std::string& message) {
  Policy p("settings {\n  " + setting + "\n}\nif message.defects contains " + defect +
           " then quarantine \"limit\"\n");
  return p.run(message).action == Action::Quarantine;
}

// Whether a policy with `setting` rejects `message` by a rule reading `condition`.
bool rejects(const std::string& setting, const std::string& condition, const std::string& message) {
  Policy p("settings {\n  " + setting + "\n}\nif " + condition + " then reject \"550 seen\"\n");
  return p.run(message).action == Action::Reject;
}

TEST(MessageLimits, HeaderFieldsAreExaminedToTheSetting) {
  // From, Subject and three fillers: five fields.
  EXPECT_FALSE(defect("header.max_fields = 5", "header_fields_exceeded", with_headers(3)));
  EXPECT_TRUE(defect("header.max_fields = 4", "header_fields_exceeded", with_headers(3)));
  // A field past the limit is not read by tests.
  EXPECT_FALSE(rejects("header.max_fields = 4", "header \"X-Filler-2\" is \"x\"", with_headers(3)));
  EXPECT_TRUE(rejects("header.max_fields = 5", "header \"X-Filler-2\" is \"x\"", with_headers(3)));
}

TEST(MessageLimits, AHeaderFieldIsReadToTheSetting) {
  // The Subject's value is 100 bytes; its body as received, with the space after the
  // colon, 101 (raw_header reads that).
  const std::string message = "From: a@example.org\nSubject: " + std::string(99, 'a') + "Z\n\nbody\n";
  EXPECT_FALSE(defect("header.max_field_bytes = 101", "header_field_too_long", message));
  EXPECT_TRUE(defect("header.max_field_bytes = 100", "header_field_too_long", message));
  // The test reads the start: the Z at byte 100 of the value is past a limit of 99.
  EXPECT_FALSE(rejects("header.max_field_bytes = 99", "subject contains \"Z\"", message));
  EXPECT_TRUE(rejects("header.max_field_bytes = 99", "subject starts with \"aaa\"", message));
}

TEST(MessageLimits, MimePartsAreExaminedToTheSetting) {
  // The multipart and its three leaves: four entities.
  EXPECT_FALSE(defect("mime.max_parts = 4", "mime_parts_exceeded", with_parts(3)));
  EXPECT_TRUE(defect("mime.max_parts = 3", "mime_parts_exceeded", with_parts(3)));
  EXPECT_FALSE(rejects("mime.max_parts = 3", "body contains \"part 2\"", with_parts(3)));
  EXPECT_TRUE(rejects("mime.max_parts = 3", "body contains \"part 1\"", with_parts(3)));
}

TEST(MessageLimits, UrlsAreTakenToTheSetting) {
  EXPECT_FALSE(defect("urls.max_count = 3", "urls_exceeded", with_urls(3)));
  EXPECT_TRUE(defect("urls.max_count = 2", "urls_exceeded", with_urls(3)));
  EXPECT_FALSE(rejects("urls.max_count = 2", "urls.domain is \"site2.example\"", with_urls(3)));
  EXPECT_TRUE(rejects("urls.max_count = 3", "urls.domain is \"site2.example\"", with_urls(3)));
}

// `count` a's and a "!" in the body: /^(a|aa)+$\n^/m, which PCRE2 alone runs (the
// embedded anchor keeps Hyperscan out), backtracks through about fib(count) steps
// before it fails at the "!": 28657 for 22, over a million for 31.
std::string backtracking(int count) {
  return "From: a@example.org\nSubject: s\n\n" + std::string(static_cast<size_t>(count), 'a') + "!\nmore\n";
}

// Whether a policy with `setting` quarantines `message` for regex_limit_exceeded: the
// rule reading message.defects comes before the one PCRE2 gives up on, and sees it
// all the same (the defect does not depend on which rules ran first).
bool regex_defect(const std::string& setting, const std::string& message) {
  Policy p("settings {\n  " + setting +
           "\n}\nstage s {\n  rule limit: if message.defects contains regex_limit_exceeded then quarantine "
           "\"limit\"\n  rule slow: if rawbody matches /^(a|aa)+$\\n^/m then tag \"slow\"\n}\n");
  for (const PatternInfo& pattern : p.program()->image().patterns) {
    if (pattern.field == FieldId::RawBody) {
      EXPECT_EQ(pattern.engine, Engine::Pcre2);
    }
  }
  return p.run(message).action == Action::Quarantine;
}

TEST(MessageLimits, RegexWorkIsLimitedToTheSetting) {
  EXPECT_FALSE(regex_defect("regex.match_limit = 100000", backtracking(22)));
  EXPECT_TRUE(regex_defect("regex.match_limit = 20000", backtracking(22)));
  EXPECT_FALSE(regex_defect("regex.match_limit = 1000000", backtracking(22)));
  // The default (a million) gives up on 31, a higher setting does not.
  EXPECT_TRUE(regex_defect("spam.threshold.reject = 15", backtracking(31)));
  EXPECT_FALSE(regex_defect("regex.match_limit = 100000000", backtracking(31)));
}

TEST(MessageLimits, RegexTimeIsLimitedToTheSetting) {
  // Each header costs PCRE2 its whole match limit (about 1.6 ms at the default): two
  // thousand of them would take seconds, a budget of 1 ms stops it at the first few.
  std::string message = "From: a@example.org\n";
  for (int i = 0; i < 2000; ++i)
    message += "X-H" + std::to_string(i) + ": ab ab ab ab ab ab ab ab ab ab ab ab c z\n";
  message += "\nbody\n";
  const std::string policy =
      "\n}\nif message.defects contains regex_limit_exceeded then quarantine \"limit\"\n"
      "if header matches /(\\w+\\s?)+\\1z/ then tag \"slow\"\n";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Policy("settings {\n  regex.budget_ms = 1" + policy).run(message).action, Action::Quarantine);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // A message with nothing to backtrack on spends nothing of the budget.
  EXPECT_EQ(Policy("settings {\n  regex.budget_ms = 1" + policy).run(with_headers(3)).action,
            Action::Deliver);
}

TEST(MessageLimits, TheDefaultsStandWithoutSettings) {
  const std::string none = "spam.threshold.reject = 15";
  EXPECT_FALSE(defect(none, "header_fields_exceeded", with_headers(998)));
  EXPECT_TRUE(defect(none, "header_fields_exceeded", with_headers(999)));
  EXPECT_FALSE(defect(none, "mime_parts_exceeded", with_parts(999)));
  EXPECT_TRUE(defect(none, "mime_parts_exceeded", with_parts(1000)));
  EXPECT_FALSE(defect(none, "urls_exceeded", with_urls(1000)));
  EXPECT_TRUE(defect(none, "urls_exceeded", with_urls(1001)));
  const std::string long_subject = "From: a@example.org\nSubject: " + std::string(102399, 'a');
  EXPECT_FALSE(defect(none, "header_field_too_long", long_subject + "\n\nbody\n"));
  EXPECT_TRUE(defect(none, "header_field_too_long", long_subject + "a\n\nbody\n"));
}

TEST(MessageLimits, ValuesOutsideTheirRangeAreDiagnosed) {
  for (const char* bad : {"mime.max_parts = 0", "mime.max_parts = 1000001", "header.max_fields = 2.5",
                          "header.max_field_bytes = 2GB", "urls.max_count = \"many\"", "urls.max_count = 0",
                          "regex.match_limit = 0", "regex.match_limit = 1000000001", "regex.budget_ms = 0",
                          "regex.budget_ms = 60001", "regex.budget_ms = 1.5"}) {
    compiler::Compilation c = compiler::compile_source("t.mp", std::string("settings {\n  ") + bad + "\n}\n");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.diagnostics.items().front().code, "E062") << bad;
  }
}

TEST(MessageLimits, SurviveTheImage) {
  compiler::Compilation c = compiler::compile_source(
      "t.mp",
      "settings {\n  mime.max_depth = 9\n  mime.max_parts = 7\n  header.max_fields = 11\n"
      "  header.max_field_bytes = 2KB\n  urls.max_count = 13\n  regex.match_limit = 5000\n"
      "  regex.budget_ms = 40\n}\n");
  ASSERT_TRUE(c.ok());
  std::string bytes = write_image(*c.image);
  ProgramPtr p = Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  const runtime::ParseOptions& o = p->parse_options();
  EXPECT_EQ(o.max_mime_depth, 9);
  EXPECT_EQ(o.max_mime_parts, 7u);
  EXPECT_EQ(o.max_header_fields, 11u);
  EXPECT_EQ(o.max_header_field_bytes, 2048u);
  EXPECT_EQ(o.max_urls, 13u);
  EXPECT_EQ(p->image().settings.regex_limits, (RegexLimits{.match_limit = 5000, .budget_ms = 40}));
}

}  // namespace
}  // namespace mp::vm::interpreter_test
