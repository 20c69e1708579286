// Bulk fingerprints (bulk.h).
#include "state/bulk.h"

#include <fuzzy.h>

#include <algorithm>
#include <cctype>
#include <functional>

#include "state/memory.h"

namespace mp::state {

namespace {

constexpr size_t kMinText = 64;  // meaningful bytes
constexpr size_t kPiece = 7;     // ssdeep's own "common substring" length
constexpr size_t kPieces = 4;    // per chunk

// Lowercase, every run of digits one '0', every run of blanks one space.
std::string normalise(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const char folded = std::isdigit(u) ? '0' : std::isspace(u) ? ' ' : static_cast<char>(std::tolower(u));
    if ((folded == '0' || folded == ' ') && !out.empty() && out.back() == folded) continue;
    out += folded;
  }
  return out;
}

// The kPieces pieces of `chunk` with the smallest hashes, as keys at `block_size`.
void add_pieces(std::string_view chunk, unsigned long block_size, std::vector<std::string>& keys) {
  if (chunk.size() < kPiece) return;
  std::vector<std::pair<size_t, std::string_view>> pieces;
  for (size_t i = 0; i + kPiece <= chunk.size(); ++i) {
    const std::string_view piece = chunk.substr(i, kPiece);
    pieces.emplace_back(std::hash<std::string_view>{}(piece), piece);
  }
  std::sort(pieces.begin(), pieces.end());
  pieces.erase(std::unique(pieces.begin(), pieces.end()), pieces.end());
  for (size_t i = 0; i < pieces.size() && i < kPieces; ++i)
    keys.push_back("bulk:" + std::to_string(block_size) + ":" + std::string(pieces[i].second));
}

// The lower median.
double median(std::vector<double> values) {
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>((values.size() - 1) / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

}  // namespace

BulkFingerprint bulk_fingerprint(std::string_view text) {
  BulkFingerprint out;
  const std::string normal = normalise(text);
  const size_t meaningful = static_cast<size_t>(
      std::count_if(normal.begin(), normal.end(), [](char c) { return c != ' ' && c != '0'; }));
  if (meaningful < kMinText) return out;
  char result[FUZZY_MAX_RESULT];
  if (fuzzy_hash_buf(reinterpret_cast<const unsigned char*>(normal.data()),
                     static_cast<uint32_t>(normal.size()), result) != 0)
    return out;
  out.ssdeep = result;
  // "BLOCKSIZE:CHUNK:DOUBLE_CHUNK"
  const size_t first = out.ssdeep.find(':');
  const size_t second = out.ssdeep.find(':', first + 1);
  if (first == std::string::npos || second == std::string::npos) return out;
  const unsigned long block_size = std::stoul(out.ssdeep.substr(0, first));
  const std::string_view hash = out.ssdeep;
  add_pieces(hash.substr(first + 1, second - first - 1), block_size, out.keys);
  add_pieces(hash.substr(second + 1), block_size * 2, out.keys);
  return out;
}

double count_bulk_addresses(Store& store, const BulkFingerprint& fingerprint,
                            const runtime::IpAddress& client) {
  if (fingerprint.keys.empty()) return 0;
  const std::string network = network_subject(client);  // "net:192.0.2.0/24"
  std::vector<std::pair<std::string, double>> marks;
  for (const std::string& key : fingerprint.keys) marks.emplace_back(key + ":addr:" + client.str(), 1);
  // An address new to a piece is the first to add to its mark; only it adds to the
  // network's count, and the others read it by adding 0.
  const std::vector<double> seen = store.add(marks, kBulkWindow);
  std::vector<std::pair<std::string, double>> counts;
  for (size_t i = 0; i < fingerprint.keys.size(); ++i)
    counts.emplace_back(fingerprint.keys[i] + ":" + network, seen[i] == 1 ? 1 : 0);
  return median(store.add(counts, kBulkWindow));
}

double count_bulk(Store& store, const BulkFingerprint& fingerprint, double now) {
  if (fingerprint.keys.empty()) return 0;
  // The median: a copy of a campaign shares most of its pieces, while two messages of
  // one mailing list share only the few that fall in their common footer.
  return median(count_events(store, fingerprint.keys, kBulkWindow, now));
}

}  // namespace mp::state
