// Field extraction: maps each FieldId of fields.def to the Message/Envelope accessor
// that produces it.
#include "vm/field_values.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "runtime/identity.h"
#include "runtime/received.h"
#include "runtime/relays.h"
#include "runtime/resemble.h"

namespace mp::vm {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

std::string_view local_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? address : address.substr(0, at);
}

std::string lowercase_trimmed(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  return lower(s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1));
}

// The <...> parts of a List-Unsubscribe value (RFC 2369 section 2): "<mailto:u@x>, <https://x/u>".
std::vector<std::string> angle_bracketed(std::string_view value) {
  std::vector<std::string> out;
  for (size_t open = value.find('<'); open != std::string_view::npos; open = value.find('<', open + 1)) {
    const size_t close = value.find('>', open);
    if (close == std::string_view::npos) break;
    std::string uri(value.substr(open + 1, close - open - 1));
    std::erase_if(uri, [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
    if (!uri.empty()) out.push_back(std::move(uri));
    open = close;
  }
  return out;
}

enum class AddressPart { Address, Domain, Local, DisplayName };

AddressPart part_of(FieldId field) {
  std::string_view name = field_info(field).name;
  if (name.ends_with(".domain")) return AddressPart::Domain;
  if (name.ends_with(".local")) return AddressPart::Local;
  if (name.ends_with(".display_name")) return AddressPart::DisplayName;
  return AddressPart::Address;
}

void add_address_part(FieldValues& out, std::string_view address, std::string_view display_name,
                      AddressPart part) {
  switch (part) {
    case AddressPart::Address: out.own(runtime::fold_address(address)); break;
    case AddressPart::Domain: out.own(runtime::fold_domain(domain_of(address))); break;
    case AddressPart::Local: out.borrow(local_of(address)); break;
    case AddressPart::DisplayName: out.borrow(display_name); break;
  }
}

}  // namespace

const std::vector<runtime::Address>& MessageFields::addresses(Collection collection) const {
  switch (collection) {
    case Collection::To: return message_.to();
    case Collection::Cc: return message_.cc();
    case Collection::ReplyTo: return message_.reply_to();
    default: return message_.from();
  }
}

const FieldValues& MessageFields::values(FieldId field) {
  FieldValues& slot = cache_[static_cast<size_t>(field)];
  if (!slot.ready) {
    for (const auto& failed : failed_arguments_) {  // failed before: stops this run too
      if (failed.field == field && failed.argument.empty()) throw FactUnavailable{failed.report};
    }
    extract(field, slot);
    slot.ready = true;
  }
  return slot;
}

const std::vector<std::string>& MessageFields::resemblance_keys(FieldId field) {
  auto& keys = resemblance_keys_[static_cast<size_t>(field)];
  if (!keys) {
    keys.emplace();
    for (std::string_view value : values(field).text) {
      keys->push_back(runtime::resemblance_key(value, resemble_kind(field)));
    }
  }
  return *keys;
}

size_t MessageFields::item_count(Collection collection) {
  switch (collection) {
    case Collection::Single: return 1;
    case Collection::Recipients: return envelope_.recipients.size();
    case Collection::From:
    case Collection::To:
    case Collection::Cc:
    case Collection::ReplyTo: return addresses(collection).size();
    case Collection::Headers: return message_.headers().size();
    case Collection::Attachments: return message_.attachments().size();
    case Collection::Urls: return message_.urls().size();
    case Collection::ArchiveMembers: return archive_members().size();
  }
  return 0;
}

const std::vector<std::string>& MessageFields::header_names() {
  if (!header_names_ready_) {
    for (const auto& h : message_.headers()) header_names_.push_back(lower(h.name));
    header_names_ready_ = true;
  }
  return header_names_;
}

std::string_view MessageFields::item_argument(FieldId field, uint32_t item) {
  if (field == FieldId::HeaderValue || field == FieldId::HeaderRaw) return header_names()[item];
  const auto& arguments = values(field).arguments;
  return item < arguments.size() ? std::string_view(arguments[item]) : std::string_view();
}

void MessageFields::require_argument(FieldId field, std::string_view argument) {
  if (!is_fact(field) || !takes_argument(field)) return;
  (void)values(field);  // computes the fact for every argument first
  for (const auto& failed : failed_arguments_) {
    if (failed.field == field && failed.argument == argument) throw FactUnavailable{failed.report};
  }
}

std::string MessageFields::item_name(Collection collection, uint32_t item) {
  if (item >= item_count(collection)) return {};
  switch (collection) {
    case Collection::Single: return {};
    case Collection::Recipients: return envelope_.recipients[item];
    case Collection::From:
    case Collection::To:
    case Collection::Cc:
    case Collection::ReplyTo: return addresses(collection)[item].address;
    case Collection::Headers:
      return message_.headers()[item].name + " (header field " + std::to_string(item + 1) + ")";
    case Collection::Attachments: return attachment_name(item);
    case Collection::Urls: return message_.urls()[item].text;
    case Collection::ArchiveMembers: {
      const ArchiveMember& m = archive_members()[item];
      return attachment_name(m.attachment) + " → " + m.member->path;
    }
  }
  return {};
}

std::string MessageFields::attachment_name(uint32_t attachment) const {
  const std::string& name = message_.attachments()[attachment].name;
  return name.empty() ? "attachment " + std::to_string(attachment + 1) + " (no name)" : name;
}

const std::vector<attach::Report>& MessageFields::inspections() {
  if (!inspections_) {
    std::vector<attach::Report> reports;
    const auto& attachments = message_.attachments();
    for (size_t i = 0; i < attachments.size(); ++i) {
      reports.push_back(
          attach::inspect(message_.attachment_content(i), attachments[i].name, archive_limits_));
    }
    inspections_ = std::move(reports);
    for (uint32_t i = 0; i < inspections_->size(); ++i) {
      for (const attach::Member& member : (*inspections_)[i].members)
        archive_members_.push_back({i, &member});
    }
  }
  return *inspections_;
}

const std::vector<MessageFields::ArchiveMember>& MessageFields::archive_members() {
  (void)inspections();
  return archive_members_;
}

void MessageFields::extract_inspection(FieldId field, FieldValues& out) {
  if (field == FieldId::AttachmentTrueType) {
    for (const auto& report : inspections()) out.borrow(report.type);
  } else if (field == FieldId::AttachmentFlags) {
    const auto& reports = inspections();
    for (uint32_t i = 0; i < reports.size(); ++i) {
      for (size_t f = 0; f < attach::kFlagCount; ++f) {
        if (!reports[i].flags.test(f)) continue;
        out.borrow(attach::flag_name(static_cast<attach::Flag>(f)));
        out.items.push_back(i);
      }
    }
  }
  for (const ArchiveMember& m : archive_members()) {
    switch (field) {
      case FieldId::ArchiveMemberName: out.own(runtime::ascii_lowercase(m.member->name)); break;
      case FieldId::ArchiveMemberExtension: out.borrow(m.member->extension); break;
      case FieldId::ArchiveMemberType: out.borrow(m.member->type); break;
      case FieldId::ArchiveMemberSize: out.numbers.push_back(static_cast<double>(m.member->size)); break;
      case FieldId::ArchiveMemberDepth: out.numbers.push_back(m.member->depth); break;
      default: return;
    }
  }
}

// The first decimal number of each header field written inside our trust zone, with
// the field's lowercase name as its argument: "X-Spam-Score: 7.3", "score=300/50".
void MessageFields::extract_header_numbers(FieldValues& out) {
  auto trusted = [this](const runtime::IpAddress& ip) { return trusted_relays_.contains(ip); };
  const size_t count = runtime::trusted_header_count(message_, envelope_.client_ip, trusted);
  const auto& headers = message_.headers();
  for (size_t i = 0; i < count && i < headers.size(); ++i) {
    const std::string& value = headers[i].value;
    const size_t digit = value.find_first_of("0123456789");
    if (digit == std::string::npos) continue;
    double number = 0;
    const auto [end, error] = std::from_chars(value.data() + digit, value.data() + value.size(), number);
    if (error != std::errc() || !std::isfinite(number)) continue;
    out.numbers.push_back(digit > 0 && value[digit - 1] == '-' ? -number : number);
    out.arguments.push_back(lower(headers[i].name));
  }
}

void MessageFields::extract(FieldId field, FieldValues& out) {
  const FieldInfo& info = field_info(field);
  if (is_fact(field)) return extract_fact(field, out);
  switch (field) {
    case FieldId::Sender: out.own(runtime::fold_address(envelope_.sender)); return;
    case FieldId::SenderDomain: out.own(runtime::fold_domain(domain_of(envelope_.sender))); return;
    case FieldId::SenderLocal: out.borrow(local_of(envelope_.sender)); return;
    case FieldId::Recipient:
      for (const auto& r : envelope_.recipients) out.own(runtime::fold_address(r));
      return;
    case FieldId::RecipientDomain:
      for (const auto& r : envelope_.recipients) out.own(runtime::fold_domain(domain_of(r)));
      return;
    case FieldId::ClientIp:
      if (envelope_.client_ip) out.ips.push_back(*envelope_.client_ip);
      return;
    case FieldId::EffectiveClientIp: {
      auto trusted = [this](const runtime::IpAddress& ip) { return trusted_relays_.contains(ip); };
      if (auto ip = runtime::effective_client_ip(message_, envelope_.client_ip, trusted))
        out.ips.push_back(*ip);
      return;
    }
    case FieldId::Helo: out.own(runtime::fold_domain(envelope_.helo)); return;
    case FieldId::ClientAuthUser:
      if (!envelope_.auth_user.empty()) out.borrow(envelope_.auth_user);
      return;
    case FieldId::ClientTls:
      if (!envelope_.tls_version.empty()) out.borrow(envelope_.tls_version);
      return;
    case FieldId::Subject: out.borrow(message_.subject()); return;
    case FieldId::BodyParagraphs: return extract_paragraphs(out);
    case FieldId::Precedence:
      if (auto value = message_.header("Precedence")) out.own(lowercase_trimmed(*value));
      return;
    case FieldId::ListUnsubscribe:
      if (auto value = message_.header("List-Unsubscribe")) {
        for (std::string& uri : angle_bracketed(*value)) out.own(std::move(uri));
      }
      return;
    case FieldId::HeaderValue:
      for (const auto& h : message_.headers()) out.borrow(h.value);
      return;
    case FieldId::HeaderLine:
      for (const auto& h : message_.headers()) out.own(h.name + ": " + h.value);
      return;
    case FieldId::HeaderRaw:
      for (const auto& h : message_.headers()) out.borrow(h.raw);
      return;
    case FieldId::MimeHeader: return extract_mime_headers(out);
    case FieldId::Relays: return extract_relays(out);
    case FieldId::HeaderAddress: return extract_header_addresses(out);
    case FieldId::FirstHeader:
    case FieldId::LastHeader: return extract_end_headers(field == FieldId::FirstHeader, out);
    case FieldId::RelaysUnparseable:
      out.numbers.push_back(static_cast<double>(relay_path().unparseable));
      return;
    case FieldId::Body: out.borrow(message_.body_text()); return;
    case FieldId::RawBody: out.borrow(message_.raw_body()); return;
    case FieldId::Html: out.borrow(message_.html()); return;
    case FieldId::Url:
      for (const auto& u : message_.urls()) out.borrow(u.text);
      return;
    case FieldId::UrlDomain:
      for (const auto& u : message_.urls()) out.own(runtime::fold_domain(u.domain));
      return;
    case FieldId::AttachmentName:
      // Windows runs INVOICE.EXE as invoice.exe: file names compare without case, as
      // their extensions do (compiler::field_is_caseless), and so are lowercased here.
      for (const auto& a : message_.attachments()) out.own(runtime::ascii_lowercase(a.name));
      return;
    case FieldId::AttachmentExtension:
      for (const auto& a : message_.attachments()) out.borrow(a.extension);
      return;
    case FieldId::AttachmentType:
      for (const auto& a : message_.attachments()) out.borrow(a.content_type);
      return;
    case FieldId::AttachmentSize:
      for (const auto& a : message_.attachments()) out.numbers.push_back(static_cast<double>(a.size));
      return;
    case FieldId::Size: out.numbers.push_back(static_cast<double>(message_.size())); return;
    case FieldId::AttachmentTrueType:
    case FieldId::AttachmentFlags:
    case FieldId::ArchiveMemberName:
    case FieldId::ArchiveMemberExtension:
    case FieldId::ArchiveMemberType:
    case FieldId::ArchiveMemberSize:
    case FieldId::ArchiveMemberDepth: return extract_inspection(field, out);
    case FieldId::HeaderNumber: return extract_header_numbers(out);
    case FieldId::UrlTextDomain:
    case FieldId::UrlFlags:
    case FieldId::MessageObfuscation: return extract_heuristic(field, out);
    case FieldId::MessageDefects: {
      auto kinds = message_.defect_kinds();
      if (regex_work_ && regex_work_())
        kinds.set(static_cast<size_t>(runtime::DefectKind::RegexLimitExceeded));
      for (size_t i = 0; i < kinds.size(); ++i) {
        if (kinds.test(i)) out.borrow(runtime::defect_name(static_cast<runtime::DefectKind>(i)));
      }
      return;
    }
    default: break;
  }
  // from/to/cc/reply_to parts
  AddressPart part = part_of(field);
  for (const auto& a : addresses(info.collection)) add_address_part(out, a.address, a.display_name, part);
}

namespace {

// Every run of white space one space, none at the ends.
std::string squeezed(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
    if (!blank)
      out += c;
    else if (!out.empty() && out.back() != ' ')
      out += ' ';
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

// SpamAssassin's rendered body for its `body` rules (Mail::SpamAssassin::Conf, "body"):
// the Subject is the first paragraph; a line of nothing but white space ends one.
// As SpamAssassin's MIMEHeader plugin: of a field repeated within one entity, the last.
// The addresses of every header field, each with its field's lowercase name. Only the
// names with an '@' in some occurrence are parsed (a mailbox has one), each once.
void MessageFields::extract_header_addresses(FieldValues& out) {
  std::vector<std::string> names;
  for (const auto& h : message_.headers()) {
    if (h.raw.find('@') == std::string::npos) continue;
    std::string name = lower(h.name);
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    for (const auto& a : message_.addresses(name)) {
      out.own(runtime::fold_address(a.address));
      out.arguments.push_back(name);
    }
    names.push_back(std::move(name));
  }
}

// Of each header name, the value of its first (or last) field, with the lowercase name.
void MessageFields::extract_end_headers(bool first, FieldValues& out) {
  std::vector<std::string> names;
  std::vector<const runtime::HeaderField*> fields;
  for (const auto& h : message_.headers()) {
    std::string name = lower(h.name);
    const auto at = std::find(names.begin(), names.end(), name);
    if (at == names.end()) {
      names.push_back(std::move(name));
      fields.push_back(&h);
    } else if (!first) {
      fields[static_cast<size_t>(at - names.begin())] = &h;
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    out.borrow(fields[i]->value);
    out.arguments.push_back(std::move(names[i]));
  }
}

// The relay path, read once per message: trust from org.trusted_relays when the
// policy names them, else inferred (runtime/relays.h).
const runtime::RelayPath& MessageFields::relay_path() {
  if (!relay_path_) {
    std::function<bool(const runtime::IpAddress&)> trusted;
    if (!trusted_relays_.empty())
      trusted = [this](const runtime::IpAddress& ip) { return trusted_relays_.contains(ip); };
    relay_path_ = runtime::relay_path(message_, trusted);
  }
  return *relay_path_;
}

// The four parts of the relay path, each one value with its part's name as argument.
void MessageFields::extract_relays(FieldValues& out) {
  const runtime::RelayPath& path = relay_path();
  for (const auto& [kind, relays] :
       {std::pair{"trusted", &path.trusted}, std::pair{"untrusted", &path.untrusted},
        std::pair{"internal", &path.internal}, std::pair{"external", &path.external}}) {
    out.own(runtime::relays_text(*relays));
    out.arguments.push_back(kind);
  }
}

void MessageFields::extract_mime_headers(FieldValues& out) {
  for (const auto& entity : message_.mime_headers()) {
    for (size_t i = 0; i < entity.size(); ++i) {
      std::string name = lower(entity[i].name);
      const bool repeated_later =
          std::any_of(entity.begin() + static_cast<std::ptrdiff_t>(i) + 1, entity.end(),
                      [&](const auto& later) { return lower(later.name) == name; });
      if (repeated_later) continue;
      out.borrow(entity[i].value);
      out.arguments.push_back(std::move(name));
    }
  }
}

void MessageFields::extract_paragraphs(FieldValues& out) {
  if (std::string subject = squeezed(message_.subject()); !subject.empty()) out.own(std::move(subject));
  const std::string_view text = message_.body_text();
  size_t start = 0;  // of the current paragraph
  for (size_t at = 0; at <= text.size();) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const bool blank = squeezed(text.substr(at, end - at)).empty();
    if (blank || end == text.size()) {
      if (std::string paragraph = squeezed(text.substr(start, (blank ? at : end) - start));
          !paragraph.empty())
        out.own(std::move(paragraph));
      start = end + 1;
    }
    at = end + 1;
  }
}

// Status facts (spf, dkim, …) read "temperror" when they failed and the policy goes
// on regardless; list facts (dkim.domains, ptr) read as empty.
// A fact with arguments (dnsbl("a"), dnsbl("b"), mx(helo)) is computed and reported
// once per argument, each named by it, so the trace and JSON never merge two zones.
void MessageFields::extract_fact(FieldId field, FieldValues& out) {
  auto use = std::find_if(facts_used_.begin(), facts_used_.end(),
                          [field](const FactUse& u) { return u.field == field; });
  if (use == facts_used_.end() || use->arguments.empty()) return add_fact(field, {}, out);
  for (const std::string& argument : use->arguments) add_fact(field, std::span(&argument, 1), out);
}

void MessageFields::add_fact(FieldId field, std::span<const std::string> arguments, FieldValues& out) {
  const auto start = std::chrono::steady_clock::now();
  FactValue fact = facts_ ? facts_->compute(field, arguments) : FactValue{};
  FactReport report{
      field_label(field, arguments.empty() ? "" : arguments.front()), {}, fact.detail, fact.temp_error};
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& v : fact.text) report.value += (report.value.empty() ? "" : ", ") + v;
  for (const auto& ip : fact.ips) report.value += (report.value.empty() ? "" : ", ") + ip.str();
  for (double n : fact.numbers) report.value += (report.value.empty() ? "" : ", ") + fmt::format("{:g}", n);
  if (!facts_) report.detail = "no fact source: facts are not computed here";
  if (fact.temp_error) report.value = "temperror";
  fact_reports_.push_back(report);
  if (fact.temp_error && on_temperror_ == TempErrorPolicy::Tempfail) {
    // The zones of dnsbl(...) are computed together, but only a test of the zone
    // that failed may stop the evaluation (require_argument).
    failed_arguments_.push_back({field, arguments.empty() ? std::string() : arguments.front(), report});
    if (arguments.empty()) throw FactUnavailable{report};
  }
  for (auto& v : fact.text) out.own(std::move(v));
  out.ips.insert(out.ips.end(), fact.ips.begin(), fact.ips.end());
  out.numbers.insert(out.numbers.end(), fact.numbers.begin(), fact.numbers.end());
  out.arguments.insert(out.arguments.end(), fact.arguments.begin(), fact.arguments.end());
}

}  // namespace mp::vm
