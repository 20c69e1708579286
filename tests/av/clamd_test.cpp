// av::scan against a real clamd (clamd_harness.h): clean and infected messages over
// the unix and TCP sockets, chunking, clamd's size limit, a clamd that is down or never
// answers (an error within the timeout, never a hang), address checks, and the `av`
// facts a policy reads through auth::MessageFacts.
#include "av/clamd.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "auth/facts.h"
#include "compiler/compiler.h"
#include "tests/av/clamd_harness.h"
#include "vm/vm.h"

namespace mp::av {
namespace {

using av_test::kVirusName;
using av_test::kVirusPayload;
using av_test::shared_clamd;

std::string base64(const std::string& in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < in.size() ? table[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? table[n & 63] : '=';
  }
  return out;
}

// A message with `attachment` as a base64 attachment: clamd has to decode the MIME.
std::string message_with(const std::string& attachment) {
  return "From: a@example.org\r\nTo: b@example.net\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee "
         "attached\r\n"
         "--B\r\nContent-Type: application/octet-stream; name=\"f.bin\"\r\nContent-Transfer-Encoding: "
         "base64\r\n\r\n" +
         base64(attachment) + "\r\n--B--\r\n";
}

const std::string kClean = "From: a@example.org\r\nSubject: hi\r\n\r\nnothing to see\r\n";

TEST(Clamd, CleanAndInfectedOverTheUnixSocket) {
  ClamdOptions options{.address = shared_clamd().unix_address()};
  ScanResult clean = scan(kClean, options);
  EXPECT_EQ(clean.status, ScanResult::Status::Clean) << clean.detail;
  ScanResult infected = scan(message_with(kVirusPayload), options);
  ASSERT_EQ(infected.status, ScanResult::Status::Infected) << infected.detail;
  EXPECT_EQ(infected.signature, kVirusName);
  EXPECT_GT(infected.seconds, 0);
}

TEST(Clamd, OverTcpAndInSmallChunks) {
  ClamdOptions options{.address = shared_clamd().tcp_address(), .chunk_bytes = 7};
  ScanResult infected = scan(message_with(kVirusPayload), options);
  EXPECT_EQ(infected.status, ScanResult::Status::Infected) << infected.detail;
  std::string big = kClean;
  while (big.size() < 300 * 1024) big += "line of text in a long message\r\n";
  options.chunk_bytes = 4096;
  EXPECT_EQ(scan(big, options).status, ScanResult::Status::Clean);
}

TEST(Clamd, OverClamdsSizeLimitIsAnErrorWithItsReason) {
  std::string huge = kClean;
  huge.resize(3 * 1024 * 1024, 'x');  // the harness sets StreamMaxLength 1M
  ScanResult r = scan(huge, {.address = shared_clamd().unix_address()});
  EXPECT_EQ(r.status, ScanResult::Status::Error);
  EXPECT_NE(r.detail.find("size limit"), std::string::npos) << r.detail;
}

TEST(Clamd, ADownClamdIsAnErrorAtOnce) {
  ScanResult r = scan(kClean, {.address = "unix:/nonexistent/clamd.sock"});
  EXPECT_EQ(r.status, ScanResult::Status::Error);
  EXPECT_EQ(r.detail, "clamd: connect /nonexistent/clamd.sock: No such file or directory");
  EXPECT_LT(r.seconds, 1);
  ScanResult refused = scan(kClean, {.address = "127.0.0.1:1"});
  EXPECT_EQ(refused.status, ScanResult::Status::Error);
  EXPECT_NE(refused.detail.find("Connection refused"), std::string::npos) << refused.detail;
}

TEST(Clamd, AClamdThatNeverAnswersTimesOut) {
  // A socket that accepts connections (the kernel's backlog) and never reads.
  const std::string path = std::filesystem::temp_directory_path() / ("mp_mute_" + std::to_string(::getpid()));
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, path.c_str());
  ::unlink(path.c_str());
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  std::string big(2 * 1024 * 1024, 'x');  // more than the socket buffers hold
  ScanResult r = scan(big, {.address = path, .timeout = std::chrono::milliseconds(300)});
  EXPECT_EQ(r.status, ScanResult::Status::Error);
  EXPECT_NE(r.detail.find("timed out"), std::string::npos) << r.detail;
  EXPECT_LT(r.seconds, 2);
  ::close(listener);
  ::unlink(path.c_str());
}

TEST(Clamd, Addresses) {
  for (const char* good : {"/run/clamav/clamd.ctl", "unix:/tmp/c.sock", "127.0.0.1:3310",
                           "inet:localhost:3310", "[::1]:3310", "inet:[::1]:3310"}) {
    EXPECT_EQ(address_problem(good), "") << good;
  }
  for (const char* bad :
       {"", "clamd", "unix:", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "host:port", "[::1]"}) {
    EXPECT_NE(address_problem(bad), "") << bad;
  }
  ScanResult r = scan(kClean, {.address = "nonsense"});
  EXPECT_EQ(r.status, ScanResult::Status::Error);
  EXPECT_NE(r.detail.find("clamd address `nonsense`"), std::string::npos) << r.detail;
}

// The facts a policy reads: av and av.signature, from one scan.
vm::Verdict judge(const std::string& raw, const std::string& clamd) {
  compiler::Compilation c = compiler::compile_source(
      "p.mp",
      "if av is infected and av.signature contains \"mp-test\" then reject \"554 5.7.1 virus\"\n"
      "if av is error then tempfail \"451 4.7.1 scanner down\"\n"
      "if av is clean then tag \"scanned\"\n");
  EXPECT_TRUE(c.ok());
  const std::string bytes = vm::write_image(*c.image);
  vm::Evaluator evaluator(vm::Program::load({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
  dns::Resolver resolver(dns::ResolverOptions{.servers = {"127.0.0.1:1"}});
  runtime::Message message = runtime::Message::parse(raw);
  runtime::Envelope envelope;
  auth::FactOptions options;
  options.clamd.address = clamd;
  auth::MessageFacts facts(resolver, message, envelope, options);
  return evaluator.evaluate(message, envelope, &facts);
}

TEST(Clamd, TheAvFactsInAPolicy) {
  vm::Verdict infected = judge(message_with(kVirusPayload), shared_clamd().unix_address());
  EXPECT_EQ(infected.action, vm::Action::Reject);
  ASSERT_EQ(infected.facts.size(), 2u);
  EXPECT_EQ(infected.facts[0].name, "av");
  EXPECT_EQ(infected.facts[0].value, "infected");
  EXPECT_EQ(infected.facts[1].value, kVirusName);
  EXPECT_EQ(judge(kClean, shared_clamd().unix_address()).tags, std::vector<std::string>{"scanned"});
  vm::Verdict down = judge(kClean, "unix:/nonexistent/clamd.sock");
  EXPECT_EQ(down.action, vm::Action::Tempfail);
  EXPECT_EQ(down.text, "451 4.7.1 scanner down");
  // No scanner configured: the facts have no value and no rule fires.
  vm::Verdict none = judge(message_with(kVirusPayload), "");
  EXPECT_EQ(none.action, vm::Action::Deliver);
  EXPECT_TRUE(none.tags.empty());
}

}  // namespace
}  // namespace mp::av
