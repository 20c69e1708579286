// A private, real Postfix for end-to-end tests of the mail gateway: PostfixInstance
// writes main.cf/master.cf from scratch under a scratch directory of its own, starts
// `postfix -c DIR` with smtpd on 127.0.0.1 and a free port, and offers what the tests
// look at: swaks transcripts with their SMTP replies, the Maildir every recipient is
// delivered to, the queues (hold above all) and the Postfix log file.
//
// Needs root (Postfix starts as root and drops to the postfix user), /usr/sbin/postfix
// and swaks; postfix_unavailable_reason() says why not, for GTEST_SKIP(). The system
// Postfix (/etc/postfix) is neither read nor changed.
//
// Aggregates with a default for every member are meant for designated initializers
// (`{.to = {"a@widget.com"}}`); the empty `{}` initializers keep GCC's
// -Wmissing-field-initializers quiet about the members left out.
//
// Header-only on purpose: tests/CMakeLists.txt builds only the *_test.cpp files of a
// suite directory, so everything here is `inline`.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_util.h"

namespace mp::gateway_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using mp::e2e::RunResult;

inline const fs::path kPostfix = "/usr/sbin/postfix";
inline const fs::path kSwaks = "/usr/bin/swaks";

// ---- Availability -----------------------------------------------------------------

// Why a private Postfix cannot run here ("" when it can): not root, or postfix,
// swaks or the postfix user missing. Tests GTEST_SKIP() with this text.
inline std::string postfix_unavailable_reason() {
  if (geteuid() != 0) return "needs root to start a private Postfix";
  if (!fs::exists(kPostfix)) return kPostfix.string() + " is not installed (scripts/setup installs it)";
  if (!fs::exists(kSwaks)) return kSwaks.string() + " is not installed (scripts/setup installs it)";
  if (getpwnam("postfix") == nullptr) return "there is no postfix user";
  return "";
}

// ---- Small helpers ----------------------------------------------------------------

