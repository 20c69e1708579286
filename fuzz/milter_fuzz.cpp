// libFuzzer target: policyd's milter side (tools/policyd/milter.cpp and service.cpp:
// the callbacks that collect the session and the message, the judgement, the reply
// and header actions), driven through libmilter over its unix socket as an MTA would.
//
// Once: the widget example policy is compiled into an image in a private directory,
// policyd's Config is read from a file there (DNS at 127.0.0.1:1 with short timeouts,
// so facts fail fast; no metrics endpoint; log to /dev/null), and smfi_main() serves
// in a thread. Per input: one connection, a valid option negotiation, then the input
// as milter commands, then the write side is shut and every reply read until policyd
// closes. A close that takes over 2 s traps: a hang is a finding, not a stuck run.
//
// Input: a sequence of chunks, each a command byte ('C' connect, 'H' helo, 'M' mail,
// 'R' rcpt, 'L' header, 'N' end of header, 'B' body, 'E' end of body, 'D' macros,
// 'A' abort, 'Q' quit... see libmilter/mfdef.h), a 2-byte big-endian data length
// (cut to what is left) and the data. The target adds the 4-byte length prefix of the
// wire format itself, so mutations go into the data and not into framing that
// libmilter would merely refuse. Macro chunks whose strings do not pair up get an
// empty last value (see macros(): a libmilter crash, not policyd's).
#include <libmilter/mfapi.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "compiler/compiler.h"
#include "fuzz/temp_dir.h"
#include "tools/policyd/config.h"
#include "tools/policyd/metrics.h"
#include "tools/policyd/milter.h"
#include "tools/policyd/service.h"
#include "vm/vm.h"

namespace {

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string write_image(const std::string& dir) {
  mp::compiler::Compilation c = mp::compiler::compile_file(MP_SOURCE_DIR "/examples/widget/policy.mp");
  if (!c.ok()) __builtin_trap();
  write_file(dir + "/policy.mpi", mp::vm::write_image(*c.image));
  return dir + "/policy.mpi";
}

std::string write_config(const std::string& dir, const std::string& image) {
  write_file(dir + "/policyd.conf", "socket = unix:" + dir + "/policyd.sock\n" +  //
                                        "image = " + image + "\n" +               //
                                        "log = /dev/null\n"
                                        "reload.poll_ms = 0\n"
                                        "milter.timeout_s = 10\n"
                                        "limits.time_budget_ms = 1000\n"
                                        "dns.servers = 127.0.0.1:1\n"
                                        "dns.timeout_ms = 20\n"
                                        "facts.budget_ms = 100\n");
  return dir + "/policyd.conf";
}

// Starts policyd's milter; returns the socket's path. Everything lives until exit:
// smfi_main() never returns here, and libFuzzer ends the process with exit(). Held by
// static pointers (never destroyed under the milter thread), which LeakSanitizer reads
// as reachable.
std::string start_policyd() {
  static mp::policyd::Config* config = nullptr;
  static mp::policyd::Metrics* metrics = nullptr;
  static mp::policyd::JsonLog* log = nullptr;
  static mp::policyd::Service* service = nullptr;
  const std::string dir = mp::fuzz::private_directory("milter_fuzz");
  const std::string image = write_image(dir);
  config = new mp::policyd::Config(mp::policyd::read_config(write_config(dir, image)));
  metrics = new mp::policyd::Metrics();
  log = new mp::policyd::JsonLog(config->log);
  service = new mp::policyd::Service(*config, *metrics, *log);
  mp::policyd::register_milter(*service);
  std::thread([] { smfi_main(); }).detach();
  return mp::policyd::unix_socket_path(config->socket);
}

void frame(std::string& out, char command, std::string_view data) {
  const uint32_t length = static_cast<uint32_t>(data.size() + 1);
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(length >> shift & 0xff);
  out += command;
  out.append(data);
}

// What an MTA says first: protocol version 6, every action, every protocol step
// offered (the milter picks the ones it wants, as with Postfix).
std::string negotiation() {
  std::string data;
  for (uint32_t v : {6u, 0x1ffu, 0x1fffffu}) {
    for (int shift = 24; shift >= 0; shift -= 8) data += static_cast<char>(v >> shift & 0xff);
  }
  std::string out;
  frame(out, SMFIC_OPTNEG, data);
  return out;
}

// A macro command ('D') as an MTA sends it: the step's letter, then name and value
// pairs. libmilter does not check that the strings pair up, and smfi_getsymval()
// (libmilter 8.17.1) steps over the end of a list of odd length and reads wild
// pointers: a crash of libmilter's on input only a broken MTA sends, which policyd
// cannot see or guard against. So an odd list gets an empty last value.
std::string macros(std::string_view data) {
  std::string out(data);
  const auto strings = std::count(data.begin() + std::min<size_t>(1, data.size()), data.end(), '\0');
  if (strings % 2 == 1) out += '\0';
  return out;
}

std::string framed(const uint8_t* data, size_t size) {
  std::string out = negotiation();
  for (size_t pos = 0; pos < size;) {
    const char command = static_cast<char>(data[pos++]);
    size_t length = 0;
    for (int i = 0; i < 2 && pos < size; ++i) length = length << 8 | data[pos++];
    length = std::min(length, size - pos);
    const std::string_view chunk(reinterpret_cast<const char*>(data) + pos, length);
    frame(out, command, command == SMFIC_MACRO ? macros(chunk) : std::string(chunk));
    pos += length;
  }
  return out;
}

int connect_to(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), std::min(path.size(), sizeof address.sun_path - 1));
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) __builtin_trap();
  return fd;
}

// Sends everything (the replies are read after, so the session must fit in the socket
// buffers: inputs are a few KB), then reads until policyd closes. libFuzzer's -timeout
// timer (SIGALRM) interrupts these calls now and then: EINTR is no answer.
void converse(int fd, const std::string& bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // policyd closed early (a reject, a protocol error)
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  char buffer[4096];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    const int ready = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      std::fprintf(stderr, "milter_fuzz: policyd did not close the connection within 2 s\n");
      __builtin_trap();
    }
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string socket_path = start_policyd();
  // A session of over 64 KB could fill the socket buffers before any reply is read.
  if (size > 65536) return 0;
  const int fd = connect_to(socket_path);
  converse(fd, framed(data, size));
  close(fd);
  return 0;
}
