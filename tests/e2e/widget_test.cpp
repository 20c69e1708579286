// End-to-end tests of `policyc` on the widget.com example (examples/widget/): every
// message in mail/ is run through the built program with the envelope given in
// expected.txt, and the JSON verdict must carry the expected action and deciding
// rule. Also: a compiled image gives the same verdicts as the source, `check` accepts
// the example, unreadable inputs are reported per file without stopping the run, and
// a real ham corpus yields one well-formed verdict per message.
//
// expected.txt: one row per message, whitespace-separated, '#' starts a comment:
//   FILE  ACTION  RULE  [envelope flags passed to `policyc run` verbatim]
// FILE is relative to examples/widget/; FILE#N is the N-th message of an mbox file.
// RULE is `-` when no rule decided (plain delivery, or a verdict by score).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_util.h"
#include "tests/e2e/expected_table.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace mp::e2e;

const fs::path kPolicy = kExampleDir / "policy.mp";

const std::vector<Row>& table_rows() {
  static const std::vector<Row> rows = parse_table(kExampleDir / "expected.txt");
  return rows;
}

const Row* find_row(const std::string& file) {
  for (const auto& row : table_rows()) {
    if (row.file == file) return &row;
  }
  return nullptr;
}

std::string test_name(const testing::TestParamInfo<Row>& info) {
  std::string name = info.param.file;
  if (name.rfind("mail/", 0) == 0) name.erase(0, 5);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  // gtest names must be unique: a file listed twice gets its line number.
  int seen = 0;
  for (const auto& row : table_rows()) {
    if (row.file == info.param.file) ++seen;
  }
  if (seen > 1) name += "_line" + std::to_string(info.param.line);
  return name;
}

// Runs one table row as the table says and returns the JSON verdict of its message
// (null on failure, with the failure already recorded).
json verdict_of(const Row& row, const fs::path& policy = kPolicy) {
  std::vector<std::string> args = {"run", "--format", "json", policy.string(),
                                   (kExampleDir / row.path).string()};
  args.insert(args.end(), row.flags.begin(), row.flags.end());
  RunResult r = run_policyc(args);
  std::vector<std::string> lines = r.lines();
  EXPECT_EQ(r.status, 0) << describe(r);
  size_t wanted = row.index == 0 ? 1 : static_cast<size_t>(row.index);
  if (row.index == 0) {
    EXPECT_EQ(lines.size(), 1u) << "one message, one verdict line\n" << describe(r);
  }
  if (lines.size() < wanted) {
    ADD_FAILURE() << "no verdict line " << wanted << "\n" << describe(r);
    return nullptr;
  }
  json verdict = parse_json_line(lines[wanted - 1]);
  if (!verdict.is_object()) return nullptr;
  EXPECT_TRUE(verdict.contains("file") && verdict["file"].is_string() &&
              verdict["file"].get<std::string>().ends_with(row.file))
      << "verdict line " << wanted << " is not about " << row.file << ": " << lines[wanted - 1];
  return verdict;
}

// ---- The table ----------------------------------------------------------------

class WidgetExample : public testing::TestWithParam<Row> {};