// Polls `done` every 50 ms until it returns true or `timeout` has passed; returns
// its last answer.
template <class Predicate>
bool poll_until(std::chrono::milliseconds timeout, Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

// A TCP port on 127.0.0.1 that nobody listens on right now (the kernel's choice);
// 0 when no socket could be bound. Another process may take it before Postfix binds
// it, which PostfixInstance::start() answers by trying another port.
inline int free_tcp_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// Whether a socket listens on 127.0.0.1:`port`, read from /proc/net/tcp rather than
// by connecting: a test connection would show up in the log and, with a milter, as
// a milter session of its own.
inline bool port_listening(int port) {
  char local[32];
  std::snprintf(local, sizeof local, "0100007F:%04X", static_cast<unsigned>(port));
  std::istringstream table(mp::e2e::read_text("/proc/net/tcp"));
  for (std::string line; std::getline(table, line);) {
    std::istringstream fields(line);
    std::string slot, address, remote, state;
    if (fields >> slot >> address >> remote >> state && address == local && state == "0A") return true;
  }
  return false;
}

// Whether process `pid` still runs (a zombie waiting for its reaper counts as gone).
inline bool process_alive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  std::string stat = mp::e2e::read_text("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

// `s` in lower case (ASCII).
inline std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The lines of `text` that contain a match of the ECMAScript regex `pattern`.
inline std::vector<std::string> lines_matching(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  std::vector<std::string> result;
  for (const std::string& line : mp::e2e::non_empty_lines(text)) {
    if (std::regex_search(line, re)) result.push_back(line);
  }
  return result;
}

// ---- SMTP transcripts (swaks) -----------------------------------------------------

// One complete SMTP reply and the client step it answers: "CONNECT" (the greeting),
// "EHLO", "HELO", "MAIL", "RCPT", "DATA" (the 354 or a refusal), "EOM" (the reply
// to the message's final "."), "QUIT", or the first word of another command.
struct SmtpReply {
  std::string command;
  int code = 0;      // 0 when there was no reply at all (no connection)
  std::string text;  // after the code, e.g. "5.7.1 test reject"; lines of a multi-line reply joined by '\n'

  // "code text" as a client shows it, e.g. "550 5.7.1 test reject".
  std::string line() const { return std::to_string(code) + " " + text; }
};

// The SMTP step a client line of a swaks transcript starts (see SmtpReply::command).
inline std::string smtp_command_of(const std::string& client_line) {
  std::string upper = client_line.substr(0, client_line.find(' '));
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "MAIL" || upper == "RCPT" || upper == "EHLO" || upper == "HELO" || upper == "DATA")
    return upper;
  return upper.empty() ? client_line : upper;
}

// The server replies of a swaks transcript, in order, each paired with the client
// step it answers. Reads swaks' prefixes: " -> " / " ~> " client lines (plain / TLS),
// "<-  " / "<~  " server lines and "<** " / "<~* " refusals. A FIFO of sent commands
// keeps the pairing right under PIPELINING; message lines between the 354 and the
// final "." are not commands.
inline std::vector<SmtpReply> parse_swaks_transcript(const std::string& transcript) {
  std::vector<SmtpReply> replies;
  std::deque<std::string> pending = {"CONNECT"};
  bool in_message = false;
  std::string text;
  for (const std::string& line : mp::e2e::non_empty_lines(transcript)) {
    std::string prefix = line.substr(0, 4);
    std::string rest = line.size() > 4 ? line.substr(4) : "";
    if (prefix == " -> " || prefix == " ~> ") {
      if (!in_message) {
        pending.push_back(smtp_command_of(rest));
      } else if (rest == ".") {
        pending.push_back("EOM");
        in_message = false;
      }
    } else if ((prefix == "<-  " || prefix == "<** " || prefix == "<~  " || prefix == "<~* ") &&
               rest.size() >= 3) {
      text += (text.empty() ? "" : "\n") + (rest.size() > 4 ? rest.substr(4) : "");
      if (rest.size() > 3 && rest[3] == '-') continue;  // more lines of this reply follow
      SmtpReply reply{pending.empty() ? "?" : pending.front(), std::atoi(rest.substr(0, 3).c_str()), text};
      if (!pending.empty()) pending.pop_front();
      in_message = reply.command == "DATA" && reply.code == 354;
      replies.push_back(reply);
      text.clear();
    }
  }
  return replies;
}

// The reply that decided a transaction: the one to the message's final "." when the
// message was sent, else the first refusal (4xx/5xx) of any step, else the last
// reply; code 0 when there was none.
inline SmtpReply deciding_reply(const std::vector<SmtpReply>& replies) {
  for (const SmtpReply& r : replies) {
    if (r.command == "EOM") return r;
  }
  for (const SmtpReply& r : replies) {
    if (r.code >= 400) return r;
  }
  return replies.empty() ? SmtpReply{} : replies.back();
}

// A message to send: envelope, HELO name and either the whole message text (`data`,
// given to swaks with --data FILE) or swaks' default message with `headers` set
// (swaks --header: replaces a default header of that name) and `body` as its body. `swaks_args` are appended
// as they are (e.g. "--pipeline").
struct Message {
  std::string from = "sender@example.net";
  std::vector<std::string> to = {"rcpt@widget.com"};
  std::string helo = "client.example.net";
  std::string data{};
  std::vector<std::string> headers{};  // "Name: value", only without `data`
  std::string body{};                  // only without `data`; "" = swaks' default body
  std::vector<std::string> swaks_args{};
};

// What swaks saw: the whole transcript (stdout and stderr), every reply and the
// deciding one (see deciding_reply), and the queue id from "250 … queued as ID".
struct SendResult {
  RunResult run;  // run.out is the transcript, run.status swaks' exit status
  std::vector<SmtpReply> replies;
  SmtpReply reply;
  std::string queue_id;

  const std::string& transcript() const { return run.out; }
  int code() const { return reply.code; }
  // The replies to the RCPT TO commands, in order.
  std::vector<SmtpReply> rcpt_replies() const {
    std::vector<SmtpReply> result;
    std::copy_if(replies.begin(), replies.end(), std::back_inserter(result),
                 [](const SmtpReply& r) { return r.command == "RCPT"; });
    return result;
  }
};

// The SendResult of a finished swaks run.
inline SendResult send_result_of(RunResult run) {
  SendResult result;
  result.replies = parse_swaks_transcript(run.out);
  result.reply = deciding_reply(result.replies);
  result.run = std::move(run);
  std::smatch m;
  static const std::regex queued(R"(queued as ([0-9A-Za-z]+))");
  if (result.reply.command == "EOM" && std::regex_search(result.reply.text, m, queued))
    result.queue_id = m[1];
  return result;
}

// ---- Mail and queue contents --------------------------------------------------------

// The value of the first header `name` (case-insensitive) of an RFC 5322 message,
// continuation lines joined with '\n'; nullopt when the header is absent.
inline std::optional<std::string> header_value(const std::string& message, const std::string& name) {
  std::istringstream in(message);
  const std::string wanted = lowercase(name) + ":";
  std::optional<std::string> value;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;  // end of the header section
    bool continuation = line[0] == ' ' || line[0] == '\t';
    if (value && continuation) {
      *value += "\n" + line;
    } else if (value) {
      break;
    } else if (!continuation && lowercase(line.substr(0, wanted.size())) == wanted) {
      size_t start = line.find_first_not_of(" \t", wanted.size());
      value = start == std::string::npos ? "" : line.substr(start);
    }
  }
  return value;
}

