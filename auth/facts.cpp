#include "auth/facts.h"

#include <algorithm>
#include <ctime>
#include <functional>

#include "runtime/identity.h"
#include "runtime/received.h"

namespace mp::auth {

using vm::FactValue;
using vm::FieldId;

namespace {

FactValue status_value(std::string_view status, bool temp_error, std::string detail) {
  FactValue v;
  v.text.emplace_back(status);
  v.temp_error = temp_error;
  v.detail = std::move(detail);
  return v;
}

void ignore_answer(const dns::Answer&) {}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string describe(const DkimResult& sig) {
  std::string out =
      "d=" + sig.domain + " s=" + sig.selector + ": " + std::string(dkim_status_name(sig.status));
  if (!sig.reason.empty()) out += " (" + sig.reason + ")";
  if (sig.testing) out += " [testing key]";
  return out;
}

// RFC 5782 2.1: a list's codes are in 127.0.0.0/8; another address is no listing (a
// resolver that answers NXDOMAIN with its own page's address). 127.255.255.0/24 are
// the lists' refusals (Spamhaus's return codes; SpamAssassin and rspamd read them so).
bool list_code(const runtime::IpAddress& ip) {
  static const runtime::Cidr codes = *runtime::Cidr::parse("127.0.0.0/8");
  return codes.contains(ip);
}

bool list_refusal(const runtime::IpAddress& ip) {
  static const runtime::Cidr refusals = *runtime::Cidr::parse("127.255.255.0/24");
  return refusals.contains(ip);
}

}  // namespace

MessageFacts::MessageFacts(dns::Resolver& resolver, const runtime::Message& message,
                           const runtime::Envelope& envelope, FactOptions options)
    : resolver_(resolver),
      message_(message),
      envelope_(envelope),
      options_(std::move(options)),
      deadline_(dns::Resolver::Clock::now() + options_.budget) {
  resolver_.set_query_budget(options_.max_queries);
}

std::vector<std::string> MessageFacts::from_domains() const {
  std::vector<std::string> domains;
  for (const runtime::Address& author : message_.from())
    domains.push_back(runtime::fold_domain(author.domain()));
  return domains;
}

dns::Answer MessageFacts::txt(const std::string& name) {
  return resolver_.resolve(name, dns::RrType::Txt, deadline_);
}

void MessageFacts::prefetch(std::span<const vm::FactUse> facts) {
  auto has = [&](std::initializer_list<FieldId> ids) {
    return std::any_of(facts.begin(), facts.end(), [&](const vm::FactUse& use) {
      return std::find(ids.begin(), ids.end(), use.field) != ids.end();
    });
  };
  for (const auto& use : facts) {
    for (const auto& argument : use.arguments) {
      if (use.field == FieldId::Dnsbl || use.field == FieldId::Dnswl) {
        std::string name = dns_list_query(argument);
        if (!name.empty()) resolver_.query(name, dns::RrType::A, ignore_answer);
      } else if (use.field == FieldId::Mx) {
        std::string domain = domain_of_field(argument);
        if (dns::valid_dns_name(domain)) resolver_.query(domain, dns::RrType::Mx, ignore_answer);
      }
    }
  }
  bool dmarc = has({FieldId::Dmarc, FieldId::DmarcPolicy});
  if (dmarc || has({FieldId::Spf})) {
    std::string_view sender = envelope_.sender;
    std::string domain(sender.empty() ? envelope_.helo : sender.substr(sender.rfind('@') + 1));
    if (dns::valid_dns_name(domain)) resolver_.query(domain, dns::RrType::Txt, ignore_answer);
  }
  if (dmarc || has({FieldId::Dkim, FieldId::DkimDomain})) {
    for (const auto& name : dkim_key_queries(message_.raw()))
      resolver_.query(name, dns::RrType::Txt, ignore_answer);
  }
  if (dmarc) {
    for (const auto& name : dmarc_queries(from_domains()))
      resolver_.query(name, dns::RrType::Txt, ignore_answer);
  }
  if (envelope_.client_ip && has({FieldId::Ptr, FieldId::Fcrdns, FieldId::PtrChecks, FieldId::HeloChecks})) {
    resolver_.query(dns::reverse_name(*envelope_.client_ip), dns::RrType::Ptr, ignore_answer);
  }
}

FactValue MessageFacts::compute(FieldId fact, std::span<const std::string> arguments) {
  switch (fact) {
    case FieldId::Dnsbl:
    case FieldId::Dnswl:
      return dns_list_fact(arguments);
    case FieldId::Mx:
      return mx_fact(arguments);
    case FieldId::Country:
      return country_fact(arguments);
    case FieldId::Spf:
      return spf_fact();
    case FieldId::Dkim:
      return dkim_fact(false);
    case FieldId::DkimDomain:
      return dkim_fact(true);
    case FieldId::Dmarc:
      return dmarc_fact(false);
    case FieldId::DmarcPolicy:
      return dmarc_fact(true);
    case FieldId::Ptr:
    case FieldId::Fcrdns:
    case FieldId::PtrChecks:
      return ptr_fact(fact);
    case FieldId::HeloChecks:
      return helo_fact();
    case FieldId::Av:
    case FieldId::AvSignature: return av_fact(fact == FieldId::AvSignature);
    case FieldId::Reputation:
    case FieldId::NetReputation: return reputation_fact(fact, arguments);
    case FieldId::Rate:
    case FieldId::RateSurge: return rate_fact(fact, arguments);
    case FieldId::Bayes: return bayes_fact();
    case FieldId::SenderList: return sender_list_fact();
    case FieldId::BulkCount: return bulk_fact(false);
    case FieldId::BulkAddresses: return bulk_fact(true);
    default:
      return {};
  }
}

// A scanner that cannot answer is a value ("error"), not a temporary error of the
// fact: the policy decides (stdlib: antivirus.on_error), not facts.on_temperror.
FactValue MessageFacts::av_fact(bool signature) {
  if (options_.clamd.address.empty()) return {};
  if (!scan_) scan_ = av::scan(message_.raw(), options_.clamd);
  FactValue value;
  value.detail = scan_->status == av::ScanResult::Status::Error ? scan_->detail
                 : scan_->signature.empty()                     ? std::string("clamd: OK")
                                                                : "clamd: " + scan_->signature + " FOUND";
  if (signature) {
    if (!scan_->signature.empty()) value.text.push_back(scan_->signature);
  } else {
    value.text.emplace_back(av::status_name(scan_->status));
  }
  return value;
}

// ---------------------------------------------------------------------------------
// Authentication

const SpfOutcome& MessageFacts::need_spf() {
  if (!spf_) {
    if (!envelope_.client_ip) {
      spf_ = SpfOutcome{};
      spf_->problem = "no client IP address";
      return *spf_;
    }
    SpfRequest request{*envelope_.client_ip, envelope_.sender, envelope_.helo, options_.authserv_id};
    spf_ = check_spf(request, resolver_, deadline_);
  }
  return *spf_;
}

FactValue MessageFacts::spf_fact() {
  const SpfOutcome& spf = need_spf();
  std::string detail = spf.identity + " " + spf.domain;
  if (!spf.mechanism.empty()) detail += ": matched " + spf.mechanism;
  if (!spf.problem.empty()) detail += ": " + spf.problem;
  return status_value(spf_result_name(spf.result), spf.result == SpfResult::TempError, detail);
}

const DkimVerification& MessageFacts::need_dkim() {
  if (!dkim_)
    dkim_ = dkim_verify(
        message_.raw(), [this](const std::string& name) { return txt(name); }, std::time(nullptr));
  return *dkim_;
}

FactValue MessageFacts::dkim_fact(bool domains) {
  const DkimVerification& dkim = need_dkim();
  std::string detail;
  for (const auto& sig : dkim.signatures) detail += (detail.empty() ? "" : "; ") + describe(sig);
  if (detail.empty()) detail = "no DKIM-Signature";
  bool temp_error = dkim.overall() == DkimStatus::TempError;
  if (!domains) return status_value(dkim_status_name(dkim.overall()), temp_error, detail);
  FactValue v;
  v.text = dkim.passing_domains();
  v.temp_error = temp_error;
  v.detail = detail;
  return v;
}

const DmarcResult& MessageFacts::need_dmarc() {
  if (!dmarc_) {
    DmarcInput input;
    input.from_domains = from_domains();
    const SpfOutcome& spf = need_spf();
    input.spf_result = spf_result_name(spf.result);
    input.spf_domain = spf.domain;
    input.dkim_pass_domains = need_dkim().passing_domains();
    // pct sampling from the message itself, so that a re-run explains the same verdict.
    auto roll = static_cast<uint32_t>(
        std::hash<std::string>{}(std::string(message_.header("Message-ID").value_or(""))));
    dmarc_ = evaluate_dmarc(
        input, [this](const std::string& name) { return txt(name); }, roll);
  }
  return *dmarc_;
}

FactValue MessageFacts::dmarc_fact(bool policy) {
  const DmarcResult& dmarc = need_dmarc();
  bool temp_error = dmarc.status == DmarcStatus::TempError;
  std::string value(policy ? dmarc_policy_name(dmarc.policy) : dmarc_status_name(dmarc.status));
  return status_value(value, temp_error, dmarc.reason);
}

// ---------------------------------------------------------------------------------
// Reverse DNS and HELO

const ReverseDns& MessageFacts::need_reverse_dns() {
  if (reverse_) return *reverse_;
  reverse_ = ReverseDns{};
  if (!envelope_.client_ip) {
    reverse_->detail = "no client IP address";
    return *reverse_;
  }
  const auto& ip = *envelope_.client_ip;
  auto ptr = resolver_.resolve(dns::reverse_name(ip), dns::RrType::Ptr, deadline_);
  if (ptr.temp_error()) {
    reverse_->temp_error = true;
    reverse_->detail = "PTR " + dns::reverse_name(ip) + ": " + ptr.reason;
    return *reverse_;
  }
  auto type = ip.v6 ? dns::RrType::Aaaa : dns::RrType::A;
  for (const auto& rec : ptr.records) {
    reverse_->names.push_back(rec.name);
    resolver_.query(rec.name, type, ignore_answer);  // confirm every name at once
  }
  for (const auto& name : reverse_->names) {
    auto forward = resolver_.resolve(name, type, deadline_);
    if (forward.temp_error()) {
      reverse_->temp_error = true;
      reverse_->detail = std::string(dns::rr_type_name(type)) + " " + name + ": " + forward.reason;
      return *reverse_;
    }
    bool confirms = std::any_of(forward.records.begin(), forward.records.end(),
                                [&](const dns::Record& r) { return r.ip == ip; });
    if (confirms && reverse_->confirmed.empty()) reverse_->confirmed = lower(name);
  }
  reverse_->detail = reverse_->names.empty() ? "no PTR for " + ip.str()
                     : reverse_->confirmed.empty()
                         ? "PTR " + reverse_->names.front() + " does not resolve back to " + ip.str()
                         : "PTR " + reverse_->confirmed + " resolves back to " + ip.str();
  return *reverse_;
}

FactValue MessageFacts::ptr_fact(FieldId field) {
  // A stored message evaluated outside an SMTP session has no client to look up: no
  // value, never "none" (which would read as "a client without reverse DNS").
  FactValue v;
  if (!envelope_.client_ip) {
    v.detail = "no client address: not an SMTP session";
    return v;
  }
  const ReverseDns& rdns = need_reverse_dns();
  v.temp_error = rdns.temp_error;
  v.detail = rdns.detail;
  if (field == FieldId::Ptr) {
    if (!rdns.confirmed.empty()) v.text.push_back(rdns.confirmed);
  } else if (field == FieldId::Fcrdns) {
    v.text.push_back(rdns.temp_error          ? "temperror"
                     : rdns.names.empty()     ? "none"
                     : rdns.confirmed.empty() ? "fail"
                                              : "pass");
  } else if (rdns.temp_error) {
    v.text.push_back("temperror");
  } else {
    if (rdns.names.empty()) v.text.push_back("none");
    if (!rdns.names.empty() && rdns.confirmed.empty()) v.text.push_back("unconfirmed");
    for (const auto& name : rdns.names) {
      if (looks_generic(name, *envelope_.client_ip)) {
        v.text.push_back("generic");
        break;
      }
    }
    if (v.text.empty()) v.text.push_back("ok");
  }
  return v;
}

// HELO problems, each as a value of helo.checks (RFC 5321 4.1.4 asks for the client's
// FQDN or an address literal; spam software rarely sends either honestly).
FactValue MessageFacts::helo_fact() {
  FactValue v;
  std::string helo = lower(envelope_.helo);
  if (!helo.empty() && helo.back() == '.') helo.pop_back();
  auto literal = runtime::IpAddress::parse(helo.size() > 2 && helo.front() == '[' && helo.back() == ']'
                                               ? std::string_view(helo).substr(1, helo.size() - 2)
                                               : std::string_view(helo));
  if (helo.empty() && !envelope_.client_ip) {
    v.detail = "no client address and no HELO: not an SMTP session";
    return v;  // no value
  }
  if (helo.empty()) {
    v.text.push_back("missing");
  } else if (literal) {
    v.text.push_back("ip_literal");
    if (envelope_.client_ip && !(*literal == *envelope_.client_ip)) v.text.push_back("not_client");
  } else if (helo == "localhost" || helo.ends_with(".localhost") || helo == "localhost.localdomain") {
    v.text.push_back("localhost");
  } else if (helo.find('.') == std::string::npos) {
    v.text.push_back("not_fqdn");
  } else if (envelope_.client_ip) {
    const auto& ip = *envelope_.client_ip;
    auto forward = resolver_.resolve(helo, ip.v6 ? dns::RrType::Aaaa : dns::RrType::A, deadline_);
    if (forward.temp_error()) return status_value("temperror", true, "HELO " + helo + ": " + forward.reason);
    if (forward.empty()) {
      v.text.push_back("no_dns");
    } else if (std::none_of(forward.records.begin(), forward.records.end(),
                            [&](const dns::Record& r) { return r.ip == ip; })) {
      v.text.push_back("not_client");
    }
    const ReverseDns& rdns = need_reverse_dns();
    if (!rdns.temp_error && !rdns.confirmed.empty() && rdns.confirmed != helo)
      v.text.push_back("ptr_mismatch");
  }
  if (v.text.empty()) v.text.push_back("ok");
  v.detail = "HELO " + (helo.empty() ? std::string("(none)") : helo);
  return v;
}

// ---------------------------------------------------------------------------------
// Facts with an argument

std::optional<runtime::IpAddress> MessageFacts::ip_of_field(std::string_view field) {
  if (field != "client.effective_ip" || options_.trusted_relays.empty()) return envelope_.client_ip;
  auto trusted = [this](const runtime::IpAddress& ip) {
    return std::any_of(options_.trusted_relays.begin(), options_.trusted_relays.end(),
                       [&ip](const runtime::Cidr& relay) { return relay.contains(ip); });
  };
  return runtime::effective_client_ip(message_, envelope_.client_ip, trusted);
}

std::string MessageFacts::domain_of_field(std::string_view field) const {
  if (field == "helo") return lower(envelope_.helo);
  std::string_view sender = envelope_.sender;
  size_t at = sender.rfind('@');
  return at == std::string_view::npos ? std::string() : runtime::fold_domain(sender.substr(at + 1));
}

// RFC 5782: the client address reversed, then the zone. DNS lists judge the first
// client outside our own relays.
std::string MessageFacts::dns_list_query(const std::string& zone) {
  auto ip = ip_of_field("client.effective_ip");
  return ip ? dns::reverse_labels(*ip) + "." + zone : std::string();
}

FactValue MessageFacts::dns_list_fact(std::span<const std::string> zones) {
  FactValue v;
  for (const auto& zone : zones) {
    std::string name = dns_list_query(zone);
    if (name.empty()) continue;
    auto answer = resolver_.resolve(name, dns::RrType::A, deadline_);
    if (answer.temp_error()) {
      v.temp_error = true;
      v.detail += (v.detail.empty() ? "" : "; ") + name + ": " + answer.reason;
      continue;
    }
    std::string codes, ignored, refused;
    for (const auto& rec : answer.records) {
      const std::string code = rec.ip.str();
      if (list_refusal(rec.ip)) {
        refused += (refused.empty() ? "" : ", ") + code;
      } else if (!list_code(rec.ip)) {
        ignored += (ignored.empty() ? "" : ", ") + code;
      } else {
        v.ips.push_back(rec.ip);
        v.arguments.push_back(zone);
        codes += (codes.empty() ? "" : ", ") + code;
      }
    }
    std::string said = codes.empty() ? "not listed" : "listed " + codes;
    if (!ignored.empty()) said += " (ignored " + ignored + ": not in 127.0.0.0/8, RFC 5782 2.1)";
    if (!refused.empty()) {
      // The list answered that it will not answer (Spamhaus: 127.255.255.252 a typing
      // error in the zone, .254 a public resolver, .255 too many queries): unknown.
      v.temp_error = true;
      said = "the list refused the query (" + refused + ")";
    }
    v.detail += (v.detail.empty() ? "" : "; ") + zone + ": " + said;
  }
  return v;
}

FactValue MessageFacts::mx_fact(std::span<const std::string> fields) {
  FactValue v;
  for (const auto& field : fields) {
    std::string domain = domain_of_field(field);
    std::vector<std::string> findings;
    auto add = [&](std::string finding) {
      if (std::find(findings.begin(), findings.end(), finding) == findings.end()) findings.push_back(finding);
    };
    auto mx =
        dns::valid_dns_name(domain) ? resolver_.resolve(domain, dns::RrType::Mx, deadline_) : dns::Answer{};
    if (!dns::valid_dns_name(domain)) {
      add("none");
    } else if (mx.temp_error()) {
      add("temperror");
      v.temp_error = true;
    } else if (mx.records.size() == 1 && mx.records[0].name.empty()) {
      add("null_mx");  // RFC 7505: "MX 0 ."
    } else if (!mx.records.empty()) {
      add("mx");
      for (const auto& host : mx.records) {
        bool malformed = host.name.empty() || !dns::valid_dns_name(host.name) ||
                         host.name.find('.') == std::string::npos || runtime::IpAddress::parse(host.name);
        if (malformed)
          add("bad_host");
        else
          resolver_.query(host.name, dns::RrType::A, ignore_answer);
      }
      for (const auto& host : mx.records) {
        if (host.name.empty() || !dns::valid_dns_name(host.name)) continue;
        auto a = resolver_.resolve(host.name, dns::RrType::A, deadline_);
        for (const auto& rec : a.records) {
          if (is_private_address(rec.ip)) add("private");
        }
      }
    } else {
      auto a = resolver_.resolve(domain, dns::RrType::A, deadline_);
      auto aaaa = a.empty() ? resolver_.resolve(domain, dns::RrType::Aaaa, deadline_) : a;
      if (a.temp_error() || aaaa.temp_error()) {
        add("temperror");
        v.temp_error = true;
      } else {
        add(aaaa.empty() ? "none" : "a_only");
      }
    }
    std::string joined;
    for (auto& f : findings) {
      joined += (joined.empty() ? "" : ", ") + f;
      v.text.push_back(std::move(f));
      v.arguments.push_back(field);
    }
    v.detail +=
        (v.detail.empty() ? "" : "; ") + field + " " + (domain.empty() ? "(none)" : domain) + ": " + joined;
  }
  return v;
}

FactValue MessageFacts::country_fact(std::span<const std::string> fields) {
  FactValue v;
  for (const auto& field : fields) {
    auto ip = ip_of_field(field);
    std::optional<std::string> code;
    if (ip && options_.geoip) code = options_.geoip->country(*ip);
    if (code) {
      v.text.push_back(*code);
      v.arguments.push_back(field);
    }
    v.detail += (v.detail.empty() ? "" : "; ") + field + " " + (ip ? ip->str() : "(none)") + ": " +
                (!options_.geoip ? "no GeoIP database"
                 : code          ? *code
                                 : "unknown");
  }
  return v;
}

bool is_private_address(const runtime::IpAddress& ip) {
  static const std::vector<runtime::Cidr> kPrivate = [] {
    std::vector<runtime::Cidr> nets;
    for (const char* net :
         {"0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
          "100.64.0.0/10", "::/128", "::1/128", "fc00::/7", "fe80::/10"}) {
      nets.push_back(*runtime::Cidr::parse(net));
    }
    return nets;
  }();
  return std::any_of(kPrivate.begin(), kPrivate.end(),
                     [&ip](const runtime::Cidr& net) { return net.contains(ip); });
}

bool looks_generic(std::string_view ptr_name, const runtime::IpAddress& ip) {
  if (ip.v6) return false;
  std::string name = lower(ptr_name);
  const auto& b = ip.bytes;
  auto octet = [&](int i) { return std::to_string(b[static_cast<size_t>(i)]); };
  auto padded = [&](int i) {
    std::string s = octet(i);
    return std::string(3 - s.size(), '0') + s;
  };
  for (std::string_view sep : {".", "-", "_", ""}) {
    std::string forward = octet(0), backward = octet(3);
    for (int i = 1; i < 4; ++i) {
      forward += std::string(sep) + octet(i);
      backward += std::string(sep) + octet(3 - i);
    }
    if (!sep.empty() &&
        (name.find(forward) != std::string::npos || name.find(backward) != std::string::npos)) {
      return true;
    }
  }
  std::string zero_padded = padded(0) + padded(1) + padded(2) + padded(3);
  return name.find(zero_padded) != std::string::npos;
}

// ---------------------------------------------------------------------------------
// Reports

std::vector<std::pair<std::string, std::string>> MessageFacts::auth_summary() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (spf_) out.emplace_back("spf", spf_result_name(spf_->result));
  if (dkim_) out.emplace_back("dkim", dkim_status_name(dkim_->overall()));
  if (dmarc_) out.emplace_back("dmarc", dmarc_status_name(dmarc_->status));
  return out;
}

