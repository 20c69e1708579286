// The `banner` action end to end through policyc: the verdict lists it (text and JSON),
// `run --write-message DIR` writes the message with the banner in its body (and the
// result headers of --write-headers), a message that cannot take it is written
// unchanged with a warning, `banner:` in a .mptest case is checked, and an empty banner
// is E061.
#include <gtest/gtest.h>

#include <string>

#include "runtime/message.h"
#include "tests/e2e/e2e_util.h"

namespace {

using namespace mp::e2e;

const char* kPolicy = R"(settings { org.domains = [widget.com] }
stage anti_spoofing {
  rule external (inbound):
    if from.domain not in [widget.com] then banner "CAUTION: external sender."
}
)";

const char* kPlain = "From: Bob <bob@example.net>\nTo: carol@widget.com\nSubject: hi\n\nHello Carol\n";
const char* kSigned =
    "From: Bob <bob@example.net>\nTo: carol@widget.com\nSubject: signed\nMIME-Version: 1.0\n"
    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=S\n\n"
    "--S\nContent-Type: text/plain\n\nsigned text\n"
    "--S\nContent-Type: application/pkcs7-signature\nContent-Transfer-Encoding: base64\n\nMIIB\n--S--\n";

TEST(Banner, TheVerdictListsItInTextAndJson) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("m.eml", kPlain);
  RunResult json = run_policyc(
      {"run", "--format", "json", (dir.path() / "p.mp").string(), (dir.path() / "m.eml").string()});
  ASSERT_EQ(json.status, 0) << describe(json);
  EXPECT_EQ(parse_json_line(json.last_line())["banners"],
            nlohmann::json::array({"CAUTION: external sender."}));
  RunResult text = run_policyc({"run", (dir.path() / "p.mp").string(), (dir.path() / "m.eml").string()});
  EXPECT_NE(text.out.find("direction=inbound  banners=1\n"), std::string::npos) << describe(text);
  RunResult explained =
      run_policyc({"run", "--explain", (dir.path() / "p.mp").string(), (dir.path() / "m.eml").string()});
  EXPECT_NE(explained.out.find("\n  banner \"CAUTION: external sender.\"\n"), std::string::npos)
      << describe(explained);
}

TEST(Banner, WriteMessagePutsItIntoTheBodyAndWriteHeadersDoesNot) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("m.eml", kPlain);
  RunResult r =
      run_policyc({"run", (dir.path() / "p.mp").string(), (dir.path() / "m.eml").string(), "--write-message",
                   (dir.path() / "msg").string(), "--write-headers", (dir.path() / "hdr").string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.err, "");
  const std::string prefix = "X-Policy-Verdict: deliver\nX-Policy-Score: 0\n";
  EXPECT_EQ(read_text(dir.path() / "msg" / "m.eml"),
            prefix +
                "From: Bob <bob@example.net>\nTo: carol@widget.com\nSubject: hi\n\n"
                "CAUTION: external sender.\n\nHello Carol\n");
  EXPECT_EQ(read_text(dir.path() / "hdr" / "m.eml"), prefix + kPlain);
}

TEST(Banner, AMessageThatCannotTakeItIsWrittenUnchangedWithAWarning) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("s.eml", kSigned);
  RunResult r = run_policyc({"run", (dir.path() / "p.mp").string(), (dir.path() / "s.eml").string(),
                             "--write-message", (dir.path() / "msg").string()});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.err.find("s.eml: warning: banner not added: signed or encrypted multipart"), std::string::npos)
      << describe(r);
  EXPECT_EQ(read_text(dir.path() / "msg" / "s.eml"),
            "X-Policy-Verdict: deliver\nX-Policy-Score: 0\n" + std::string(kSigned));
}

TEST(Banner, MptestChecksBanners) {
  TempDir dir;
  dir.write("p.mp", kPolicy);
  dir.write("m.eml", kPlain);
  dir.write("ok.mptest",
            "policy: p.mp\n\ncase: external\n  message: m.eml\n  action: deliver\n  rule: none\n"
            "  banner: \"CAUTION: external sender.\"\n");
  EXPECT_EQ(run_policyc({"test", (dir.path() / "ok.mptest").string()}).status, 0);
  dir.write("bad.mptest",
            "policy: p.mp\n\ncase: external\n  message: m.eml\n  action: deliver\n  rule: none\n"
            "  banner: \"[External]\"\n");
  RunResult bad = run_policyc({"test", (dir.path() / "bad.mptest").string()});
  EXPECT_EQ(bad.status, 1) << describe(bad);
  EXPECT_NE(bad.out.find("banner: expected \"[External]\", missing (banners: \"CAUTION: external sender.\")"),
            std::string::npos)
      << describe(bad);
}

TEST(Banner, AnEmptyBannerIsAnError) {
  TempDir dir;
  dir.write("p.mp", "if subject contains \"x\" then banner \" \"\n");
  RunResult r = run_policyc({"check", (dir.path() / "p.mp").string()});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("error[E061]: a banner needs a text to show\n --> " + (dir.path() / "p.mp").string() +
                       ":1:30\n"),
            std::string::npos)
      << describe(r);
}

}  // namespace
