// `policyc run --write-headers DIR` (tools/cmd_run.cpp) and its pure helpers
// (report/report.h): each evaluated message is written to DIR with the
// X-Policy-Verdict, X-Policy-Score and X-Policy-Rule headers and the policy's added
// headers on top, its removed headers gone, its own line endings kept, and an mbox
// "From " line dropped.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report.h"
#include "tests/e2e/e2e_util.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace mp::e2e;
using mp::report::format_score;
using mp::report::HeaderList;
using mp::report::rewrite_headers;
using mp::report::verdict_headers;

const fs::path kExampleDir = fs::path(MP_SOURCE_DIR) / "examples" / "widget";
const fs::path kPolicy = kExampleDir / "policy.mp";
const fs::path kMail = kExampleDir / "mail";

// ---- The pure functions -------------------------------------------------------

TEST(HeaderRewrite, PrependsAndRemovesWithLf) {
  const std::string message =
      "Return-Path: <a@example.org>\n"
      "X-Spam: yes\n"
      "From: a@example.org\n"
      "x-SPAM: folded\n"
      " continuation\n"
      "\tand another\n"
      "X-Spammer: kept (a different name)\n"
      "Subject: hi\n"
      "\n"
      "X-Spam: in the body, kept\n";
  const std::string expected =
      "X-Policy-Verdict: deliver\n"
      "X-Added: 1\n"
      "Return-Path: <a@example.org>\n"
      "From: a@example.org\n"
      "X-Spammer: kept (a different name)\n"
      "Subject: hi\n"
      "\n"
      "X-Spam: in the body, kept\n";
  EXPECT_EQ(rewrite_headers(message, {{"X-Policy-Verdict", "deliver"}, {"X-Added", "1"}}, {"X-Spam"}), expected);
  // Nothing to do: the bytes come back unchanged.
  EXPECT_EQ(rewrite_headers(message, {}, {}), message);
  EXPECT_EQ(rewrite_headers(message, {}, {"X-Other"}), message);
}

TEST(HeaderRewrite, KeepsCrlf) {
  const std::string message =
      "From: a@example.org\r\n"
      "X-Remove-Me: 1\r\n"
      "\tfolded\r\n"
      "Subject: hi\r\n"
      "\r\n"
      "body\r\n";
  const std::string expected =
      "X-Policy-Verdict: quarantine; rule=s.r\r\n"
      "X-Policy-Score: 6.5\r\n"
      "From: a@example.org\r\n"
      "Subject: hi\r\n"
      "\r\n"
      "body\r\n";
  EXPECT_EQ(rewrite_headers(message, {{"X-Policy-Verdict", "quarantine; rule=s.r"}, {"X-Policy-Score", "6.5"}},
                            {"x-remove-me"}),
            expected);
}

TEST(HeaderRewrite, DropsMboxFromLine) {
  const std::string message = "From someone@example.org Mon Jan  1 00:00:00 2024\nSubject: hi\n\nbody\n";
  EXPECT_EQ(rewrite_headers(message, {{"X-A", "b"}}, {}), "X-A: b\nSubject: hi\n\nbody\n");
  // The line ending is the message's, not the From line's.
  const std::string crlf = "From someone@example.org Mon Jan  1 00:00:00 2024\nSubject: hi\r\n\r\nbody\r\n";
  EXPECT_EQ(rewrite_headers(crlf, {{"X-A", "b"}}, {}), "X-A: b\r\nSubject: hi\r\n\r\nbody\r\n");
  // "From:" (a header) is not an mbox line.
  EXPECT_EQ(rewrite_headers("From: a@b.c\n\nx\n", {}, {}), "From: a@b.c\n\nx\n");
}

