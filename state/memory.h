// What the facts remember, on a Store (state/store.h): the reputation of addresses
// and networks, decaying with time, and event counts in sliding windows. Both are
// kept with nothing but atomic additions (Store::add), so many gateways can update
// one Redis at once without locks; times come from the caller (the store's clock), so
// tests move time by hand. Key layout in docs/state.md.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "runtime/api_export.h"
#include "runtime/ip.h"
#include "state/store.h"

namespace mp::state {

// ---- Reputation --------------------------------------------------------------------
//
// A subject's score is the sum of its hits, each halved every `half_life` seconds since
// it happened: score(t) = Σ hits_i · 2^-((t − t_i)/h). Stored per epoch E (a period
// of 32 half-lives) as A_E = Σ hits_i · 2^((t_i − E)/h), so that a hit is one atomic
// add and score(t) = Σ_E A_E · 2^-((t − E)/h) over the current and the previous epoch
// (hits older than that weigh less than 2^-32 of themselves). With the default half-
// life of 12 hours a spamtrap hit (10) is under 1, "neutral", in less than 2 days, and
// a score of 50 in 3.

struct ReputationOptions {
  double half_life = 12 * 3600;  // seconds
};

// The subject keys: "ip:192.0.2.1", "net:192.0.2.0/24" (IPv4 /24, IPv6 /64).
MP_API std::string address_subject(const runtime::IpAddress& ip);
MP_API std::string network_subject(const runtime::IpAddress& ip);

// The subject's score at `now` (seconds since the epoch); 0 when it has no hits.
// Throws StoreUnavailable.
MP_API double reputation(Store& store, std::string_view subject, double now,
                         const ReputationOptions& options = {});

// Adds `hits` (negative to forgive) to each subject at `now`. Throws StoreUnavailable.
MP_API void add_reputation(Store& store, std::span<const std::string> subjects, double hits, double now,
                           const ReputationOptions& options = {});

// ---- Rates -------------------------------------------------------------------------
//
// Events per key in a sliding window of `window` seconds, counted in ten buckets of a
// tenth of the window each (at least one second): the count covers the last 9 to 10
// tenths of the window plus the current bucket.

// Counts one event of `key` at `now` and returns how many the window holds, this one
// included. Throws StoreUnavailable.
MP_API double count_event(Store& store, std::string_view key, double window, double now);

// count_event for several keys at once: one Store::add and one Store::get_many.
MP_API std::vector<double> count_events(Store& store, std::span<const std::string> keys, double window,
                                        double now);

// How many events of `key` the window holds at `now`, without counting one.
MP_API double event_count(Store& store, std::string_view key, double window, double now);

// ---- Surges ------------------------------------------------------------------------
//
// How a key's last `window` compares with its usual: the average count per window over
// the `baseline` before it (a week). The baseline is counted in ten buckets of its own;
// a key's history starts at its oldest baseline bucket with events, so an account a day
// old is compared with its day, not with a week it did not have. Keys "surge:KEY", apart
// from count_event's, so a policy reading both counts the message once in each.

constexpr double kSurgeBaseline = 7 * 86400;  // seconds

struct Surge {
  double count = 0;  // events in the window, this one included
  double usual = 0;  // average events per window before it; 0 when there were none
  // How many times its usual the window is; a usual under one counts as one, so a key
  // with little history is measured by its count.
  double ratio() const { return count / (usual < 1 ? 1 : usual); }
};

// Counts one event of `key` at `now` in the window and in the baseline: two
// Store::add and one Store::get_many. `window` (seconds) is at most half the baseline,
// else std::invalid_argument. Throws StoreUnavailable.
MP_API Surge count_surge(Store& store, std::string_view key, double window, double now,
                         double baseline = kSurgeBaseline);

}  // namespace mp::state