// When a Maildir file was delivered, from its name "SECONDS.V…I…M<microseconds>.host"
// as virtual(8) makes it: {seconds, microseconds}.
inline std::pair<long, long> maildir_time(const fs::path& file) {
  const std::string name = file.filename().string();
  size_t m = name.find('M', name.find('.'));
  return {std::atol(name.c_str()), m == std::string::npos ? 0 : std::atol(name.c_str() + m + 1)};
}

// A message the virtual(8) agent put into the Maildir.
struct DeliveredMessage {
  fs::path path;
  std::string content;

  std::optional<std::string> header(const std::string& name) const { return header_value(content, name); }
};

// A message in the hold queue: its envelope (from postqueue -j), its content (postcat
// -bh: header and body as the recipient would get them) and the log line text after
// "ID: " that says why it is held ("hold: header Subject: … : reason",
// "milter-hold: …", "placed on hold"), "" when nothing was logged.
struct HeldMessage {
  std::string queue_id;
  std::string sender;
  std::vector<std::string> recipients;
  std::string content;
  std::string reason;

  std::optional<std::string> header(const std::string& name) const { return header_value(content, name); }
};

// ---- Configuration ------------------------------------------------------------------

// What a test may choose about its Postfix. Timeouts are Postfix time values ("10s").
struct PostfixOptions {
  // Every recipient of these domains is delivered to the one Maildir.
  std::vector<std::string> domains = {"widget.com", "widget.ca", "example.com", "example.org",
                                      "example.test"};
  std::string smtpd_milters{};      // e.g. "unix:/path/policyd.sock" or "inet:127.0.0.1:PORT"; "" = none
  std::string non_smtpd_milters{};  // "" = none
  std::string milter_default_action = "tempfail";
  std::string milter_connect_timeout = "5s";
  std::string milter_command_timeout = "10s";
  std::string milter_content_timeout = "30s";
  long message_size_limit = 10240000;
  int default_process_limit = 100;
  // "ipv4, ipv6" lets XCLIENT name an IPv6 client; smtpd listens on 127.0.0.1 either way.
  std::string inet_protocols = "ipv4";
  std::vector<std::string> extra_main_cf{};    // lines appended to main.cf (later lines win)
  std::vector<std::string> extra_master_cf{};  // lines appended to master.cf
};