TEST(HeaderRewrite, EdgeCases) {
  // No body separator: the whole message is headers.
  EXPECT_EQ(rewrite_headers("Subject: a\nX-Drop: b", {{"X-A", "1"}}, {"x-drop"}), "X-A: 1\nSubject: a\n");
  // Empty message.
  EXPECT_EQ(rewrite_headers("", {{"X-A", "1"}}, {"x"}), "X-A: 1\n");
  // A line that is not a header ends the header block, as for the parser: below it,
  // nothing is removed.
  EXPECT_EQ(rewrite_headers("Subject: a\nnot a header\nX-Drop: b\n", {}, {"X-Drop"}),
            "Subject: a\nnot a header\nX-Drop: b\n");
  // Obsolete "Name : value" is a header of that name.
  EXPECT_EQ(rewrite_headers("X-Drop : b\nSubject: a\n\n", {}, {"X-Drop"}), "Subject: a\n\n");
  // A value cannot inject header lines.
  EXPECT_EQ(rewrite_headers("Subject: a\n\n", {{"X-A", "1\r\nBcc: evil"}}, {}), "X-A: 1  Bcc: evil\nSubject: a\n\n");
}

TEST(HeaderRewrite, FormatScore) {
  EXPECT_EQ(format_score(0), "0");
  EXPECT_EQ(format_score(4), "4");
  EXPECT_EQ(format_score(6.5), "6.5");
  EXPECT_EQ(format_score(1.234), "1.23");
  EXPECT_EQ(format_score(1.0 / 3), "0.33");
  EXPECT_EQ(format_score(-2.5), "-2.5");
  EXPECT_EQ(format_score(-0.001), "0");
  EXPECT_EQ(format_score(12.999), "13");
}

TEST(HeaderRewrite, VerdictHeaders) {
  mp::vm::Verdict v;
  v.action = mp::vm::Action::Quarantine;
  v.rule = 3;
  v.rule_name = "display_name_spoof";
  v.stage_name = "custom_filters";
  v.location = "policy.mp:56:3";
  v.score = 4.25;
  v.added_headers = {{"X-Widget-External", "yes"}, {"X-Two", "2"}};
  EXPECT_EQ(verdict_headers(v), (HeaderList{{"X-Policy-Verdict", "quarantine; rule=custom_filters.display_name_spoof"},
                                            {"X-Policy-Score", "4.25"},
                                            {"X-Policy-Rule", "custom_filters.display_name_spoof at policy.mp:56"},
                                            {"X-Widget-External", "yes"},
                                            {"X-Two", "2"}}));
  mp::vm::Verdict by_score;
  by_score.action = mp::vm::Action::Deliver;
  by_score.score = 0;
  EXPECT_EQ(verdict_headers(by_score), (HeaderList{{"X-Policy-Verdict", "deliver"}, {"X-Policy-Score", "0"}}));
}

// ---- policyc run --write-headers ----------------------------------------------

// file name in --write-headers DIR -> the JSON verdict of its message.
std::map<std::string, json> verdicts_by_output_name(const std::string& stdout_json) {
  std::map<std::string, json> out;
  for (const std::string& line : non_empty_lines(stdout_json)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    std::string name = fs::path(j.value("file", "")).filename().string();
    if (auto hash = name.rfind('#'); hash != std::string::npos) name[hash] = '_';
    if (!name.ends_with(".eml")) name += ".eml";
    out[name] = j;
  }
  return out;
}

// The header lines a verdict should put on top, as text with `eol`.
std::string expected_prefix(const json& v, const std::string& eol) {
  std::string out = "X-Policy-Verdict: " + v["action"].get<std::string>();
  if (!v["rule"].is_null()) out += "; rule=" + v["stage"].get<std::string>() + "." + v["rule"].get<std::string>();
  out += eol + "X-Policy-Score: " + format_score(v["score"].get<double>()) + eol;
  if (!v["rule"].is_null()) {
    std::string location = v["location"];
    location.erase(location.rfind(':'));  // no column
    out += "X-Policy-Rule: " + v["stage"].get<std::string>() + "." + v["rule"].get<std::string>() + " at " +
           location + eol;
  }
  for (const auto& h : v["add_headers"]) out += h["name"].get<std::string>() + ": " + h["value"].get<std::string>() + eol;
  return out;
}

