// av/: virus scanning through a running clamd (ClamAV's daemon), the scanner gateways
// already run. One call sends the whole message with clamd's INSTREAM command (the
// clamd(8) manual: "zINSTREAM\0", then chunks of <4-byte big-endian length><bytes>,
// ended by a zero length) and reads its one-line answer; clamd unpacks MIME, archives
// and Office files itself.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "runtime/api_export.h"

namespace mp::av {

struct ClamdOptions {
  // "unix:/run/clamav/clamd.ctl" or a path starting with "/" (a unix socket), or
  // "inet:HOST:PORT" / "HOST:PORT" (TCP; "[v6]:PORT" for IPv6).
  std::string address;
  // For the whole scan: connect, send and clamd's answer.
  std::chrono::milliseconds timeout{30000};
  size_t chunk_bytes = 64 * 1024;  // INSTREAM chunk size
};

struct ScanResult {
  enum class Status { Clean, Infected, Error };
  Status status = Status::Error;
  std::string signature;  // when Infected: clamd's name for it ("Win.Test.EICAR_HDB-1")
  std::string detail;     // when Error: what failed ("connect /run/clamav/clamd.ctl: No such file…")
  double seconds = 0;     // wall time of the scan
};

// Scans `data` (bytes). Never throws for a clamd problem: a refused or dropped
// connection, a timeout, clamd's "size limit exceeded" or any ERROR answer is
// Status::Error with the reason in `detail`. Throws std::bad_alloc only.
MP_API ScanResult scan(std::string_view data, const ClamdOptions& options);

// The problem with an address, or "" when scan() can use it (checked by the tools and
// policyd before the first message).
MP_API std::string address_problem(std::string_view address);

// "clean", "infected", "error": the values of the `av` fact.
MP_API std::string_view status_name(ScanResult::Status status);

}  // namespace mp::av