TEST_P(WidgetExample, VerdictMatchesExpectedTxt) {
  const Row& row = GetParam();
  ASSERT_EQ(row.error, "") << "expected.txt:" << row.line;
  SCOPED_TRACE("expected.txt:" + std::to_string(row.line) + ": " + row.file);
  json v = verdict_of(row);
  ASSERT_TRUE(v.is_object());
  ASSERT_TRUE(v.contains("action")) << v.dump();
  EXPECT_EQ(v["action"], row.action) << v.dump();
  ASSERT_TRUE(v.contains("rule")) << v.dump();
  if (row.rule == "-") {
    EXPECT_TRUE(v["rule"].is_null()) << "no rule should decide; got " << v["rule"] << "\n" << v.dump();
    EXPECT_TRUE(v["stage"].is_null()) << v.dump();
  } else {
    EXPECT_EQ(v["rule"], row.rule) << v.dump();
    // The deciding rule is also the last rule that fired.
    ASSERT_TRUE(v["fired"].is_array() && !v["fired"].empty()) << v.dump();
    EXPECT_EQ(v["fired"].back()["rule"], row.rule) << v.dump();
  }
  for (const char* key : {"score", "direction", "fired", "tags", "contributions"}) {
    EXPECT_TRUE(v.contains(key)) << "verdict without `" << key << "`: " << v.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(ExpectedTxt, WidgetExample, testing::ValuesIn(table_rows()), test_name);

TEST(WidgetTable, IsWellFormedAndCoversEveryExampleMessage) {
  const auto& rows = table_rows();
  ASSERT_GE(rows.size(), 14u) << "expected.txt missing or nearly empty: " << (kExampleDir / "expected.txt");
  std::set<std::string> listed;
  for (const auto& row : rows) {
    EXPECT_EQ(row.error, "") << "expected.txt:" << row.line << ": " << row.file;
    EXPECT_TRUE(fs::is_regular_file(kExampleDir / row.path))
        << "expected.txt:" << row.line << ": no file " << row.path;
    listed.insert(row.path);
  }
  for (const auto& entry : fs::directory_iterator(kExampleDir / "mail")) {
    std::string relative = "mail/" + entry.path().filename().string();
    if (is_sidecar(entry.path())) continue;
    EXPECT_TRUE(listed.count(relative)) << relative << " has no row in expected.txt";
  }
}

// Details the table cannot say: scores, tags, directions, and rules that must not fire.
TEST(WidgetDetails, ScoresTagsAndDirections) {
  auto verdict = [](const std::string& file) -> json {
    const Row* row = find_row(file);
    if (row == nullptr) {
      ADD_FAILURE() << file << " is not in expected.txt";
      return json::object();
    }
    json v = verdict_of(*row);
    return v.is_object() ? v : json::object();
  };
  auto fired = [](const json& v) {
    std::set<std::string> names;
    for (const auto& f : v.value("fired", json::array())) names.insert(f.value("rule", ""));
    return names;
  };

  json scam = verdict("mail/invoice-scam.eml");
  EXPECT_DOUBLE_EQ(scam.value("score", -1.0), 6.5) << scam.dump();
  std::set<std::string> contributors;
  for (const auto& c : scam.value("contributions", json::array())) contributors.insert(c.value("rule", ""));
  EXPECT_EQ(contributors, (std::set<std::string>{"urgent_wire", "invoice_lure"})) << scam.dump();
  std::vector<std::string> scam_tags = scam.value("tags", std::vector<std::string>{});
  EXPECT_NE(std::find(scam_tags.begin(), scam_tags.end(), "[SUSPICIOUS]"), scam_tags.end()) << scam.dump();
  EXPECT_NE(std::find(scam_tags.begin(), scam_tags.end(), "[External]"), scam_tags.end()) << scam.dump();

  json ham = verdict("mail/plain-ham.eml");
  EXPECT_EQ(ham.value("tags", json::array()), json::array({"[External]"})) << ham.dump();
  EXPECT_EQ(ham.value("add_headers", json::array()),
            json::parse(R"([{"name":"X-Widget-External","value":"yes"}])"))
      << ham.dump();
  EXPECT_EQ(ham.value("score", -1.0), 0.0) << ham.dump();

  json outbound = verdict("mail/open-sesame-outbound.eml");
  EXPECT_EQ(outbound.value("direction", ""), "outbound") << outbound.dump();
  json inbound = verdict("mail/open-sesame-inbound.eml");
  EXPECT_EQ(inbound.value("direction", ""), "inbound") << inbound.dump();
  EXPECT_FALSE(fired(inbound).count("open_sesame")) << inbound.dump();

  json real = verdict("mail/exec-real.eml");
  EXPECT_EQ(real.value("direction", ""), "internal") << real.dump();
  EXPECT_TRUE(fired(real).empty()) << real.dump();

  // From our own domain but not through Office 365: exclaimer must not let it in, and
  // anti-spoofing (4) plus the "Urgent" subject (3) put it over the quarantine line.
  json spoof = verdict("mail/spoofed-own-domain.eml");
  EXPECT_FALSE(fired(spoof).count("exclaimer")) << spoof.dump();
  EXPECT_TRUE(fired(spoof).count("own_domain_from_outside")) << spoof.dump();
  EXPECT_EQ(spoof.value("direction", ""), "inbound") << spoof.dump();
  EXPECT_DOUBLE_EQ(spoof.value("score", -1.0), 7.0) << spoof.dump();

  // The encoded-word subject and the quoted-printable body decode to nothing alarming.
  json qp = verdict("mail/rfc2047-qp.eml");
  EXPECT_EQ(qp.value("score", -1.0), 0.0) << qp.dump();
}

// ---- Image, check, errors, corpus ---------------------------------------------

std::vector<std::string> example_messages() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(kExampleDir / "mail")) {
    if (entry.is_regular_file() && !is_sidecar(entry.path())) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// `--sender <a@b>` and `--rcpt <c@d>` as SMTP writes them are the addresses: before,
// the brackets stayed in (sender.domain read `widget.com>`), where the C API and
// .mptest took them off.
TEST(WidgetRun, AnEnvelopeAddressInAngleBracketsIsTheAddress) {
  const std::vector<std::string> messages = example_messages();
  ASSERT_FALSE(messages.empty());
  auto run_with = [&](const std::string& sender, const std::string& rcpt) {
    std::vector<std::string> args = {"run", "--format", "json", kPolicy.string()};
    args.insert(args.end(), messages.begin(), messages.end());
    for (const std::string& a : {std::string("--client-ip"), std::string("198.51.100.21"),
                                 std::string("--sender"), sender, std::string("--rcpt"), rcpt})
      args.push_back(a);
    return run_policyc(args);
  };
  RunResult bare = run_with("ceo@widget.com", "all-staff@widget.com");
  RunResult bracketed = run_with("<ceo@widget.com>", " <all-staff@widget.com> ");
  ASSERT_EQ(bare.status, 0) << describe(bare);
  ASSERT_EQ(bracketed.status, 0) << describe(bracketed);
  EXPECT_EQ(bare.lines(), bracketed.lines());
}

TEST(WidgetImage, BuiltImageGivesTheSameVerdictsAsTheSource) {
  TempDir dir;
  const fs::path image = dir.path() / "policy.pbc";
  RunResult build = run_policyc({"build", kPolicy.string(), "-o", image.string()});
  ASSERT_EQ(build.status, 0) << describe(build);
  std::string bytes = read_text(image);
  ASSERT_GE(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("MPOLICY\0", 8));

  const std::vector<std::string> messages = example_messages();
  ASSERT_FALSE(messages.empty());
  const std::vector<std::vector<std::string>> envelopes = {
      {},
      {"--client-ip", "192.0.2.45", "--rcpt", "pat.lee@widget.com"},
      {"--client-ip", "203.0.113.10", "--sender", "someone@widget.com", "--rcpt", "partner@example.org"},
      {"--client-ip", "198.51.100.21", "--sender", "ceo@widget.com", "--rcpt", "all-staff@widget.com"},
  };
  for (const auto& envelope : envelopes) {
    auto run_with = [&](const fs::path& policy) {
      std::vector<std::string> args = {"run", "--format", "json", policy.string()};
      args.insert(args.end(), messages.begin(), messages.end());
      args.insert(args.end(), envelope.begin(), envelope.end());
      return run_policyc(args);
    };
    RunResult from_source = run_with(kPolicy);
    RunResult from_image = run_with(image);
    ASSERT_EQ(from_source.status, 0) << describe(from_source);
    ASSERT_EQ(from_image.status, 0) << describe(from_image);
    std::vector<std::string> a = from_source.lines(), b = from_image.lines();
    EXPECT_GE(a.size(), messages.size());
    ASSERT_EQ(a.size(), b.size()) << describe(from_source) << describe(from_image);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i], b[i]) << "verdict " << i << " differs between source and image";
      EXPECT_TRUE(parse_json_line(a[i]).contains("action")) << a[i];
    }
  }

  // Each table row, with its own envelope, also agrees.
  for (const auto& row : table_rows()) {
    json from_source = verdict_of(row);
    json from_image = verdict_of(row, image);
    EXPECT_EQ(from_source, from_image) << row.file;
  }
}

