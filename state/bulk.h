// Bulk: how many messages with (nearly) the same body text the gateway saw in the last
// day — one campaign to many recipients, the same spam from many addresses (seed 002).
// The text is normalised (lowercase, digits and blanks folded: personalised numbers and
// layout do not matter) and fingerprinted with ssdeep (libfuzzy, context-triggered
// piecewise hashing): similar texts share stretches of their fingerprint. Each message
// is counted under a few 7-character pieces of it, the ones with the smallest hashes
// (min-hash sampling, so that similar texts pick the same pieces), at the fingerprint's
// block size and at double it (ssdeep compares those two); its count is the median of
// theirs (the lower one of an even number), so that a campaign's copies, which share
// most pieces, count together, and a mailing list's messages, which share a footer, do
// not. Key layout in docs/state.md: bulk:BLOCKSIZE:PIECE, counted as rates.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/api_export.h"
#include "runtime/ip.h"
#include "state/store.h"

namespace mp::state {

inline constexpr double kBulkWindow = 86400;  // seconds: bulk.count is of the last day

struct BulkFingerprint {
  std::string ssdeep;             // "BLOCKSIZE:CHUNK:DOUBLE_CHUNK"; "" when the text is too short
  std::vector<std::string> keys;  // the rate keys it counts under: "bulk:48:Kx3mPq0"
};

// The fingerprint of a body text (bytes, UTF-8 or not). A text of fewer than 64
// meaningful bytes gets none: short notes are too alike to tell campaigns apart.
MP_API BulkFingerprint bulk_fingerprint(std::string_view text);

// Snowshoe spam: one text sent from many addresses of one network, a few messages
// each, so that no address looks busy. Marks `client` under each of the fingerprint's
// pieces for a day and returns how many distinct addresses of its network (IPv4 /24,
// IPv6 /64) are marked under the pieces, the median over the pieces, this one
// included. A piece's network count lasts while the text keeps coming (it expires a
// day after its last new address); an address seen again after a day counts again.
// 0 without keys. Throws StoreUnavailable.
MP_API double count_bulk_addresses(Store& store, const BulkFingerprint& fingerprint,
                                   const runtime::IpAddress& client);

// Counts this message under the fingerprint's keys at `now` (seconds) and returns the
// largest count of the last day, this message included; 0 without keys. Throws
// StoreUnavailable.
MP_API double count_bulk(Store& store, const BulkFingerprint& fingerprint, double now);

}  // namespace mp::state
