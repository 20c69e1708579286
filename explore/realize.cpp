// Writing a witness (realize.h): the smallest message that carries the values the
// model chose — only the header fields the policy reads, a text body, the
// attachments as base64 parts — and the envelope and stated facts beside it.
#include "explore/realize.h"

#include <cctype>
#include <cstdio>
#include <set>
#include <sstream>

#include "runtime/ip.h"
#include "vm/facts.h"

namespace mp::explore {

using vm::Collection;
using vm::FieldId;

namespace {

// RFC 5322 section 3.2.4: a quoted-string, '"' and '\\' escaped with a backslash.
std::string quoted_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A header field name as senders write it: each word capitalised (`x-mailer` →
// X-Mailer). Tests read names in any case.
std::string field_name(std::string name) {
  bool start = true;
  for (char& c : name) {
    if (start) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    start = c == '-';
  }
  return name;
}

class Writer {
 public:
  Writer(const MessageModel& model, const z3::model& skeleton, const z3::model& strings)
      : m_(model), s_(skeleton), strings_(strings) {}

  Witness write() {
    Witness w;
    envelope(w.envelope);
    facts(w.facts);
    sender_list(w.envelope, w.facts);
    w.message = message();
    return w;
  }

 private:
  bool item(Collection c, const std::string& argument, unsigned k) const {
    if (c == Collection::Single) return true;
    auto it = m_.presence().find({c, argument});
    return it != m_.presence().end() && k < it->second.size() && s_.eval(it->second[k], true).is_true();
  }
  std::optional<std::string> text(FieldId f, const std::string& argument = "", unsigned k = 0) const {
    auto it = m_.texts().find({f, argument, k});
    if (it == m_.texts().end()) return std::nullopt;
    return strings_.eval(it->second, true).get_string();
  }
  std::optional<double> number(FieldId f, const std::string& argument = "", unsigned k = 0) const {
    auto it = m_.numbers().find({f, argument, k});
    if (it == m_.numbers().end()) return std::nullopt;
    z3::expr v = s_.eval(it->second, true);
    double out = 0;
    if (v.is_numeral()) out = std::stod(v.get_decimal_string(6));
    return out;
  }
  std::optional<std::string> ip(FieldId f, const std::string& argument = "", unsigned k = 0) const {
    auto it = m_.ips().find({f, argument, k});
    if (it == m_.ips().end()) return std::nullopt;
    uint64_t v = s_.eval(it->second, true).get_numeral_uint64();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", unsigned(v >> 24) & 255, unsigned(v >> 16) & 255,
                  unsigned(v >> 8) & 255, unsigned(v) & 255);
    return std::string(buf);
  }
  unsigned slots(Collection c) const { return m_.slots(c); }

  void envelope(runtime::Envelope& e) const {
    const auto& null = m_.null_reverse_path();
    e.sender = null && s_.eval(*null, true).is_true() ? "" : text(FieldId::Sender).value_or("");
    for (unsigned k = 0; k < slots(Collection::Recipients); ++k) {
      if (!item(Collection::Recipients, "", k)) continue;
      if (auto r = text(FieldId::Recipient, "", k)) e.recipients.push_back(*r);
    }
    if (e.recipients.empty()) e.recipients.push_back("postmaster@example.net");
    e.client_ip = runtime::IpAddress::parse(ip(FieldId::ClientIp).value_or("192.0.2.1"));
    e.helo = text(FieldId::Helo).value_or("mail.example.net");
    e.auth_user = text(FieldId::ClientAuthUser).value_or("");
  }

  // The stated facts; "" states one as `none` (no value).
  void facts(std::vector<std::pair<std::string, std::string>>& out) const {
    auto state = [&](const ValueKey& key, auto value) {
      auto has = m_.has_value(key.field, key.argument);
      bool none = has && !s_.eval(*has, true).is_true();
      out.emplace_back(vm::field_label(key.field, key.argument), none ? std::string() : value());
    };
    for (const auto& [key, value] : m_.texts()) {
      if (vm::is_fact(key.field) && key.field != FieldId::SenderList && !key.argument.starts_with('\x01'))
        state(key, [&, &value = value] { return strings_.eval(value, true).get_string(); });
    }
    for (const auto& [key, value] : m_.numbers()) {
      if (!vm::is_fact(key.field)) continue;
      state(key, [&, &key = key] {
        std::ostringstream v;
        v << *number(key.field, key.argument, key.slot);
        return v.str();
      });
    }
    for (const auto& [key, value] : m_.ips()) {
      if (vm::is_fact(key.field)) state(key, [&, &key = key] { return *ip(key.field, key.argument); });
    }
  }

  // sender_list: the one value the model gives every recipient (encode.cpp), stated
  // once per recipient the envelope names (docs/testing.md).
  void sender_list(const runtime::Envelope& e, std::vector<std::pair<std::string, std::string>>& out) const {
    auto value = text(FieldId::SenderList);
    if (!value) return;
    std::string words;
    for (size_t k = 0; k < e.recipients.size(); ++k) words += (k == 0 ? "" : " ") + *value;
    out.emplace_back("sender_list", words);
  }

  std::string mailboxes(const AddressField& f) const {
    std::string out;
    for (unsigned k = 0; k < slots(f.collection); ++k) {
      if (!item(f.collection, "", k)) continue;
      auto a = text(f.address, "", k);
      if (!a) continue;
      std::string name = text(f.display_name, "", k).value_or("");
      out += (out.empty() ? "" : ", ") + (name.empty() ? *a : quoted_string(name) + " <" + *a + ">");
    }
    return out;
  }

  std::string headers() const {
    std::string h;
    std::set<std::string> written;  // the mailboxes' fields, by the argument that reads them
    for (const AddressField& f : address_fields()) {
      std::string list = mailboxes(f);
      if (list.empty()) continue;
      h += std::string(f.name) + ": " + list + "\n";
      written.insert(f.lowercase);
    }
    if (auto subject = text(FieldId::Subject)) h += "Subject: " + *subject + "\n";
    for (const auto& [key, value] : m_.texts()) {
      if (key.field == FieldId::HeaderValue && (key.argument == "subject" || written.contains(key.argument)))
        continue;  // written above
      if (key.field == FieldId::HeaderValue && item(Collection::Headers, key.argument, key.slot))
        h += field_name(key.argument) + ": " + strings_.eval(value, true).get_string() + "\n";
      if (key.field == FieldId::HeaderLine && key.argument.empty() && item(Collection::Headers, "", key.slot))
        h += strings_.eval(value, true).get_string() + "\n";
    }
    return h;
  }

  std::string body() const {
    std::string b = text(FieldId::Body).value_or("");
    for (unsigned k = 0; k < slots(Collection::Urls); ++k) {
      if (!item(Collection::Urls, "", k)) continue;
      if (auto u = text(FieldId::Url, "", k)) b += (b.empty() ? "" : "\n") + *u;
    }
    return b + "\n";
  }

  std::string attachments(const std::string& boundary) const {
    std::string out;
    for (unsigned k = 0; k < slots(Collection::Attachments); ++k) {
      if (!item(Collection::Attachments, "", k)) continue;
      std::string name = text(FieldId::AttachmentName, "", k).value_or("file" + std::to_string(k) + ".bin");
      std::string type = text(FieldId::AttachmentType, "", k).value_or("application/octet-stream");
      auto size = static_cast<size_t>(number(FieldId::AttachmentSize, "", k).value_or(3));
      out += "--" + boundary + "\nContent-Type: " + type + "; name=\"" + name +
             "\"\nContent-Disposition: attachment; filename=\"" + name +
             "\"\nContent-Transfer-Encoding: base64\n\n" + base64_of_zeros(size) + "\n";
    }
    return out;
  }

  // `size` bytes of 'A' in base64, 76 characters a line.
  static std::string base64_of_zeros(size_t size) {
    std::string encoded;
    size_t full = size / 3;
    encoded.reserve(full * 4 + 4);
    for (size_t i = 0; i < full; ++i) encoded += "QUFB";
    if (size % 3 == 1) encoded += "QQ==";
    if (size % 3 == 2) encoded += "QUE=";
    std::string out;
    for (size_t i = 0; i < encoded.size(); i += 76) out += encoded.substr(i, 76) + "\n";
    return out;
  }

  std::string message() const {
    std::string attached = attachments("=-fuzz-=");
    std::string msg = headers();
    if (attached.empty()) {
      msg += "\n" + body();
    } else {
      msg +=
          "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"=-fuzz-=\"\n\n--=-fuzz-=\n"
          "Content-Type: text/plain\n\n" +
          body() + attached + "--=-fuzz-=--\n";
    }
    if (auto size = number(FieldId::Size)) {
      // Blank lines at the end of the text reach the size without changing what it says.
      if (msg.size() < *size) msg += std::string(static_cast<size_t>(*size) - msg.size(), '\n');
    }
    return msg;
  }

  const MessageModel& m_;
  const z3::model& s_;
  const z3::model& strings_;
};

}  // namespace

Witness realize(const MessageModel& model, const z3::model& skeleton, const z3::model& strings) {
  return Writer(model, skeleton, strings).write();
}

}  // namespace mp::explore