TEST(WidgetCheck, ExamplePolicyIsClean) {
  RunResult text = run_policyc({"check", kPolicy.string()});
  EXPECT_EQ(text.status, 0) << describe(text);
  EXPECT_EQ(text.err.find("error"), std::string::npos) << describe(text);
  RunResult as_json = run_policyc({"check", "--format", "json", kPolicy.string()});
  EXPECT_EQ(as_json.status, 0) << describe(as_json);
}

TEST(WidgetCheck, BrokenPolicyFails) {
  // Guards the test above against a `check` that accepts anything.
  TempDir dir;
  const fs::path broken =
      dir.write("broken.mp", "stage s {\n  rule r: if size contains \"x\" then allow\n}\n");
  RunResult r = run_policyc({"check", broken.string()});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("error[E"), std::string::npos) << describe(r);
}

TEST(WidgetRun, MissingMessageIsReportedAndTheOthersStillRun) {
  const std::string good1 = (kExampleDir / "mail/web-form.eml").string();
  const std::string missing = (kExampleDir / "mail/no-such-message.eml").string();
  const std::string good2 = (kExampleDir / "mail/plain-ham.eml").string();
  RunResult r = run_policyc({"run", "--format", "json", kPolicy.string(), good1, missing, good2});
  EXPECT_NE(r.status, 0) << "an unreadable input should make the exit status non-zero\n" << describe(r);
  std::vector<std::string> lines = r.lines();
  ASSERT_EQ(lines.size(), 3u) << describe(r);

  json first = parse_json_line(lines[0]), error = parse_json_line(lines[1]), last = parse_json_line(lines[2]);
  EXPECT_EQ(first.value("file", ""), good1);
  EXPECT_EQ(first.value("action", ""), "allow") << lines[0];
  EXPECT_EQ(error.value("file", ""), missing) << lines[1];
  ASSERT_TRUE(error.contains("error") && error["error"].is_string()) << lines[1];
  EXPECT_FALSE(error["error"].get<std::string>().empty()) << lines[1];
  EXPECT_FALSE(error.contains("action")) << lines[1];
  EXPECT_EQ(last.value("file", ""), good2);
  EXPECT_EQ(last.value("action", ""), "deliver") << lines[2];
}

