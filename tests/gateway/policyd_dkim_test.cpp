// The message policyd judges is byte for byte the one the client sent: a DKIM
// signature with simple/simple canonicalization (RFC 6376 3.4.1, 3.4.3: not one
// header byte may change) over fields with a tab after the colon and a folded line
// still verifies after Postfix passed the message through the milter protocol.
#include <gtest/gtest.h>

#include <string>

#include "auth/dkim.h"
#include "tests/dnsd/test_dns_server.h"
#include "tests/gateway/policyd_harness.h"

namespace mp::gateway_test {
namespace {

const char* kMessage =
    "From: Info <info@example.test>\r\n"
    "To: carol@widget.com\r\n"
    "Subject:\tQuarterly figures,\r\n"
    "\tsecond line of the subject\r\n"
    "Date: Tue, 01 Dec 2026 00:00:00 +0000\r\n"
    "Message-ID: <dkim-fidelity@example.test>\r\n"
    "\r\n"
    "The figures are attached.  Two spaces, a trailing blank \r\n"
    "and no change anywhere.\r\n";

const char* kPolicy = R"(stage authentication {
  rule signed: if dkim is pass then tag "[dkim pass]"
  rule not_signed: if dkim is not pass then tag "[dkim failed]"
}
)";

TEST(GatewayDkim, ASimpleSimpleSignatureVerifiesThroughPostfix) {
  if (std::string why = postfix_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  if (mp::e2e::run_shell("/usr/bin/python3 -c 'import dkim' 2>/dev/null").status != 0)
    GTEST_SKIP() << "/usr/bin/python3 with python3-dkim is needed";
  mp::e2e::TempDir dir;
  ASSERT_EQ(mp::e2e::run_shell("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                               mp::e2e::shell_quote((dir.path() / "key.pem").string()) + " 2>/dev/null")
                .status,
            0);
  std::string record = auth::dkim_public_key_record(mp::e2e::read_text(dir.path() / "key.pem"));
  std::string txt;
  for (size_t i = 0; i < record.size(); i += 255) txt += "\"" + record.substr(i, 255) + "\" ";
  testing::TestDnsServer dns("sel._domainkey.example.test. 300 IN TXT " + txt + "\n");

  // Signed by python3-dkim, an independent implementation, with simple/simple.
  fs::path unsigned_path = dir.write("m.eml", kMessage);
  fs::path script =
      dir.write("sign.py",
                "import dkim,sys\n"
                "msg=open(sys.argv[1],'rb').read(); key=open(sys.argv[2],'rb').read()\n"
                "sig=dkim.sign(msg,b'sel',b'example.test',key,canonicalize=(b'simple',b'simple'),"
                "include_headers=[b'from',b'to',b'subject',b'date',b'message-id'])\n"
                "sys.stdout.buffer.write(sig+msg)\n");
  RunResult signed_message = mp::e2e::run_program(
      {"/usr/bin/python3", script.string(), unsigned_path.string(), (dir.path() / "key.pem").string()});
  ASSERT_EQ(signed_message.status, 0) << mp::e2e::describe(signed_message);

  fs::path image = build_image(dir.path(), "p", kPolicy);
  PolicydProcess policyd(image, {"dns.servers = " + dns.address(), "dns.timeout_ms = 500"});
  ASSERT_TRUE(policyd.start());
  PostfixInstance postfix({.smtpd_milters = policyd.milter()});
  ASSERT_TRUE(postfix.start());
  SendResult sent =
      postfix.send({.from = "info@example.test", .to = {"carol@widget.com"}, .data = signed_message.out});
  ASSERT_EQ(sent.code(), 250) << sent.transcript();
  ASSERT_TRUE(postfix.wait_for_delivered(1));
  auto mail = postfix.delivered()[0];
  EXPECT_EQ(mail.header("X-Policy-Tags").value_or(""), "[dkim pass]") << policyd.log_text();
  EXPECT_NE(mail.header("Authentication-Results").value_or("").find("dkim=pass header.d=example.test"),
            std::string::npos)
      << mail.content;
}

}  // namespace
}  // namespace mp::gateway_test
