// URL defense end to end through policyc: `import stdlib` with url_defense.rewrite set
// names the rewrite in the verdict (text, JSON), `run --write-message DIR` writes the
// message with its links pointing at the checker (HTML and text, ours left alone, valid
// MIME), a .mptest `rewrite-urls:` is checked, and a target the checker cannot take is
// E061 at the user's setting.
#include <gtest/gtest.h>

#include <string>

#include "runtime/message.h"
#include "tests/e2e/e2e_util.h"

namespace {

using namespace mp::e2e;

const char* kPolicy = R"(import stdlib
settings {
  org.domains = [widget.com]
  url_defense.rewrite = "https://urldefense.example/v1?u={url}"
  url_defense.skip_domains = [partner.example]
}
)";

const char* kMessage =
    "From: Bob <bob@example.net>\nTo: carol@widget.com\nSubject: docs\nMIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=B\n\n"
    "--B\nContent-Type: text/plain\n\nhttp://files.example.net/a.pdf and https://intranet.widget.com/\n"
    "--B\nContent-Type: text/html\n\n<a href=\"http://files.example.net/a.pdf\">a.pdf</a> "
    "<a href=\"https://docs.partner.example/x\">x</a>\n--B--\n";

const std::string kChecked = "https://urldefense.example/v1?u=http%3A%2F%2Ffiles.example.net%2Fa.pdf";

TEST(UrlDefense, TheVerdictNamesTheRewrite) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("m.eml", kMessage);
  RunResult json = run_policyc(
      {"run", "--format", "json", (dir.path() / "p.mp").string(), (dir.path() / "m.eml").string()});
  ASSERT_EQ(json.status, 0) << describe(json);
  const nlohmann::json verdict = parse_json_line(json.last_line());
  EXPECT_EQ(verdict["url_rewrite"]["target"], "https://urldefense.example/v1?u={url}");
  EXPECT_EQ(verdict["url_rewrite"]["skip_domains"], nlohmann::json::array({"partner.example", "widget.com"}));
  RunResult text = run_policyc({"run", (dir.path() / "p.mp").string(), (dir.path() / "m.eml").string()});
  EXPECT_NE(text.out.find("  rewrite-urls\n"), std::string::npos) << describe(text);
}

TEST(UrlDefense, WriteMessageRewritesTheLinksInTextAndHtml) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("m.eml", kMessage);
  RunResult r = run_policyc({"run", (dir.path() / "p.mp").string(), (dir.path() / "m.eml").string(),
                             "--write-message", (dir.path() / "msg").string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.err.find("not added"), std::string::npos) << describe(r);
  const std::string written = read_text(dir.path() / "msg" / "m.eml");
  const mp::runtime::Message again = mp::runtime::Message::parse(written);
  EXPECT_TRUE(again.defects().empty());
  EXPECT_NE(again.body_text().find(kChecked + " and https://intranet.widget.com/"), std::string::npos)
      << written;
  EXPECT_NE(
      written.find("<a href=\"" + kChecked + "\">a.pdf</a> <a href=\"https://docs.partner.example/x\">"),
      std::string::npos)
      << written;
}

TEST(UrlDefense, MptestChecksTheRewrite) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("t.mptest", std::string("policy: p.mp\n\ncase: links\n  action: deliver\n  rule: none\n"
                                    "  rewrite-urls: \"https://other.example/{url}\"\n  message: <<END\n") +
                            "From: a@example.net\nSubject: s\n\nhttp://x.example/\nEND\n");
  RunResult r = run_policyc({"test", (dir.path() / "t.mptest").string()});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.out.find("rewrite-urls: expected \"https://other.example/{url}\", got "
                       "\"https://urldefense.example/v1?u={url}\""),
            std::string::npos)
      << describe(r);
}

TEST(UrlDefense, ATargetWithoutTheLinkIsAnErrorAtTheSetting) {
  TempDir dir;
  dir.write("p.mp",
            "import stdlib\nsettings {\n  url_defense.rewrite = \"https://urldefense.example/v1\"\n}\n");
  RunResult r = run_policyc({"check", (dir.path() / "p.mp").string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(
      r.err.find("error[E061]: `https://urldefense.example/v1` cannot be a link rewrite target: it has no "
                 "{url} for the original link"),
      std::string::npos)
      << describe(r);
  EXPECT_NE(r.err.find("p.mp:3:25"), std::string::npos) << describe(r);
}

}  // namespace