TEST(WidgetRun, EasyHamCorpusGivesOneVerdictPerMessage) {
  const fs::path corpus = fs::path(MP_CORPUS_DIR) / "spamassassin-public" / "easy_ham";
  if (!fs::is_directory(corpus)) GTEST_SKIP() << "corpus not present: " << corpus;
  std::set<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(corpus)) {
    if (entry.is_regular_file()) files.insert(entry.path().string());
  }
  ASSERT_FALSE(files.empty());

  RunResult r = run_policyc({"run", "--format", "json", kPolicy.string(), corpus.string()});
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines = r.lines();
  EXPECT_EQ(lines.size(), files.size()) << "one verdict line per message file";
  std::map<std::string, int> seen;
  int failures = 0;
  for (const auto& line : lines) {
    json v = json::parse(line, nullptr, false);
    bool ok = v.is_object() && v.contains("file") && v["file"].is_string() && v.contains("action") &&
              v["action"].is_string() && kActions.count(v["action"].get<std::string>());
    if (!ok) {
      if (++failures <= 5) ADD_FAILURE() << "bad verdict line: " << line.substr(0, 500);
      continue;
    }
    ++seen[v["file"].get<std::string>()];
  }
  EXPECT_EQ(failures, 0);
  for (const auto& [file, count] : seen) {
    EXPECT_EQ(count, 1) << file;
    EXPECT_TRUE(files.count(file)) << "verdict for an unknown file " << file;
  }
  EXPECT_EQ(seen.size(), files.size());
}

}  // namespace