// The main.cf text for `options`, with the queue, data, Maildir and log under `dir`
// (smtpd's address and port are in master.cf).
inline std::string main_cf_text(const PostfixOptions& options, const fs::path& dir) {
  const passwd* pw = getpwnam("postfix");
  const std::string uid = pw ? std::to_string(pw->pw_uid) : "0";
  const std::string gid = pw ? std::to_string(pw->pw_gid) : "0";
  std::string domains;
  for (const std::string& d : options.domains) domains += (domains.empty() ? "" : ", ") + d;
  const std::string d = dir.string();
  std::vector<std::string> lines = {
      "compatibility_level = 3.6",
      "queue_directory = " + d + "/queue",
      "data_directory = " + d + "/data",
      // postlogd writes the log; only files under these prefixes are allowed.
      "maillog_file = " + d + "/maillog",
      "maillog_file_prefixes = " + d,
      "inet_interfaces = 127.0.0.1",
      "inet_protocols = " + options.inet_protocols,
      "myhostname = mx.gateway.test",
      "mydomain = gateway.test",
      "mydestination =",
      "mynetworks = 127.0.0.0/8",
      // Without these smtpd opens /etc/aliases.db and NIS for local recipients.
      "alias_maps =",
      "alias_database =",
      "local_recipient_maps =",
      "biff = no",
      // Only the test domains are accepted (5xx for the rest, even from mynetworks),
      // and nothing ever leaves the machine.
      "smtpd_relay_restrictions = reject_unauth_destination",
      "default_transport = error:5.7.1 outbound mail is disabled in the test Postfix",
      "relay_transport = error:5.7.1 outbound mail is disabled in the test Postfix",
      "virtual_mailbox_domains = " + domains,
      "virtual_mailbox_base = " + d + "/mail",
      "virtual_mailbox_maps = static:Maildir/",  // the trailing "/" makes it a Maildir
      "virtual_uid_maps = static:" + uid,
      "virtual_gid_maps = static:" + gid,
      "virtual_mailbox_limit = 0",  // must not be below message_size_limit
      "message_size_limit = " + std::to_string(options.message_size_limit),
      "smtp_dns_support_level = disabled",
      "lmtp_dns_support_level = disabled",
      "smtpd_peername_lookup = no",
      "smtpd_milters = " + options.smtpd_milters,
      "non_smtpd_milters = " + options.non_smtpd_milters,
      "milter_default_action = " + options.milter_default_action,
      "milter_connect_timeout = " + options.milter_connect_timeout,
      "milter_command_timeout = " + options.milter_command_timeout,
      "milter_content_timeout = " + options.milter_content_timeout,
      "milter_connect_macros = j {daemon_name} {daemon_addr} {daemon_port} v _ {client_addr} {client_port} "
      "{client_name} {client_ptr} {client_resolve}",
      "milter_helo_macros = {tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer} {client_addr} "
      "{client_name}",
      "milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer} "
      "{client_addr} {client_name}",
      "milter_rcpt_macros = i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
      "milter_end_of_data_macros = i j _ {client_addr} {client_port} {client_name} {client_ptr} {auth_type} "
      "{auth_authen} {auth_author} {tls_version} {cipher} {daemon_name} {daemon_addr} {mail_addr}",
      // Load tests open many connections from 127.0.0.1 and make many errors.
      "default_process_limit = " + std::to_string(options.default_process_limit),
      "smtpd_error_sleep_time = 0",
      "smtpd_soft_error_limit = 1000",
      "smtpd_hard_error_limit = 1000",
      "smtpd_client_connection_count_limit = 0",
      "smtpd_client_connection_rate_limit = 0",
      "smtpd_client_message_rate_limit = 0",
      "smtpd_client_recipient_rate_limit = 0",
      "smtpd_client_event_limit_exceptions = 127.0.0.0/8",
      // Deferred mail is retried within seconds, not minutes. Not sooner: the retry
      // time is kept in whole seconds, so a 1 s backoff may retry at once, while the
      // delivery agent still locks the file; qmgr then logs "skipped, still being
      // delivered" and parks the message in incoming for 60 s.
      "queue_run_delay = 1s",
      "minimal_backoff_time = 2s",
      "maximal_backoff_time = 4s",
  };
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  for (const std::string& line : options.extra_main_cf) text += line + "\n";
  return text;
}