std::string MessageFacts::authentication_results() const {
  std::string out = options_.authserv_id;
  auto add = [&out](const std::string& method) { out += ";\r\n\t" + method; };
  if (spf_) {
    std::string spf = "spf=" + std::string(spf_result_name(spf_->result));
    if (!spf_->problem.empty()) spf += " (" + spf_->problem + ")";
    spf += spf_->identity == "helo" ? " smtp.helo=" + envelope_.helo : " smtp.mailfrom=" + envelope_.sender;
    add(spf);
  }
  if (dkim_) {
    if (dkim_->signatures.empty()) add("dkim=none");
    for (const auto& sig : dkim_->signatures) {
      std::string dkim = "dkim=" + std::string(dkim_status_name(sig.status));
      if (!sig.reason.empty()) dkim += " (" + sig.reason + ")";
      add(dkim + " header.d=" + sig.domain + " header.s=" + sig.selector +
          " header.b=" + sig.signature_prefix);
    }
  }
  if (dmarc_) {
    std::string dmarc = "dmarc=" + std::string(dmarc_status_name(dmarc_->status));
    if (dmarc_->status == DmarcStatus::Fail)
      dmarc += " (p=" + std::string(dmarc_policy_name(dmarc_->published_policy)) + ")";
    add(dmarc + " header.from=" + dmarc_->author_domain);
  }
  if (!spf_ && !dkim_ && !dmarc_) out += "; none";
  return out;
}

}  // namespace mp::auth