TEST(WriteHeaders, ExampleMails) {
  TempDir dir;
  fs::path out = dir.path() / "not" / "yet" / "there";
  RunResult r = run_policyc({"run", "--format", "json", kPolicy.string(), kMail.string(), "--write-headers", out.string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  std::map<std::string, json> verdicts = verdicts_by_output_name(r.out);
  ASSERT_EQ(verdicts.size(), 15u) << describe(r);

  std::set<std::string> written;
  for (const auto& entry : fs::directory_iterator(out)) written.insert(entry.path().filename().string());
  std::set<std::string> expected_names;
  for (const auto& [name, v] : verdicts) expected_names.insert(name);
  EXPECT_EQ(written, expected_names);
  EXPECT_TRUE(written.count("plain-ham.eml"));
  EXPECT_TRUE(written.count("mbox-two.mbox_1.eml"));
  EXPECT_TRUE(written.count("mbox-two.mbox_2.eml"));

  // Every file: the verdict's headers, then the original message.
  for (const auto& [name, v] : verdicts) {
    std::string text = read_text(out / name);
    std::string prefix = expected_prefix(v, "\n");
    ASSERT_TRUE(text.starts_with(prefix)) << name << ":\n" << text.substr(0, 600) << "\nexpected to start with:\n"
                                          << prefix;
    if (name.starts_with("mbox-two")) continue;  // checked below
    EXPECT_EQ(text.substr(prefix.size()), read_text(kMail / name)) << name;
  }

  // Known by hand.
  std::string ham = read_text(out / "plain-ham.eml");
  EXPECT_TRUE(ham.starts_with("X-Policy-Verdict: deliver\nX-Policy-Score: 0\nX-Widget-External: yes\nReturn-Path: "))
      << ham.substr(0, 300);
  EXPECT_EQ(ham.find("X-Policy-Rule"), std::string::npos);
  std::string exe = read_text(out / "exe-attachment.eml");
  EXPECT_TRUE(exe.starts_with("X-Policy-Verdict: reject; rule=attachment_defense.executables\n"
                              "X-Policy-Score: 0\n"
                              "X-Policy-Rule: attachment_defense.executables at " +
                              (kPolicy.parent_path() / "policy.mp").string() + ":29\n"))
      << exe.substr(0, 300);
  std::string scam = read_text(out / "invoice-scam.eml");
  EXPECT_TRUE(scam.starts_with("X-Policy-Verdict: quarantine\nX-Policy-Score: 6.5\nX-Widget-External: yes\n"))
      << scam.substr(0, 300);

  // The mbox parts: the "From " separator line is gone, each holds its own message
  // (as split: an mboxrd-quoted ">From " body line is unquoted).
  std::string one = read_text(out / "mbox-two.mbox_1.eml");
  std::string two = read_text(out / "mbox-two.mbox_2.eml");
  std::string mbox = read_text(kMail / "mbox-two.mbox");
  size_t second = mbox.find("\nFrom ");
  ASSERT_TRUE(mbox.starts_with("From ") && second != std::string::npos);
  std::string separator1 = mbox.substr(0, mbox.find('\n') + 1);
  std::string rest = mbox.substr(second + 1);
  std::string separator2 = rest.substr(0, rest.find('\n') + 1);
  std::string part1 = mbox.substr(separator1.size(), second + 1 - separator1.size());
  std::string part2 = rest.substr(separator2.size());
  for (size_t at; (at = part1.find("\n>From ")) != std::string::npos;) part1.erase(at + 1, 1);
  EXPECT_EQ(one.find(separator1), std::string::npos) << one.substr(0, 400);
  EXPECT_EQ(two.find(separator2), std::string::npos) << two.substr(0, 400);
  EXPECT_NE(one.find("\nFrom the organisers"), std::string::npos) << "unquoted body line";
  EXPECT_TRUE(two.starts_with("X-Policy-Verdict: quarantine; rule=custom_filters.display_name_spoof\n"))
      << two.substr(0, 400);
  EXPECT_NE(two.find("X-Policy-Rule: custom_filters.display_name_spoof at "), std::string::npos);
  EXPECT_EQ(one, expected_prefix(verdicts["mbox-two.mbox_1.eml"], "\n") + part1);
  EXPECT_EQ(two, expected_prefix(verdicts["mbox-two.mbox_2.eml"], "\n") + part2);
}

std::string to_crlf(const std::string& lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST(WriteHeaders, CrlfAndRemovedHeaders) {
  TempDir dir;
  write_text(dir.path() / "policy.mp",
             "if header \"X-Spam-Flag\" contains \"YES\" nocase then remove header X-Spam-Flag, "
             "add header X-Checked \"yes\"\n");
  const std::string lf =
      "Return-Path: <a@example.org>\n"
      "X-Spam-Flag: YES\n"
      "From: a@example.org\n"
      "x-spam-FLAG: yes\n"
      "  (folded)\n"
      "Subject: hi\n"
      "\n"
      "X-Spam-Flag: this line is body\n";
  const std::string kept =
      "Return-Path: <a@example.org>\n"
      "From: a@example.org\n"
      "Subject: hi\n"
      "\n"
      "X-Spam-Flag: this line is body\n";
  write_text(dir.path() / "in" / "lf.eml", lf);
  write_text(dir.path() / "in" / "crlf.eml", to_crlf(lf));
  write_text(dir.path() / "in" / "clean.eml", to_crlf("From: b@example.org\nSubject: nothing\n\nhello\n"));
  fs::path out = dir.path() / "out";
  RunResult r = run_policyc({"run", (dir.path() / "policy.mp").string(), (dir.path() / "in").string(),
                             "--write-headers", out.string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(read_text(out / "lf.eml"), "X-Policy-Verdict: deliver\nX-Policy-Score: 0\nX-Checked: yes\n" + kept);
  EXPECT_EQ(read_text(out / "crlf.eml"),
            to_crlf("X-Policy-Verdict: deliver\nX-Policy-Score: 0\nX-Checked: yes\n" + kept));
  std::string clean = read_text(out / "clean.eml");
  EXPECT_EQ(clean, to_crlf("X-Policy-Verdict: deliver\nX-Policy-Score: 0\nFrom: b@example.org\nSubject: nothing\n\nhello\n"));
  // CRLF through and through: no bare LF.
  for (size_t i = 0; i < clean.size(); ++i) {
    if (clean[i] == '\n') {
      ASSERT_TRUE(i > 0 && clean[i - 1] == '\r') << "bare LF at " << i;
    }
  }
}

TEST(WriteHeaders, SameBasenameTwiceAndErrors) {
  TempDir dir;
  write_text(dir.path() / "a" / "m.eml", "Subject: first\n\n1\n");
  write_text(dir.path() / "b" / "m.eml", "Subject: second\n\n2\n");
  fs::path out = dir.path() / "out";
  RunResult r = run_policyc({"run", kPolicy.string(), (dir.path() / "a").string(), (dir.path() / "b").string(),
                             (dir.path() / "missing.eml").string(), "--write-headers", out.string()});
  EXPECT_EQ(r.status, 1) << "one input cannot be read\n" << describe(r);
  EXPECT_NE(read_text(out / "m.eml").find("Subject: first"), std::string::npos);
  EXPECT_NE(read_text(out / "m-2.eml").find("Subject: second"), std::string::npos);
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(out)) files += entry.is_regular_file();
  EXPECT_EQ(files, 2u);

  // A DIR that cannot be created (a file is in the way).
  write_text(dir.path() / "file", "x");
  RunResult blocked =
      run_policyc({"run", kPolicy.string(), (dir.path() / "a").string(), "--write-headers", (dir.path() / "file").string()});
  EXPECT_EQ(blocked.status, 1) << describe(blocked);
  EXPECT_NE(blocked.err.find("--write-headers"), std::string::npos) << describe(blocked);
}

}  // namespace
