// Solver checks in a child process (isolated.h).
#include "explore/isolated.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <system_error>

#include "explore/regex_smt.h"

namespace mp::explore {

namespace {

// What a child takes to start (the fork of a process of a few hundred MB): not the
// solver's time, which would otherwise be all of a limit of a few milliseconds.
constexpr unsigned kStartMs = 20;

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);  // the parent has gone: nothing to report to
    done += static_cast<size_t>(n);
  }
}

// Reads the child's bytes until it closes the pipe; false at the deadline.
bool read_until(int fd, std::chrono::steady_clock::time_point deadline, std::string& out) {
  char buf[4096];
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) fail("poll");
    if (ready == 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read");
    if (n == 0) return true;
    out.append(buf, static_cast<size_t>(n));
  }
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail("waitpid");
  }
  return status;
}

// A value as tag, length, ':' and its text.
void put(std::string& out, char tag, const std::string& text) {
  out += tag + std::to_string(text.size()) + ":" + text;
}

std::optional<std::pair<char, std::string>> take(const std::string& in, size_t& at) {
  if (at >= in.size()) return std::nullopt;
  char tag = in[at];
  size_t colon = in.find(':', at + 1);
  if (colon == std::string::npos) return std::nullopt;
  size_t length = std::stoul(in.substr(at + 1, colon - at - 1));
  if (colon + 1 + length > in.size()) return std::nullopt;
  at = colon + 1 + length;
  return std::pair{tag, in.substr(colon + 1, length)};
}

std::string encoded(const z3::expr& v) {
  std::string out;
  if (v.is_string_value())
    put(out, 'S', v.get_string());
  else if (v.is_bool())
    put(out, 'B', v.is_true() ? "1" : "0");
  else if (v.is_numeral())
    put(out, 'N', Z3_get_numeral_string(v.ctx(), v));
  else
    throw std::logic_error("a model value that is no constant: " + v.to_string());
  return out;
}

z3::expr decoded(const z3::expr& like, char tag, const std::string& text) {
  z3::context& ctx = like.ctx();
  if (tag == 'S') return string_constant(ctx, text);
  if (tag == 'B') return ctx.bool_val(text == "1");
  if (like.is_bv()) return ctx.bv_val(text.c_str(), like.get_sort().bv_size());
  if (like.is_int()) return ctx.int_val(text.c_str());
  return ctx.real_val(text.c_str());
}

}  // namespace

std::optional<std::string> in_child(const std::function<std::string()>& work, unsigned limit_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail("pipe");
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    fail("fork");
  }
  if (pid == 0) {
    ::close(fds[0]);
    const rlimit no_core{0, 0};  // a solver crash is expected here: no core file in the user's directory
    ::setrlimit(RLIMIT_CORE, &no_core);
    try {
      write_all(fds[1], work());
    } catch (...) {
      _exit(2);
    }
    _exit(0);  // no exit handlers, no stdio flush: the parent owns those
  }
  ::close(fds[1]);
  std::string out;
  bool finished = false;
  try {
    finished = read_until(fds[0], deadline, out);
  } catch (...) {
    ::close(fds[0]);
    ::kill(pid, SIGKILL);
    reap(pid);
    throw;
  }
  ::close(fds[0]);
  if (!finished) ::kill(pid, SIGKILL);
  int status = reap(pid);
  if (!finished || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

ChildCheck check_in_child(z3::solver& solver, const z3::expr_vector& assumptions,
                          const std::vector<z3::expr>& values, unsigned limit_ms) {
  auto work = [&] {
    z3::check_result r = assumptions.empty() ? solver.check() : solver.check(assumptions);
    std::string out(1, r == z3::sat ? 's' : r == z3::unsat ? 'u' : '?');
    if (r == z3::sat) {
      z3::model m = solver.get_model();
      for (const auto& v : values) out += encoded(m.eval(v, true));
    }
    if (r == z3::unsat && !assumptions.empty()) {
      z3::expr_vector core = solver.unsat_core();
      for (unsigned i = 0; i < assumptions.size(); ++i) {
        for (unsigned k = 0; k < core.size(); ++k) {
          if (z3::eq(core[k], assumptions[i])) put(out, 'C', std::to_string(i));
        }
      }
    }
    return out;
  };
  ChildCheck c;
  auto out = in_child(work, limit_ms + kStartMs);
  if (!out || out->empty()) return c;
  size_t at = 1;
  if ((*out)[0] == 's') {
    for (const auto& v : values) {
      auto value = take(*out, at);
      if (!value) return c;
      c.values.push_back(decoded(v, value->first, value->second));
    }
    c.result = z3::sat;
  } else if ((*out)[0] == 'u') {
    while (auto index = take(*out, at)) c.core.push_back(static_cast<unsigned>(std::stoul(index->second)));
    c.result = z3::unsat;
  }
  return c;
}

}  // namespace mp::explore