// The master.cf text: the services of /etc/postfix/master.cf.proto that a gateway
// uses, none chrooted (the queue directory holds no copies of /etc or libraries),
// smtpd on 127.0.0.1:`port`, and the postlog service that maillog_file needs.
inline std::string master_cf_text(const PostfixOptions& options, int port) {
  std::string text = "127.0.0.1:" + std::to_string(port) +
                     " inet n - n - - smtpd\n"
                     "pickup     unix  n - n 60    1 pickup\n"
                     "cleanup    unix  n - n -     0 cleanup\n"
                     "qmgr       unix  n - n 300   1 qmgr\n"
                     "rewrite    unix  - - n -     - trivial-rewrite\n"
                     "bounce     unix  - - n -     0 bounce\n"
                     "defer      unix  - - n -     0 bounce\n"
                     "trace      unix  - - n -     0 bounce\n"
                     "verify     unix  - - n -     1 verify\n"
                     "flush      unix  n - n 1000? 0 flush\n"
                     "proxymap   unix  - - n -     - proxymap\n"
                     "proxywrite unix  - - n -     1 proxymap\n"
                     "smtp       unix  - - n -     - smtp\n"
                     "relay      unix  - - n -     - smtp\n"
                     "showq      unix  n - n -     - showq\n"
                     "error      unix  - - n -     - error\n"
                     "retry      unix  - - n -     - error\n"
                     "discard    unix  - - n -     - discard\n"
                     "local      unix  - n n -     - local\n"
                     "virtual    unix  - n n -     - virtual\n"
                     "anvil      unix  - - n -     1 anvil\n"
                     "scache     unix  - - n -     1 scache\n"
                     "postlog    unix-dgram n - n - 1 postlogd\n";
  for (const std::string& line : options.extra_master_cf) text += line + "\n";
  return text;
}

// ---- The instance -----------------------------------------------------------------

// One private Postfix. Construction writes the configuration; start() starts it; the
// destructor stops it, makes sure its processes are gone and removes the directory.
// A guard process stops it too if the test process dies without running destructors
// (a crash, ctest's timeout). Several instances may run at once (own dir and port).
// send() may be called from several threads at once; the rest belongs to one thread.
class PostfixInstance {
 public:
  explicit PostfixInstance(PostfixOptions options = {}) : options_(std::move(options)) {}
  ~PostfixInstance() { stop(); }
  PostfixInstance(const PostfixInstance&) = delete;
  PostfixInstance& operator=(const PostfixInstance&) = delete;

  const fs::path& dir() const { return scratch_.path(); }
  fs::path config_dir() const { return dir() / "conf"; }
  fs::path queue_dir() const { return dir() / "queue"; }
  fs::path maildir() const { return dir() / "mail" / "Maildir"; }
  fs::path log_path() const { return dir() / "maillog"; }
  // The smtpd port (0 before start()).
  int port() const { return port_; }
  const PostfixOptions& options() const { return options_; }

  // Writes `text` to `name` in the config directory (e.g. a header_checks table that
  // main.cf names as regexp:$config_directory/NAME) and returns its path.
  fs::path write_config_file(const std::string& name, const std::string& text) const {
    return scratch_.write("conf/" + name, text);
  }

