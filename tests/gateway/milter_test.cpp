// The private Postfix (postfix_harness.h) with a milter: a minimal libmilter filter,
// run in a forked child, that rejects every message at end of data; and a milter
// socket nobody listens on, where milter_default_action decides. This is what the
// policyd end-to-end tests build on.
#include <gtest/gtest.h>
#include <libmilter/mfapi.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "tests/gateway/postfix_harness.h"

namespace mp::gateway_test {
namespace {

// Whether something accepts connections on the unix socket `path`.
bool unix_socket_accepts(const fs::path& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// End of message: reject with the reply the test looks for. libmilter's API takes
// char*, hence the arrays.
sfsistat reject_at_end_of_message(SMFICTX* ctx) {
  static char code[] = "550", xcode[] = "5.7.1", text[] = "test reject";
  smfi_setreply(ctx, code, xcode, text);
  return SMFIS_REJECT;
}

// A milter listening on the unix socket `path` that rejects every message at end of
// data, in a child process of its own: libmilter keeps global state and smfi_main()
// runs once per process. The child dies with the test process (PR_SET_PDEATHSIG)
// and with the object: SIGKILL, as libmilter notices SIGTERM only every few seconds
// and the filter has nothing to save.
class RejectingMilter {
 public:
  explicit RejectingMilter(fs::path path) : path_(std::move(path)) {
    pid_ = fork();
    if (pid_ == 0) run();
  }
  ~RejectingMilter() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  RejectingMilter(const RejectingMilter&) = delete;
  RejectingMilter& operator=(const RejectingMilter&) = delete;

  // Waits until the milter accepts connections; false after 5 s.
  bool ready() const {
    return pid_ > 0 && poll_until(5s, [&] { return unix_socket_accepts(path_); });
  }

 private:
  // The child: serves until killed. umask 0 lets smtpd, running as the postfix
  // user, connect to the socket root creates.
  [[noreturn]] void run() {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    umask(0);
    static char name[] = "test-reject";
    smfiDesc desc{};
    desc.xxfi_name = name;
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_eom = reject_at_end_of_message;
    std::string conn = "unix:" + path_.string();
    bool ok = smfi_setconn(conn.data()) == MI_SUCCESS && smfi_register(desc) == MI_SUCCESS &&
              smfi_main() == MI_SUCCESS;
    _exit(ok ? 0 : 1);
  }

  fs::path path_;
  pid_t pid_ = -1;
};

using GatewayMilter = PostfixTest;

TEST_F(GatewayMilter, ARejectAtEndOfDataReachesTheClientWithTheMiltersReply) {
  mp::e2e::TempDir sockets;
  const fs::path socket = sockets.path() / "milter.sock";
  RejectingMilter milter(socket);
  ASSERT_TRUE(milter.ready()) << "the milter does not listen on " << socket;
  PostfixInstance postfix({.smtpd_milters = "unix:" + socket.string()});
  ASSERT_TRUE(postfix.start());

  SendResult sent = postfix.send({.to = {"henry@widget.com"}});
  EXPECT_EQ(sent.reply.command, "EOM") << sent.transcript();
  EXPECT_EQ(sent.reply.line(), "550 5.7.1 test reject") << sent.transcript();
  EXPECT_FALSE(
      postfix
          .wait_for_log(R"(milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: 5\.7\.1 test reject)")
          .empty())
      << postfix.log();
  ASSERT_TRUE(postfix.wait_until_idle());
  EXPECT_TRUE(postfix.delivered().empty());
}

TEST_F(GatewayMilter, AMilterThatDoesNotAnswerMeans451WithDefaultActionTempfail) {
  mp::e2e::TempDir sockets;
  PostfixInstance postfix({.smtpd_milters = "unix:" + (sockets.path() / "nobody-listens.sock").string(),
                           .milter_default_action = "tempfail"});
  ASSERT_TRUE(postfix.start());

  SendResult sent = postfix.send({.to = {"ivy@widget.com"}});
  // smtpd knows at CONNECT; like its other refusals it answers at MAIL FROM.
  EXPECT_EQ(sent.reply.command, "MAIL") << sent.transcript();
  EXPECT_EQ(sent.reply.line(), "451 4.7.1 Service unavailable - try again later") << sent.transcript();
  EXPECT_FALSE(postfix.wait_for_log("warning: connect to Milter service unix:.*nobody-listens.sock").empty())
      << postfix.log();
  // postlogd writes asynchronously: wait for the line rather than read the log once.
  EXPECT_EQ(postfix.wait_for_log("NOQUEUE: milter-reject: MAIL from .*: 451 4.7.1").size(), 1u)
      << postfix.log();
  ASSERT_TRUE(postfix.wait_until_idle());
  EXPECT_TRUE(postfix.delivered().empty());
}

}  // namespace
}  // namespace mp::gateway_test
