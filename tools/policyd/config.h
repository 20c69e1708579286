// policyd's configuration file: one `key = value` per line, `#` starts a comment,
// blank lines ignored; every key documented in docs/gateway.md. The keys of the
// library's mp_config (dns.*, facts*, geoip.path, authserv_id, trace,
// limits.max_message_bytes) pass through to mp_config_set, so policyd and an
// embedder spell them the same.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mp::policyd {

enum class OnError { Tempfail, Accept };       // when a message cannot be judged
enum class TagMode { Header, Subject, None };  // where the verdict's tags go
enum class QuarantineMode { Hold, Header };    // Postfix hold queue, or a header only
// A RCPT whose recipient class (mp_recipient_class) differs from the transaction's
// first recipient's: 452 4.5.3, so the client sends it in a transaction of its own.
enum class RecipientSplit { Defer, Off };

struct Config {
  std::string path;           // the file this came from
  std::string socket;         // libmilter's form: unix:/path, inet:PORT@HOST, inet6:…
  int socket_mode = 0660;     // permission bits of a unix socket
  std::string image;          // compiled policy (policyc build)
  int reload_poll_ms = 2000;  // how often the image file is checked; 0: SIGHUP only
  OnError on_error = OnError::Tempfail;
  bool x_policy_headers = true;  // X-Policy-Verdict/Score/Rule on accepted mail
  bool authentication_results = true;
  TagMode tags = TagMode::Header;
  QuarantineMode quarantine = QuarantineMode::Hold;
  RecipientSplit recipient_split = RecipientSplit::Defer;
  size_t max_message_bytes = size_t{64} << 20;
  int time_budget_ms = 30000;              // whole evaluation; over it: on_error
  int max_inflight = 64;                   // evaluations at once; more: on_error (overloaded)
  int milter_timeout_s = 300;              // libmilter's read/write timeout with the MTA
  std::string metrics;                     // "HOST:PORT" of the Prometheus endpoint; "": off
  std::string authserv_id = "mailpolicy";  // also a library key: ours in Authentication-Results
  std::string log = "-";                   // JSON log lines: a file path, or "-" for stderr
  // mp_config keys and values, in file order, with their line (checked by
  // mp_config_set at start; an error names path:line).
  struct LibrarySetting {
    std::string key, value;
    int line = 0;
  };
  std::vector<LibrarySetting> library;
};

// Reads and checks the file; throws std::runtime_error "FILE:LINE: what is wrong"
// (unknown key, bad value, a socket or metrics address of the wrong form, missing
// socket or image).
Config read_config(const std::string& path);

// The file of a unix-domain socket (`unix:/path`, `local:/path` or `/path`); "" for
// inet and inet6.
std::string unix_socket_path(const std::string& socket);

}  // namespace mp::policyd