  // Writes the configuration and starts Postfix; success once smtpd listens. A port
  // taken meanwhile by someone else is retried with another.
  ::testing::AssertionResult start() {
    if (running_) return ::testing::AssertionFailure() << "already started";
    std::string errors;
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_tcp_port();
      if (port_ == 0) return ::testing::AssertionFailure() << "no free TCP port on 127.0.0.1";
      ::testing::AssertionResult result = start_on_port();
      if (result) return result;
      errors += std::string(result.message()) + "\n";
    }
    port_ = 0;
    return ::testing::AssertionFailure() << "Postfix did not start:\n" << errors << "log:\n" << log();
  }

  // Stops Postfix (postfix stop), waits up to 10 s for the master to exit and then
  // SIGKILLs whatever is left of its process group; ends the guard process. Called by
  // the destructor; harmless twice.
  void stop() {
    if (running_) {
      pid_t master = master_pid();
      tool("postfix", {"stop"});
      if (master > 0) {
        poll_until(10s, [&] { return !process_alive(master); });
        kill(-master, SIGKILL);  // the master is the leader of its daemons' group
      }
      running_ = false;
    }
    stop_guard();
  }

  // Runs the Postfix command `name` (postfix, postqueue, postsuper, postcat, postconf,
  // …) with `-c <config dir>` and `args`.
  RunResult tool(const std::string& name, const std::vector<std::string>& args) const {
    std::string command = "/usr/sbin/" + name + " -c " + mp::e2e::shell_quote(config_dir().string());
    for (const std::string& a : args) command += " " + mp::e2e::shell_quote(a);
    return mp::e2e::run_shell(command + " 2>&1");
  }

  // Sends `message` with swaks to this Postfix and returns what swaks saw.
  SendResult send(const Message& message) const {
    std::vector<std::string> args = {"--from", message.from, "--helo", message.helo};
    std::string to;
    for (const std::string& t : message.to) to += (to.empty() ? "" : ",") + t;
    args.insert(args.end(), {"--to", to});
    if (!message.data.empty()) {
      const std::string name = "swaks/message-" + std::to_string(sends_++) + ".eml";
      args.insert(args.end(), {"--data", scratch_.write(name, message.data).string()});
    } else {
      for (const std::string& h : message.headers) args.insert(args.end(), {"--header", h});
      if (!message.body.empty()) args.insert(args.end(), {"--body", message.body});
    }
    args.insert(args.end(), message.swaks_args.begin(), message.swaks_args.end());
    return swaks(args);
  }

  // Runs swaks with `--server 127.0.0.1:PORT` and `args` as they are.
  SendResult swaks(const std::vector<std::string>& args) const {
    std::string command = kSwaks.string() + " --server 127.0.0.1:" + std::to_string(port_) + " --timeout 60";
    for (const std::string& a : args) command += " " + mp::e2e::shell_quote(a);
    return send_result_of(mp::e2e::run_shell(command + " 2>&1 </dev/null"));
  }

  // The messages in the Maildir (new/ and cur/), in the order of delivery.
  std::vector<DeliveredMessage> delivered() const {
    std::vector<DeliveredMessage> result;
    for (const char* sub : {"new", "cur"}) {
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(maildir() / sub, ec)) {
        if (entry.is_regular_file()) result.push_back({entry.path(), mp::e2e::read_text(entry.path())});
      }
    }
    std::sort(result.begin(), result.end(), [](const DeliveredMessage& a, const DeliveredMessage& b) {
      return maildir_time(a.path) < maildir_time(b.path);
    });
    return result;
  }

  // Waits until at least `count` messages are in the Maildir; false on timeout.
  bool wait_for_delivered(size_t count, std::chrono::milliseconds timeout = 10s) const {
    return poll_until(timeout, [&] { return delivered().size() >= count; });
  }

  // The queue as `postqueue -j` lists it: one JSON object per message, with
  // queue_name (incoming, active, deferred, hold, maildrop), queue_id, sender and
  // recipients (address, delay_reason).
  std::vector<nlohmann::json> queue() const {
    std::vector<nlohmann::json> result;
    RunResult r = tool("postqueue", {"-j"});
    EXPECT_EQ(r.status, 0) << mp::e2e::describe(r);
    for (const std::string& line : r.lines()) result.push_back(mp::e2e::parse_json_line(line));
    return result;
  }

  // How many messages are in queue `name` (e.g. "deferred", "active", "hold").
  size_t queue_count(const std::string& name) const {
    auto q = queue();
    return static_cast<size_t>(std::count_if(
        q.begin(), q.end(), [&](const nlohmann::json& m) { return m.value("queue_name", "") == name; }));
  }
  size_t deferred() const { return queue_count("deferred"); }
  size_t active() const { return queue_count("active"); }

  // The hold queue with each message's content and the logged reason it is held.
  // The reason is waited for up to 2 s, since the log is written by another process.
  std::vector<HeldMessage> held() const {
    std::vector<HeldMessage> result;
    for (const nlohmann::json& m : queue()) {
      if (m.value("queue_name", "") != "hold") continue;
      HeldMessage h;
      h.queue_id = m.value("queue_id", "");
      h.sender = m.value("sender", "");
      for (const auto& r : m.value("recipients", nlohmann::json::array()))
        h.recipients.push_back(r.value("address", ""));
      h.content = tool("postcat", {"-bh", "-q", h.queue_id}).out;
      h.reason = hold_reason(h.queue_id);
      result.push_back(h);
    }
    return result;
  }

  // Waits until the queue holds nothing but held mail (everything else delivered or
  // bounced); false on timeout, e.g. when mail stays deferred.
  bool wait_until_idle(std::chrono::milliseconds timeout = 10s) const {
    return poll_until(timeout, [&] {
      auto q = queue();
      return std::all_of(q.begin(), q.end(),
                         [](const nlohmann::json& m) { return m.value("queue_name", "") == "hold"; });
    });
  }

  // The Postfix log so far (postlogd writes it a moment after the event).
  std::string log() const { return mp::e2e::read_text(log_path()); }

  // The log lines containing a match of the ECMAScript regex `pattern`.
  std::vector<std::string> log_lines_matching(const std::string& pattern) const {
    return lines_matching(log(), pattern);
  }

  // Waits until some log line matches `pattern` and returns the matching lines; empty
  // on timeout.
  std::vector<std::string> wait_for_log(const std::string& pattern,
                                        std::chrono::milliseconds timeout = 5s) const {
    std::vector<std::string> lines;
    poll_until(timeout, [&] { return !(lines = log_lines_matching(pattern)).empty(); });
    return lines;
  }

 private:
  // Writes the configuration for port_, starts Postfix and waits for smtpd.
  ::testing::AssertionResult start_on_port() {
    mp::e2e::write_text(config_dir() / "main.cf", main_cf_text(options_, dir()));
    mp::e2e::write_text(config_dir() / "master.cf", master_cf_text(options_, port_));
    if (::testing::AssertionResult made = make_directories(); !made) return made;
    backdate_config_files();
    start_guard();
    RunResult r = tool("postfix", {"start"});
    if (r.status != 0)
      return ::testing::AssertionFailure() << "postfix start on port " << port_ << ":\n" << r.out;
    running_ = true;
    if (!poll_until(10s, [&] { return port_listening(port_); })) {
      stop();
      return ::testing::AssertionFailure() << "smtpd does not listen on port " << port_;
    }
    return ::testing::AssertionSuccess();
  }

  // Creates the queue directories as post-install would (owners and modes from
  // /etc/postfix/postfix-files) plus the data directory and the Maildir base, and
  // marks the queue "quick-start" so that `postfix start` skips its integrity checks:
  // those run post-install and take 2-3 s, on a queue that is new anyway.
  ::testing::AssertionResult make_directories() const {
    const passwd* pw = getpwnam("postfix");
    const group* postdrop = getgrnam("postdrop");
    if (pw == nullptr || postdrop == nullptr)
      return ::testing::AssertionFailure() << "no postfix user or postdrop group";
    struct Dir {
      fs::path path;
      uid_t uid;
      gid_t gid;
      mode_t mode;
    };
    const fs::path q = queue_dir();
    std::vector<Dir> dirs = {{q, 0, 0, 0755},
                             {q / "pid", 0, 0, 0755},
                             {q / "maildrop", pw->pw_uid, postdrop->gr_gid, 0730},
                             {q / "public", pw->pw_uid, postdrop->gr_gid, 0710},
                             {dir() / "data", pw->pw_uid, pw->pw_gid, 0700},
                             {dir() / "mail", pw->pw_uid, pw->pw_gid, 0755}};
    for (const char* name : {"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
                             "private", "saved", "trace"}) {
      dirs.push_back({q / name, pw->pw_uid, 0, 0700});
    }
    for (const Dir& d : dirs) {
      std::error_code ec;
      fs::create_directories(d.path, ec);
      if (ec || chown(d.path.c_str(), d.uid, d.gid) != 0 || chmod(d.path.c_str(), d.mode) != 0) {
        return ::testing::AssertionFailure() << "cannot create " << d.path;
      }
    }
    mp::e2e::write_text(q / "quick-start", "");
    return ::testing::AssertionSuccess();
  }

  // Sets the modification time of the config files a minute back. While main.cf's
  // mtime is within a second of reading it, Postfix takes it for half written and
  // reads it again every 300 ms ("let it cool down"): 2-3 s per start otherwise.
  void backdate_config_files() const {
    const auto past = fs::file_time_type::clock::now() - std::chrono::minutes(1);
    for (const auto& entry : fs::directory_iterator(config_dir())) {
      std::error_code ec;
      if (entry.is_regular_file()) fs::last_write_time(entry.path(), past, ec);
    }
  }

  // The master's pid from its pid file; 0 when there is none.
  pid_t master_pid() const {
    return static_cast<pid_t>(std::atoi(mp::e2e::read_text(queue_dir() / "pid" / "master.pid").c_str()));
  }

  // The log text after "ID: " of the first line saying why `queue_id` is held, "".
  std::string hold_reason(const std::string& queue_id) const {
    const std::string pattern = queue_id + ": (hold|milter-hold|placed on hold)";
    std::vector<std::string> lines = wait_for_log(pattern, 2s);
    return lines.empty() ? ""
                         : lines.front().substr(lines.front().find(queue_id + ": ") + queue_id.size() + 2);
  }

  // Starts the guard: a shell that blocks reading a pipe only this process writes to.
  // When the process ends in any way the pipe closes, and for 10 s the shell SIGKILLs
  // the process group of the master named in the pid file (for as long, since a
  // `postfix start` left running by the dead process may still bring one up), then
  // removes the directory. The write end is close-on-exec, so neither Postfix nor
  // other programs keep it open.
  void start_guard() {
    if (guard_pid_ > 0) return;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    const std::string d = mp::e2e::shell_quote(dir().string());
    const std::string script = "read _; i=0; while [ $i -lt 50 ]; do pid=$(awk 'NR == 1 { print $1 }' " + d +
                               "/queue/pid/master.pid 2>/dev/null); [ -n \"$pid\" ] && kill -9 -$pid; " +
                               "i=$((i + 1)); sleep 0.2; done; rm -rf " + d;
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[0], 0);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      setsid();  // out of the test's process group, so a ^C reaches the test only
      execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[0]);
    if (pid < 0) {
      close(fds[1]);
      return;
    }
    guard_pid_ = pid;
    guard_fd_ = fds[1];
  }

  // Ends the guard without letting it act (the destructor does its work).
  void stop_guard() {
    if (guard_pid_ <= 0) return;
    kill(guard_pid_, SIGKILL);
    waitpid(guard_pid_, nullptr, 0);
    close(guard_fd_);
    guard_pid_ = -1;
    guard_fd_ = -1;
  }

  PostfixOptions options_;
  mp::e2e::TempDir scratch_;
  int port_ = 0;
  bool running_ = false;
  pid_t guard_pid_ = -1;
  int guard_fd_ = -1;
  mutable std::atomic<int> sends_ = 0;
};

// A fixture for tests that need a private Postfix: skips them (with the reason) where
// one cannot run.
class PostfixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = postfix_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  }
};

}  // namespace mp::gateway_test
