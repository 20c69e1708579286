// libFuzzer target: DKIM verification (auth/dkim_verify.cpp: signature tag lists, key
// records, canonicalisation, the RSA and Ed25519 checks) and DMARC (auth/dmarc.cpp:
// the record grammar, organizational domains, alignment, policy discovery). Both take
// their DNS from a lookup function, so the records come straight from the input.
//
// Input: byte 0 picks the mode (even: DKIM, odd: DMARC); the rest is a record, then
// "\n---\n", then the second part (the record alone when there is no separator).
//   DKIM   every key lookup answers the record (cut in 255-octet strings, as DNS
//          sends it); the second part is the raw message. `now` is fixed, just after
//          the RFC 8463 example's t=, so that seed verifies and stays verified.
//   DMARC  the record is parsed, then every _dmarc lookup answers it; the second
//          part's lines are the From domains, the first also the DKIM d= and the
//          SPF domain, so alignment is decided by the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim.h"
#include "auth/dmarc.h"

namespace {

constexpr std::string_view kSeparator = "\n---\n";
constexpr std::time_t kNow = 1528637909 + 60;  // RFC 8463 A.3's t= plus a minute

mp::dns::Answer txt_answer(std::string_view record) {
  mp::dns::Record txt;
  txt.type = mp::dns::RrType::Txt;
  for (size_t i = 0; i < record.size(); i += 255) txt.strings.emplace_back(record.substr(i, 255));
  mp::dns::Answer answer;
  answer.status = mp::dns::Status::Ok;
  answer.records.push_back(std::move(txt));
  return answer;
}

void fuzz_dkim(std::string_view record, std::string_view message) {
  mp::auth::dkim_key_queries(message);
  auto lookup = [&](const std::string&) { return txt_answer(record); };
  mp::auth::DkimVerification v = mp::auth::dkim_verify(message, lookup, kNow);
  v.overall();
  v.passing_domains();
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    out.emplace_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
  }
  return out;
}

void fuzz_dmarc(std::string_view record, std::string_view domains) {
  std::string error;
  mp::auth::parse_dmarc_record(record, &error);
  mp::auth::DmarcInput in;
  in.from_domains = split_lines(domains);
  if (in.from_domains.empty()) in.from_domains = {"mail.example.org"};
  in.spf_result = "pass";
  in.spf_domain = in.from_domains[0];
  in.dkim_pass_domains = {in.from_domains[0]};
  mp::auth::dmarc_queries(in.from_domains);
  auto lookup = [&](const std::string&) { return txt_answer(record); };
  mp::auth::evaluate_dmarc(in, lookup, 42);
  in.spf_result = "fail";  // the policy, pct and sp paths
  in.dkim_pass_domains.clear();
  mp::auth::evaluate_dmarc(in, lookup, 99);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = input.find(kSeparator);
  const std::string_view record = input.substr(0, cut);
  const std::string_view rest = cut == std::string_view::npos ? "" : input.substr(cut + kSeparator.size());
  if (data[0] % 2 == 0) {
    fuzz_dkim(record, rest);
  } else {
    fuzz_dmarc(record, rest);
  }
  return 0;
}
