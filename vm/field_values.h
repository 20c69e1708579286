// vm-internal: the values of each field of one message, extracted from the Message
// and Envelope on first use and cached for the rest of the evaluation. Address and
// domain values are folded here, once, so set lookups compare canonical forms.
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attach/inspect.h"
#include "runtime/envelope.h"
#include "runtime/message.h"
#include "runtime/relays.h"
#include "vm/facts.h"
#include "vm/fields.h"
#include "vm/image.h"
#include "vm/ip_trie.h"

namespace mp::vm {

// Text values borrow from the Message where they can (body, headers, subject…) and
// own only what extraction had to build (folded addresses, "Name: value" lines).
struct FieldValues {
  bool ready = false;
  std::vector<std::string_view> text;   // Text, Address, Domain
  std::deque<std::string> owned;        // storage for built values (stable addresses)
  std::vector<double> numbers;          // Number
  std::vector<runtime::IpAddress> ips;  // Ip
  std::vector<std::string> arguments;   // per value, for facts with an argument
  // The item each value belongs to, for a field with several values per item
  // (attachments.flags); empty when value i belongs to item i (every other field).
  std::vector<uint32_t> items;

  uint32_t item_of(size_t value) const { return items.empty() ? static_cast<uint32_t>(value) : items[value]; }
  void borrow(std::string_view value) { text.push_back(value); }
  void own(std::string value) {
    owned.push_back(std::move(value));
    text.push_back(owned.back());
  }
};

class MessageFields {
 public:
  // Facts come from `facts` (none: every fact is empty); `on_temperror` says whether
  // a fact that failed stops the evaluation (FactUnavailable) or reads as failed.
  MessageFields(const runtime::Message& message, const runtime::Envelope& envelope,
                const IpTrie& trusted_relays, FactSource* facts = nullptr,
                TempErrorPolicy on_temperror = TempErrorPolicy::Tempfail,
                std::span<const FactUse> facts_used = {})
      : message_(message),
        envelope_(envelope),
        trusted_relays_(trusted_relays),
        facts_(facts),
        on_temperror_(on_temperror),
        facts_used_(facts_used) {}

  // The bounds of attachment inspection (the image's archive.* settings); before the
  // first read of an attachment field.
  void set_archive_limits(const attach::Limits& limits) { archive_limits_ = limits; }
  // Run before message.defects is first read: the pattern matcher's regex work, true
  // when PCRE2 gave up somewhere (the value regex_limit_exceeded, which the message's
  // own parse cannot know). MatchState sets it for its lifetime.
  void set_regex_work(std::function<bool()> gave_up) { regex_work_ = std::move(gave_up); }

  const FieldValues& values(FieldId field);
  // The resemblance key (runtime/resemble.h) of each text value of `field`, computed
  // on first use: the `resembles` test compares these with its entries.
  const std::vector<std::string>& resemblance_keys(FieldId field);
  size_t item_count(Collection collection);
  // Lowercase header names, for `header "X"` filters.
  const std::vector<std::string>& header_names();
  // What item `item` of a field with an argument belongs to: its header name for
  // header "X", its zone for dnsbl("ZONE"), … (tests compare it with their filter).
  std::string_view item_argument(FieldId field, uint32_t item);
  // Which item of a collection `item` is, as a person would name it: the attachment's
  // file name, the header field's name and position, the URL, the address; "" for a
  // single-valued field. For evidence and traces.
  std::string item_name(Collection collection, uint32_t item);
  // Throws FactUnavailable when the fact `field` could not be computed for `argument`
  // (dnsbl("ZONE"), mx(FIELD)) and facts.on_temperror = tempfail; a no-op otherwise.
  void require_argument(FieldId field, std::string_view argument);
  // What attach::inspect found in each attachment, in attachments() order; computed
  // for all attachments when a rule first reads an inspection field.
  const std::vector<attach::Report>& inspections();
  // Whether inspections() ran: a policy that reads no inspection field never runs it.
  bool inspected() const { return inspections_.has_value(); }
  const runtime::Message& message() const { return message_; }
  const runtime::Envelope& envelope() const { return envelope_; }
  // The facts computed so far, in the order rules first read them.
  const std::vector<FactReport>& fact_reports() const { return fact_reports_; }

 private:
  void extract(FieldId field, FieldValues& out);
  void extract_fact(FieldId field, FieldValues& out);
  void extract_header_numbers(FieldValues& out);
  void extract_paragraphs(FieldValues& out);
  void extract_mime_headers(FieldValues& out);
  void extract_relays(FieldValues& out);
  void extract_header_addresses(FieldValues& out);
  void extract_end_headers(bool first, FieldValues& out);
  const runtime::RelayPath& relay_path();
  void add_fact(FieldId field, std::span<const std::string> arguments, FieldValues& out);
  const std::vector<runtime::Address>& addresses(Collection collection) const;
  // The items of Collection::ArchiveMembers: every member of every attachment.
  struct ArchiveMember {
    uint32_t attachment;
    const attach::Member* member;  // into inspections_
  };
  const std::vector<ArchiveMember>& archive_members();
  void extract_inspection(FieldId field, FieldValues& out);
  // urls.text_domain, urls.flags, message.obfuscation (vm/field_heuristics.cpp).
  void extract_heuristic(FieldId field, FieldValues& out);
  std::string attachment_name(uint32_t attachment) const;

  const runtime::Message& message_;
  const runtime::Envelope& envelope_;
  const IpTrie& trusted_relays_;
  FactSource* facts_;
  TempErrorPolicy on_temperror_;
  std::span<const FactUse> facts_used_;
  std::vector<FactReport> fact_reports_;
  struct FailedArgument {
    FieldId field;
    std::string argument;
    FactReport report;
  };
  std::vector<FailedArgument> failed_arguments_;
  std::array<FieldValues, kFieldCount> cache_;
  std::array<std::optional<std::vector<std::string>>, kFieldCount> resemblance_keys_;
  std::vector<std::string> header_names_;
  bool header_names_ready_ = false;
  std::optional<std::vector<attach::Report>> inspections_;
  attach::Limits archive_limits_;
  std::function<bool()> regex_work_;
  std::vector<ArchiveMember> archive_members_;
  std::optional<runtime::RelayPath> relay_path_;
};

}  // namespace mp::vm
