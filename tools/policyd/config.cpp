#include "tools/policyd/config.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace mp::policyd {

namespace {

std::string trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(" \t\r");
  return std::string(s.substr(begin, end - begin + 1));
}

// Thrown by the value parsers; read_config adds FILE:LINE.
struct BadValue : std::runtime_error {
  using std::runtime_error::runtime_error;
};

long long number(const std::string& key, const std::string& value, long long low, long long high,
                 int base = 10) {
  long long n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n, base);
  if (ec != std::errc() || end != value.data() + value.size() || n < low || n > high)
    throw BadValue(key + ": `" + value + "` is not a number from " + std::to_string(low) + " to " +
                   std::to_string(high));
  return n;
}

template <class T>
T choice(const std::string& key, const std::string& value,
         std::initializer_list<std::pair<const char*, T>> choices) {
  std::string names;
  for (const auto& [name, result] : choices) {
    if (value == name) return result;
    names += (names.empty() ? "" : " | ") + std::string(name);
  }
  throw BadValue(key + ": `" + value + "` is not one of " + names);
}

// `headers = x-policy, authentication-results` (or `none`).
void set_headers(Config& c, const std::string& value) {
  c.x_policy_headers = c.authentication_results = false;
  size_t i = 0;
  while (i <= value.size()) {
    size_t end = value.find_first_of(", ", i);
    if (end == std::string::npos) end = value.size();
    std::string word = value.substr(i, end - i);
    i = end + 1;
    if (word.empty() || word == "none") continue;
    if (word == "x-policy")
      c.x_policy_headers = true;
    else if (word == "authentication-results")
      c.authentication_results = true;
    else
      throw BadValue("headers: `" + word + "` is not x-policy, authentication-results or none");
  }
}

// libmilter's forms: unix:/PATH (also local:/PATH or a bare /PATH), inet:PORT@HOST,
// inet6:PORT@HOST (without @HOST: every address). libmilter would take any other word
// for a relative file name and make a socket of that name in the working directory.
void check_socket(const std::string& value) {
  if (std::string path = unix_socket_path(value); !path.empty()) {
    if (path.size() >= sizeof(sockaddr_un{}.sun_path))
      throw BadValue("socket: the path of `" + value + "` is longer than " +
                     std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
    return;
  }
  for (const char* prefix : {"unix:", "local:"}) {
    if (value.starts_with(prefix))
      throw BadValue("socket: `" + value +
                     "`: the path must be absolute (unix:/run/mailpolicy/policyd.sock)");
  }
  for (const char* prefix : {"inet:", "inet6:"}) {
    if (!value.starts_with(prefix)) continue;
    std::string rest = value.substr(std::strlen(prefix));
    size_t at = rest.find('@');
    if (at != std::string::npos && at + 1 == rest.size())
      throw BadValue("socket: `" + value + "` names no host after `@` (" + prefix + "PORT@HOST)");
    number("socket: the port of `" + value + "`", rest.substr(0, at), 1, 65535);
    return;
  }
  throw BadValue("socket: `" + value + "` is not unix:/PATH, inet:PORT@HOST or inet6:PORT@HOST");
}

// `metrics = IPv4-ADDRESS:PORT` (port 0: the kernel picks one).
void check_metrics(const std::string& value) {
  size_t colon = value.rfind(':');
  in_addr address{};
  if (colon == std::string::npos || inet_pton(AF_INET, value.substr(0, colon).c_str(), &address) != 1)
    throw BadValue("metrics: `" + value + "` is not IPv4-ADDRESS:PORT (e.g. 127.0.0.1:9187)");
  number("metrics: the port of `" + value + "`", value.substr(colon + 1), 0, 65535);
}

bool library_key(const std::string& key) {
  static const char* const keys[] = {
      "dns.servers", "dns.timeout_ms", "facts", "facts.budget_ms", "facts.max_queries",
      "geoip.path",  "authserv_id",    "trace", "clamd",           "clamd.timeout_ms",
      "state"};
  for (const char* k : keys) {
    if (key == k) return true;
  }
  return false;
}

void set(Config& c, const std::string& key, const std::string& value, int line) {
  if (key == "socket") {
    check_socket(value);
    c.socket = value;
  } else if (key == "socket.mode")
    c.socket_mode = static_cast<int>(number(key, value, 0, 0777, 8));
  else if (key == "image")
    c.image = value;
  else if (key == "reload.poll_ms")
    c.reload_poll_ms = static_cast<int>(number(key, value, 0, 3600000));
  else if (key == "on_error")
    c.on_error = choice(key, value, {std::pair{"tempfail", OnError::Tempfail}, {"accept", OnError::Accept}});
  else if (key == "headers")
    set_headers(c, value);
  else if (key == "tags")
    c.tags = choice(
        key, value,
        {std::pair{"header", TagMode::Header}, {"subject", TagMode::Subject}, {"none", TagMode::None}});
  else if (key == "quarantine")
    c.quarantine =
        choice(key, value, {std::pair{"hold", QuarantineMode::Hold}, {"header", QuarantineMode::Header}});
  else if (key == "recipient_split")
    c.recipient_split =
        choice(key, value, {std::pair{"defer", RecipientSplit::Defer}, {"off", RecipientSplit::Off}});
  else if (key == "limits.max_message_bytes") {
    c.max_message_bytes = static_cast<size_t>(number(key, value, 1, 2147483647));
    c.library.push_back({key, value, line});
  } else if (key == "limits.time_budget_ms")
    c.time_budget_ms = static_cast<int>(number(key, value, 1, 3600000));
  else if (key == "limits.max_inflight")
    c.max_inflight = static_cast<int>(number(key, value, 1, 100000));
  else if (key == "milter.timeout_s")
    c.milter_timeout_s = static_cast<int>(number(key, value, 1, 86400));
  else if (key == "metrics") {
    if (!value.empty()) check_metrics(value);
    c.metrics = value;
  } else if (key == "log")
    c.log = value;
  else if (library_key(key)) {
    if (key == "authserv_id") c.authserv_id = value;
    c.library.push_back({key, value, line});
  } else
    throw BadValue("unknown key `" + key + "` (docs/gateway.md lists the keys)");
}

}  // namespace

std::string unix_socket_path(const std::string& socket) {
  for (const char* prefix : {"unix:", "local:"}) {
    if (socket.starts_with(prefix) && socket.size() > std::strlen(prefix) &&
        socket[std::strlen(prefix)] == '/')
      return socket.substr(std::strlen(prefix));
  }
  return socket.starts_with("/") ? socket : "";
}

Config read_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read the configuration file: " + std::strerror(errno));
  Config config;
  config.path = path;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    std::string text = trim(line.substr(0, line.find('#')));
    if (text.empty()) continue;
    size_t eq = text.find('=');
    std::string where = path + ":" + std::to_string(number) + ": ";
    if (eq == std::string::npos)
      throw std::runtime_error(where + "expected `key = value`, found `" + text + "`");
    try {
      set(config, trim(text.substr(0, eq)), trim(text.substr(eq + 1)), number);
    } catch (const BadValue& e) {
      throw std::runtime_error(where + e.what());
    }
  }
  if (config.socket.empty())
    throw std::runtime_error(path + ": no `socket = ...` (unix:/path or inet:PORT@HOST)");
  if (config.image.empty())
    throw std::runtime_error(path + ": no `image = ...` (a policy built by policyc build)");
  return config;
}

}  // namespace mp::policyd
