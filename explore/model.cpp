// The message as solver variables (model.h).
#include "explore/model.h"

#include <hs/hs.h>

#include <algorithm>
#include <regex>

#include "compiler/sema.h"
#include "explore/regex_smt.h"
#include "vm/facts.h"

namespace mp::explore {

using vm::FieldId;

// The shapes of what policyc fuzz writes: a run of characters from one class, with
// characters it may not start or end with and texts it may not contain. Flat shapes
// like these are what Z3's string solver is quick on. Printable ASCII (Z3 4.8's
// get_string gives a backslash unescaped); header texts without leading or trailing blanks
// (unfolding drops them).
struct Shape {
  const char* chars;  // a PCRE class
  unsigned min_length = 0;
  const char* edges = "";                    // characters it neither starts nor ends with
  std::vector<const char*> not_inside = {};  // texts it does not contain
  const char* inside = nullptr;              // a text it contains
  unsigned max_length = 64;
};
constexpr unsigned kMaxTextLength = 256;  // header and body texts: room for a few literals
namespace {

const Shape kText{"[ -~]", 0, " ", {}, nullptr, kMaxTextLength};
const Shape kLowerText{"[ -@\\[-~]", 0, " ", {}, nullptr, kMaxTextLength};
// A body has lines: a line break inside it (not first or last, which MIME and the
// writer's own final line break make ambiguous), and never the multipart boundary.
const Shape kBody{"[ -~\n]", 0, "\n", {"=-fuzz-="}, nullptr, kMaxTextLength};
// Any printable ASCII: the writer quotes the name (realize.cpp), so ',' '<' '"' '\\' and
// '(' are the name's own ("Doe, John").
const Shape kDisplayName{"[ -~]", 0, " "};
const Shape kLocal{"[a-z0-9_+.-]", 1, ".", {".."}};
const Shape kDomain{"[a-z0-9.-]", 1, ".-", {"..", ".-", "-."}};
const Shape kToken{"[A-Za-z0-9_-]", 1};
// A file name before its extension: dots inside, so that "invoice.pdf.exe" is written.
const Shape kBaseName{"[A-Za-z0-9_.-]", 1, ".", {".."}};
const Shape kExtension{"[a-z0-9]", 1, "", {}, nullptr, 8};
const Shape kMimeType{"[a-z0-9./+-]", 3, "/", {"//"}, "/"};
const Shape kPath{"[a-z0-9/._-]", 0};
const Shape kCountry{"[A-Z]", 2, "", {}, nullptr, 2};

// The address fields of a mailbox collection: address, domain, local part.
struct Mailbox {
  FieldId address, domain, local;
};
std::optional<Mailbox> mailbox_of(FieldId f) {
  static const Mailbox boxes[] = {
      {FieldId::Sender, FieldId::SenderDomain, FieldId::SenderLocal},
      {FieldId::FromAddress, FieldId::FromDomain, FieldId::FromLocal},
      {FieldId::ToAddress, FieldId::ToDomain, FieldId::ToLocal},
      {FieldId::CcAddress, FieldId::CcDomain, FieldId::CcLocal},
      {FieldId::ReplyToAddress, FieldId::ReplyToDomain, FieldId::ReplyToLocal},
      // recipients have no .local field: the local part is a hidden variable
      {FieldId::Recipient, FieldId::RecipientDomain, FieldId::SenderList},
  };
  for (const auto& b : boxes) {
    if (f == b.address || f == b.domain || f == b.local) return b;
  }
  return std::nullopt;
}

// The address a display name is written with (a mailbox needs one).
std::optional<FieldId> address_of_display_name(FieldId f) {
  switch (f) {
    case FieldId::FromDisplayName: return FieldId::FromAddress;
    case FieldId::ToDisplayName: return FieldId::ToAddress;
    case FieldId::CcDisplayName: return FieldId::CcAddress;
    case FieldId::ReplyToDisplayName: return FieldId::ReplyToAddress;
    default: return std::nullopt;
  }
}

}  // namespace

const std::vector<AddressField>& address_fields() {
  static const std::vector<AddressField> fields = {
      {"From", "from", vm::Collection::From, FieldId::FromAddress, FieldId::FromDisplayName},
      {"To", "to", vm::Collection::To, FieldId::ToAddress, FieldId::ToDisplayName},
      {"Cc", "cc", vm::Collection::Cc, FieldId::CcAddress, FieldId::CcDisplayName},
      {"Reply-To", "reply-to", vm::Collection::ReplyTo, FieldId::ReplyToAddress,
       FieldId::ReplyToDisplayName}};
  return fields;
}

const AddressField* address_field(const std::string& argument) {
  for (const auto& f : address_fields()) {
    if (argument == f.lowercase) return &f;
  }
  return nullptr;
}

std::string header_line_name(unsigned slot) {
  return "X-Fuzz-" + std::to_string(slot + 1);
}

std::string presence_argument(FieldId field, const std::string& argument) {
  return vm::field_info(field).collection == vm::Collection::Headers ? argument : std::string();
}

unsigned MessageModel::slots(vm::Collection c) const {
  if (c == vm::Collection::Single) return 1;
  auto it = slots_.find(c);
  return it == slots_.end() ? 2 : it->second;
}

bool MessageModel::writable(FieldId f) {
  switch (f) {
    case FieldId::Sender:
    case FieldId::SenderDomain:
    case FieldId::SenderLocal:
    case FieldId::Recipient:
    case FieldId::RecipientDomain:
    case FieldId::ClientIp:
    case FieldId::Helo:
    case FieldId::ClientAuthUser:
    case FieldId::FromAddress:
    case FieldId::FromDomain:
    case FieldId::FromLocal:
    case FieldId::FromDisplayName:
    case FieldId::ToAddress:
    case FieldId::ToDomain:
    case FieldId::ToLocal:
    case FieldId::ToDisplayName:
    case FieldId::CcAddress:
    case FieldId::CcDomain:
    case FieldId::CcLocal:
    case FieldId::CcDisplayName:
    case FieldId::ReplyToAddress:
    case FieldId::ReplyToDomain:
    case FieldId::ReplyToLocal:
    case FieldId::ReplyToDisplayName:
    case FieldId::Subject:
    case FieldId::HeaderValue:
    case FieldId::HeaderLine:
    case FieldId::Body:
    case FieldId::Url:
    case FieldId::UrlDomain:
    case FieldId::AttachmentName:
    case FieldId::AttachmentExtension:
    case FieldId::AttachmentType:
    case FieldId::AttachmentSize:
    case FieldId::Size:
    case FieldId::Spf:
    case FieldId::Dkim:
    case FieldId::DkimDomain:
    case FieldId::Dmarc:
    case FieldId::DmarcPolicy:
    case FieldId::Ptr:
    case FieldId::Fcrdns:
    case FieldId::PtrChecks:
    case FieldId::HeloChecks:
    case FieldId::Mx:
    case FieldId::Av:
    case FieldId::AvSignature:
    case FieldId::Country:
    case FieldId::Dnsbl:
    case FieldId::Dnswl:
    case FieldId::Reputation:
    case FieldId::NetReputation:
    case FieldId::Rate:
    case FieldId::RateSurge:
    case FieldId::BulkCount:
    case FieldId::BulkAddresses:
    case FieldId::SenderList:
    case FieldId::Bayes: return true;
    default: return false;
  }
}

bool MessageModel::modeled(FieldId f) const {
  if (mode_ == Mode::Witness) return writable(f);
  if (vm::several_values(f)) return false;  // one variable cannot hold two values
  // A rule reading it runs once per recipient, each with its own value: no one formula.
  if (f == FieldId::SenderList) return false;
  return true;
}

z3::expr MessageModel::variable(const std::string& name, const z3::sort& sort) {
  return ctx_.constant((name + "!" + std::to_string(next_id_++)).c_str(), sort);
}

z3::expr& MessageModel::slot_presence(vm::Collection c, const std::string& argument, unsigned slot) {
  auto& v = presence_[{c, argument}];
  while (v.size() <= slot) {
    if (c == vm::Collection::Single)
      v.push_back(ctx_.bool_val(true));
    else
      v.push_back(variable("item." + std::string(vm::collection_names(c)) + argument, ctx_.bool_sort()));
  }
  return v[slot];
}

namespace {

// Values every message, or every item of their collection, has (vm/field_values.cpp):
// `not (size > 1MB)` and `size <= 1MB` are the same test.
bool always_valued(FieldId field) {
  // The envelope sender and its parts are always read, "" for a bounce; every attachment
  // and archive member has a name, an extension and a type, "" when it has none
  // (vm/field_values.cpp).
  switch (field) {
    case FieldId::Size:
    case FieldId::Sender:
    case FieldId::SenderDomain:
    case FieldId::SenderLocal:
    case FieldId::AttachmentName:
    case FieldId::AttachmentExtension:
    case FieldId::AttachmentType:
    case FieldId::AttachmentSize:
    case FieldId::ArchiveMemberName:
    case FieldId::ArchiveMemberExtension:
    case FieldId::ArchiveMemberType:
    case FieldId::ArchiveMemberSize:
    case FieldId::ArchiveMemberDepth: return true;
    default: return false;
  }
}

}  // namespace

bool MessageModel::stated_none(FieldId field) {
  return vm::is_fact(field) && field != FieldId::SenderList && vm::field_vocabulary(field).empty() &&
         vm::field_info(field).collection == vm::Collection::Single;
}

std::string MessageModel::has_value_key(FieldId field, const std::string& argument, unsigned slot) {
  return "has|" + std::to_string(static_cast<int>(field)) + "|" + argument + "|" + std::to_string(slot);
}

z3::expr MessageModel::present(FieldId field, const std::string& argument, unsigned slot) {
  z3::expr item = slot_presence(vm::field_info(field).collection, presence_argument(field, argument), slot);
  if (always_valued(field) || (mode_ == Mode::Witness && !stated_none(field))) return item;
  // Proof: any other value may be missing (an absent header, a number with no value).
  // Witness: a fact a case states as `none` (not listed, no PTR name, no score).
  auto [it, fresh] = free_.try_emplace(has_value_key(field, argument, slot), ctx_.bool_val(false));
  if (fresh) {
    it->second = variable("has", ctx_.bool_sort());
    if (mode_ == Mode::Witness) preferences_.push_back(!it->second);  // fewer stated facts
  }
  return it->second && item;
}

std::optional<z3::expr> MessageModel::has_value(FieldId field, const std::string& argument) const {
  auto it = free_.find(has_value_key(field, argument, 0));
  if (it == free_.end()) return std::nullopt;
  return it->second;
}

z3::expr MessageModel::count(vm::Collection c) {
  auto it = counts_.find(c);
  if (it != counts_.end()) return it->second;
  z3::expr n = variable("count." + std::string(vm::collection_names(c)), ctx_.int_sort());
  z3::expr present = ctx_.int_val(0);
  for (unsigned k = 0; k < slots(c); ++k)
    present = present + z3::ite(slot_presence(c, "", k), ctx_.int_val(1), ctx_.int_val(0));
  constraints_.push_back(mode_ == Mode::Witness ? n == present : n >= present);
  counts_.emplace(c, n);
  return n;
}

z3::expr MessageModel::free_bool(const std::string& key) {
  auto it = free_.find(key);
  if (it != free_.end()) return it->second;
  z3::expr b = variable("free", ctx_.bool_sort());
  free_.emplace(key, b);
  return b;
}

z3::expr MessageModel::text(const ValueKey& key) {
  auto it = texts_.find(key);
  if (it != texts_.end()) return it->second;
  z3::expr v = text_variable(key);
  texts_.emplace(key, v);
  return v;
}

// A field that derives from others when writing: an address from its local part and
// domain, an extension from the file name, a URL from its domain, a header line from
// a name and a value.
std::optional<z3::expr> MessageModel::derived_text(const ValueKey& key) {
  auto part = [&](FieldId f) { return text({f, key.argument, key.slot}); };
  auto hidden = [&](const std::string& what, const Shape& shape) {
    ValueKey hidden_key{key.field, "\x01" + what + key.argument, key.slot};
    auto it = texts_.find(hidden_key);
    if (it != texts_.end()) return it->second;
    z3::expr v = variable(what, ctx_.string_sort());
    add_shape(v, shape);
    texts_.emplace(hidden_key, v);
    return v;
  };
  if (auto box = mailbox_of(key.field); box && key.field == box->address) {
    z3::expr local = box->local == FieldId::SenderList ? hidden("rcpt.local", kLocal) : part(box->local);
    return z3::concat(z3::concat(local, string_constant(ctx_, "@")), part(box->domain));
  }
  if (key.field == FieldId::AttachmentName) {
    z3::expr base = hidden("attachment.base", kBaseName);
    return z3::concat(z3::concat(base, string_constant(ctx_, ".")), part(FieldId::AttachmentExtension));
  }
  if (key.field == FieldId::Url) {
    z3::expr path = hidden("url.path", kPath);
    return z3::concat(z3::concat(string_constant(ctx_, "http://"), part(FieldId::UrlDomain)),
                      z3::concat(string_constant(ctx_, "/"), path));
  }
  if (key.field == FieldId::HeaderValue && key.argument == "subject") {
    // One Subject field (RFC 5322 section 3.6), the one `subject` reads: a second, or
    // one beside an empty Subject, is no message a sender writes.
    z3::expr present = slot_presence(vm::Collection::Headers, "subject", key.slot);
    constraints_.push_back(key.slot == 0 ? present : !present);
    return key.slot == 0 ? text({FieldId::Subject, "", 0}) : hidden("header.value", kText);
  }
  if (const AddressField* f = key.field == FieldId::HeaderValue ? address_field(key.argument) : nullptr)
    return address_header(key, *f, hidden("header.value", kText));
  if (key.field == FieldId::HeaderLine) {
    // A field of its own name per slot: one variable is much easier on the solver
    // than a name and a value.
    z3::expr value = hidden("header.value", kText);
    return z3::concat(string_constant(ctx_, header_line_name(key.slot) + ": "), value);
  }
  return std::nullopt;
}

// One From (To, Cc, Reply-To) field (RFC 5322 section 3.6). With mailboxes, those
// from.* (to.*, …) reads, in slot order, as realize writes them: `address` when the name
// is "", else `"name" <address>`, joined by ", "; without, nothing or the empty group
// `undisclosed-recipients:;`, which the runtime reads as no mailbox, as it does not
// `To: <>` or `To: x y` (one each, with no address). Two texts, not any group: the
// string solver took the whole budget to refute a test of a mailbox's text on a
// group. Which
// mailboxes are present and whether a name is "" are string tests, so that the
// skeleton picks the form and the strings see it: the string solver gave up on a
// choice of forms beside a test of another field (12.8 s and no answer; 0.9 s with
// the form chosen). The slots are filled in order, so that a list has no holes.
z3::expr MessageModel::address_header(const ValueKey& key, const AddressField& f, const z3::expr& any_text) {
  z3::expr present = slot_presence(vm::Collection::Headers, key.argument, key.slot);
  if (key.slot > 0) {
    constraints_.push_back(!present);
    return any_text;
  }
  // From the last slot back: slot k's mailbox and what follows it, "" when it is absent
  // (and so are the later ones).
  z3::expr tail = string_constant(ctx_, "");
  for (unsigned k = slots(f.collection); k-- > 0;) {
    const z3::expr mailbox = slot_presence(f.collection, "", k);
    constraints_.push_back(stands_for(mailbox) == mailbox);
    const z3::expr written = z3::concat(written_mailbox(f, k), tail);
    if (k == 0) {
      constraints_.push_back(z3::implies(mailbox, present));
      string_constraints_.push_back(any_text == string_constant(ctx_, "") ||
                                    any_text == string_constant(ctx_, "undisclosed-recipients:;"));
      return z3::ite(mailbox, written, any_text);
    }
    constraints_.push_back(z3::implies(mailbox, slot_presence(f.collection, "", k - 1)));
    tail = z3::ite(mailbox, z3::concat(string_constant(ctx_, ", "), written), string_constant(ctx_, ""));
  }
  return any_text;  // no slots
}

// Mailbox `k` of an address field as realize writes it (address_header).
z3::expr MessageModel::written_mailbox(const AddressField& f, unsigned k) {
  z3::expr address = text({f.address, "", k}), name = text({f.display_name, "", k});
  // Written in quotes with nothing to escape.
  string_constraints_.push_back(!name.contains(string_constant(ctx_, "\"")) &&
                                !name.contains(string_constant(ctx_, "\\")));
  const z3::expr unnamed = name == string_constant(ctx_, "");
  stands_for(unnamed);
  z3::expr quoted = z3::concat(z3::concat(string_constant(ctx_, "\""), name), string_constant(ctx_, "\" <"));
  return z3::ite(unnamed, address, z3::concat(z3::concat(quoted, address), string_constant(ctx_, ">")));
}

z3::expr MessageModel::text_variable(const ValueKey& key) {
  if (mode_ == Mode::Witness) {
    if (auto d = derived_text(key)) return *d;
  }
  z3::expr v = variable(std::string(vm::field_info(key.field).name), ctx_.string_sort());
  if (mode_ == Mode::Witness) shape(key, v);
  return v;
}

namespace {

// The shape of a field fuzz writes as one value of its own (not derived from others,
// not from a closed vocabulary).
const Shape& shape_of(FieldId field) {
  const Shape* pcre = compiler::field_is_caseless(field) ? &kLowerText : &kText;
  switch (vm::field_info(field).kind) {
    case vm::ValueKind::Domain: pcre = &kDomain; break;
    case vm::ValueKind::Address: pcre = &kLocal; break;  // only hidden parts reach here
    default: break;
  }
  if (auto box = mailbox_of(field); box && field == box->local) pcre = &kLocal;
  switch (field) {
    case FieldId::FromDisplayName:
    case FieldId::ToDisplayName:
    case FieldId::CcDisplayName:
    case FieldId::ReplyToDisplayName: pcre = &kDisplayName; break;
    case FieldId::Body: pcre = &kBody; break;
    case FieldId::AttachmentExtension: pcre = &kExtension; break;
    case FieldId::AttachmentType: pcre = &kMimeType; break;
    case FieldId::ClientAuthUser: pcre = &kToken; break;
    case FieldId::Country: pcre = &kCountry; break;
    default: break;
  }
  return *pcre;
}

// A field whose value fuzz writes from others (derived_text): the bytes of its parts
// and of what joins them (a PCRE class); nullptr for the others.
const char* derived_chars(FieldId field) {
  if (auto box = mailbox_of(field); box && field == box->address) return "[a-z0-9_+.@-]";
  switch (field) {
    case FieldId::AttachmentName: return "[A-Za-z0-9_.-]";
    case FieldId::Url: return "[a-z0-9/._:-]";
    case FieldId::HeaderLine: return kText.chars;
    default: return nullptr;
  }
}

}  // namespace

bool MessageModel::can_write(FieldId field, std::string_view text) {
  if (!vm::field_vocabulary(field).empty()) return true;
  const char* derived = derived_chars(field);
  const Shape& shape = shape_of(field);
  const char* pcre = derived ? derived : shape.chars;
  static std::map<const char*, std::regex> classes;
  auto found = classes.find(pcre);
  if (found == classes.end()) found = classes.emplace(pcre, std::regex(pcre)).first;
  const std::regex& chars = found->second;
  return (derived || text.size() <= shape.max_length) && std::all_of(text.begin(), text.end(), [&](char c) {
           return std::regex_match(std::string(1, c), chars);
         });
}

std::bitset<256> MessageModel::alphabet(FieldId field) {
  static std::map<FieldId, std::bitset<256>> known;
  auto [it, fresh] = known.try_emplace(field);
  if (fresh) {
    for (int c = 0; c < 256; ++c) it->second[c] = can_write(field, std::string(1, static_cast<char>(c)));
  }
  return it->second;
}

// What policyc fuzz can write for the field (Mode::Witness).
void MessageModel::shape(const ValueKey& key, const z3::expr& v) {
  const auto& vocabulary = vm::field_vocabulary(key.field);
  if (!vocabulary.empty()) {
    z3::expr any = ctx_.bool_val(false);
    for (std::string_view word : vocabulary) any = any || v == string_constant(ctx_, word);
    string_constraints_.push_back(any);
    if (failed_facts_refused_) refuse_failed_fact(key.field, v);
    return;
  }
  add_shape(v, shape_of(key.field));
}

void MessageModel::refuse_failed_facts() {
  if (mode_ != Mode::Witness || failed_facts_refused_ || failed_facts_kept_) return;
  failed_facts_refused_ = true;
  for (const auto& [key, value] : texts_) refuse_failed_fact(key.field, value);
}

void MessageModel::refuse_failed_fact(FieldId field, const z3::expr& value) {
  const auto& vocabulary = vm::field_vocabulary(field);
  if (vm::is_fact(field) && std::find(vocabulary.begin(), vocabulary.end(), "temperror") != vocabulary.end())
    string_constraints_.push_back(value != string_constant(ctx_, "temperror"));
}

void MessageModel::add_shape(const z3::expr& v, const Shape& shape) {
  auto& c = string_constraints_;
  c.push_back(z3::in_re(v, z3::star(exact_language(ctx_, shape.chars))));
  c.push_back(v.length() >= static_cast<int>(shape.min_length) &&
              v.length() <= static_cast<int>(shape.max_length));
  for (const char* e = shape.edges; *e; ++e) {
    z3::expr edge = string_constant(ctx_, std::string(1, *e));
    c.push_back(!z3::prefixof(edge, v) && !z3::suffixof(edge, v));
  }
  for (const char* text : shape.not_inside) c.push_back(!v.contains(string_constant(ctx_, text)));
  if (shape.inside) c.push_back(v.contains(string_constant(ctx_, shape.inside)));
}

z3::expr MessageModel::string_test(const z3::expr& relation) {
  return mode_ == Mode::Prove ? stands_for(relation) : bounced(relation, stands_for(relation));
}

// Witness: the skeleton's boolean for `relation`; proof: the relation itself.
z3::expr MessageModel::stands_for(const z3::expr& relation) {
  if (mode_ == Mode::Prove) {
    string_relations_.push_back(relation);
    return relation;
  }
  z3::expr b = variable("str", ctx_.bool_sort());
  string_tests_.emplace_back(b, relation);
  return b;
}

z3::expr MessageModel::known_test(const z3::expr& value, KnownTest known, const z3::expr& relation) {
  HeldTest test{value, stands_for(relation), std::move(known)};
  for (const auto& other : known_tests_) {
    if (!z3::eq(other.value, value)) continue;
    relate(other, test);
    relate(test, other);
  }
  known_by_held_.emplace(test.held.id(), known_tests_.size());
  known_tests_.push_back(test);
  return mode_ == Mode::Prove ? test.held : bounced(relation, test.held);
}

std::optional<MessageModel::KnownOf> MessageModel::known_of(const z3::expr& test) const {
  auto it = known_by_held_.find(test.id());
  if (it == known_by_held_.end()) return std::nullopt;
  const HeldTest& t = known_tests_[it->second];
  return KnownOf{t.value, t.known};
}

// What `a` holding says of `b`, as a constraint.
void MessageModel::relate(const HeldTest& a, const HeldTest& b) {
  std::optional<bool> implied;
  const KnownTest &x = a.known, &y = b.known;
  if (x.literal && y.literal) implied = literal_implies(*x.literal, *y.literal);
  if (!implied && x.literal && y.regex) implied = literal_implies(*x.literal, *y.regex);
  if (!implied && x.regex && y.literal) implied = regex_implies(*x.regex, *y.literal);
  if (implied) constraints_.push_back(z3::implies(a.held, *implied ? b.held : !b.held));
}

// A bounce's MAIL FROM:<> (RFC 5321 §4.5.5) is a choice of the skeleton's, not a value
// the string solver writes: an address's parts keep their simple shapes (neither is
// ever ""; a disjunction there slowed Z3's string solver several times over), and a
// test that reads the sender has, under the choice, its value for "" (the local part
// and the domain "" too, as vm/field_values.cpp reads them).
z3::expr MessageModel::bounced(const z3::expr& relation, const z3::expr& test) {
  z3::expr_vector from(ctx_), to(ctx_);
  for (FieldId f : {FieldId::Sender, FieldId::SenderLocal, FieldId::SenderDomain}) {
    auto it = texts_.find({f, "", 0});
    if (it == texts_.end()) continue;
    from.push_back(it->second);  // the sender first: its value is local@domain, not "@"
    to.push_back(string_constant(ctx_, ""));
  }
  z3::expr nulled = relation;
  if (!from.empty()) nulled = nulled.substitute(from, to);
  if (z3::eq(nulled, relation)) return test;
  nulled = nulled.simplify();
  if (!null_reverse_path_) null_reverse_path_ = variable("null_reverse_path", ctx_.bool_sort());
  z3::expr when_null = nulled.is_true() || nulled.is_false() ? nulled : string_test(nulled);
  return z3::ite(*null_reverse_path_, when_null, test);
}

void MessageModel::link_addresses() {
  if (mode_ != Mode::Prove) return;
  std::vector<std::pair<ValueKey, z3::expr>> addresses;
  for (const auto& [key, value] : texts_) {
    if (auto box = mailbox_of(key.field); box && key.field == box->address)
      addresses.emplace_back(key, value);
  }
  z3::expr at = string_constant(ctx_, "@"), empty = string_constant(ctx_, "");
  for (const auto& [key, address] : addresses) {
    const z3::expr has_address = present(key.field, key.argument, key.slot);
    // An address the null reverse-path of a bounce: its local part is "" too (the VM
    // lowercases the local part of an address, so no other text links them).
    const ValueKey local_key{mailbox_of(key.field)->local, key.argument, key.slot};
    if (auto local = texts_.find(local_key); local != texts_.end() && local_key.field != FieldId::SenderList)
      constraints_.push_back(z3::implies(has_address && address == empty, local->second == empty));
    ValueKey domain_key{mailbox_of(key.field)->domain, key.argument, key.slot};
    auto it = texts_.find(domain_key);
    if (it == texts_.end()) continue;
    // vm/field_values.cpp: the domain is what follows the address's last '@', "" when
    // there is none (`sender is ""` has sender.domain "").
    const z3::expr& domain = it->second;
    const z3::expr has_domain = present(domain_key.field, key.argument, key.slot);
    z3::expr local = variable("local", ctx_.string_sort());
    constraints_.push_back(z3::implies(
        has_address && address.contains(at),
        has_domain && address == z3::concat(z3::concat(local, at), domain) && !domain.contains(at)));
    constraints_.push_back(z3::implies(has_address && !address.contains(at), has_domain && domain == empty));
  }
}

// runtime/mime_walk.cpp: a file's extension is what follows the last '.' of its name,
// "" when there is none; both are read in lower case (vm/field_values.cpp), so the
// relation is exact and `name ends with ".exe"` follows from `extension is "exe"`.
void MessageModel::link_file_names() {
  if (mode_ != Mode::Prove) return;
  const z3::expr dot = string_constant(ctx_, "."), empty = string_constant(ctx_, "");
  std::vector<std::pair<ValueKey, z3::expr>> names;
  for (const auto& [key, value] : texts_) {
    if (key.field == FieldId::AttachmentName || key.field == FieldId::ArchiveMemberName)
      names.emplace_back(key, value);
  }
  for (const auto& [key, name] : names) {
    const FieldId extension_field =
        key.field == FieldId::AttachmentName ? FieldId::AttachmentExtension : FieldId::ArchiveMemberExtension;
    auto it = texts_.find({extension_field, key.argument, key.slot});
    if (it == texts_.end()) continue;
    const z3::expr& extension = it->second;
    const z3::expr base = variable("base", ctx_.string_sort());
    const z3::expr has_name = present(key.field, key.argument, key.slot);
    constraints_.push_back(z3::implies(has_name, !extension.contains(dot)));
    constraints_.push_back(
        z3::implies(has_name && name.contains(dot), name == z3::concat(z3::concat(base, dot), extension)));
    constraints_.push_back(z3::implies(has_name && !name.contains(dot), extension == empty));
    // What Z3's string solver does not find in its time: a name that is or ends with
    // "X.Y" (Y without a dot) has the extension Y, so `name ends with ".exe"` reads as
    // `extension is "exe"` and the other way round.
    for (const HeldTest& t : known_tests_) {
      const std::optional<LiteralTest>& lit = t.known.literal;
      if (!z3::eq(t.value, name) || !lit || lit->caseless ||
          (lit->kind != LiteralTest::Kind::EndsWith && lit->kind != LiteralTest::Kind::Is))
        continue;
      const size_t last_dot = lit->bytes.rfind('.');
      if (last_dot == std::string::npos) continue;
      const z3::expr tail = string_constant(ctx_, lit->bytes.substr(last_dot + 1));
      constraints_.push_back(z3::implies(has_name && t.held, extension == tail));
      // And `ends with ".Y"` is `extension is "Y"` exactly (Y not empty: a dot then).
      if (lit->kind == LiteralTest::Kind::EndsWith && last_dot == 0 && lit->bytes.size() > 1)
        constraints_.push_back(z3::implies(has_name && extension == tail, t.held));
    }
  }
}

void MessageModel::add_header_line_test(const z3::expr& any, const z3::expr& placeholder,
                                        const z3::expr& line_test) {
  if (mode_ == Mode::Prove) header_line_tests_.push_back({any, placeholder, line_test});
}

// The line the VM makes of a field (vm/field_values.cpp): its name as written, which a
// named test matches in any case, ": " and its value.
z3::expr MessageModel::header_line(const std::string& name, const z3::expr& value) {
  z3::expr line = string_constant(ctx_, "");
  for (char c : name) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const char upper = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    z3::expr letter = string_constant(ctx_, std::string(1, c));
    if (lower != upper)
      letter = z3::ite(variable("name.case", ctx_.bool_sort()), string_constant(ctx_, std::string(1, lower)),
                       string_constant(ctx_, std::string(1, upper)));
    line = z3::concat(line, letter);
  }
  return z3::concat(z3::concat(line, string_constant(ctx_, ": ")), value);
}

void MessageModel::link_header_lines() {
  for (const auto& [key, value] : texts_) {
    if (key.field != FieldId::HeaderValue || key.argument.starts_with('\x01')) continue;
    for (size_t t = 0; t < header_line_tests_.size(); ++t) {
      if (!linked_header_lines_.insert({t, key}).second) continue;
      HeaderLineTest& test = header_line_tests_[t];
      z3::expr_vector from(ctx_), to(ctx_);
      from.push_back(test.placeholder);
      to.push_back(header_line(key.argument, value));
      constraints_.push_back(z3::implies(
          present(key.field, key.argument, key.slot) && test.line_test.substitute(from, to), test.any));
    }
  }
}

z3::expr MessageModel::fact_failed(FieldId fact) {
  return free_bool("temperror|" + std::string(vm::field_info(fact).name));
}

// A failed lookup reads "temperror" where the fact's vocabulary has it (auth/facts.cpp,
// vm/field_values.cpp). Without an argument the fact is one lookup: the value is
// "temperror" exactly when it failed; mx(helo) and mx(sender.domain) share the boolean,
// so a "temperror" of either only implies it.
void MessageModel::link_failed_facts() {
  if (mode_ != Mode::Prove) return;
  const z3::expr temperror = string_constant(ctx_, "temperror");
  for (const auto& [key, value] : texts_) {
    const auto& vocabulary = vm::field_vocabulary(key.field);
    if (!vm::is_fact(key.field) ||
        std::find(vocabulary.begin(), vocabulary.end(), "temperror") == vocabulary.end())
      continue;
    const z3::expr reads = present(key.field, key.argument, key.slot) && value == temperror;
    const z3::expr failed = fact_failed(key.field);
    constraints_.push_back(key.argument.empty() ? failed == reads : z3::implies(reads, failed));
  }
}

void MessageModel::complete_for_writing() {
  std::vector<ValueKey> keys;
  for (const auto& [key, value] : texts_) keys.push_back(key);
  for (const auto& [key, value] : numbers_) keys.push_back(key);
  for (const ValueKey& key : keys) {
    if (key.argument.starts_with('\x01')) continue;  // a hidden part
    if (auto box = mailbox_of(key.field)) text({box->address, "", key.slot});
    if (auto address = address_of_display_name(key.field)) text({*address, "", key.slot});
    if (key.field == FieldId::AttachmentExtension || key.field == FieldId::AttachmentType ||
        key.field == FieldId::AttachmentSize)
      text({FieldId::AttachmentName, "", key.slot});
    if (key.field == FieldId::UrlDomain) text({FieldId::Url, "", key.slot});
  }
  // An envelope names each recipient once (a .mptest refuses a repeated rcpt).
  for (unsigned k = 0; k < slots(vm::Collection::Recipients); ++k) {
    for (unsigned j = k + 1; j < slots(vm::Collection::Recipients); ++j) {
      auto a = texts_.find({FieldId::Recipient, "", k}), b = texts_.find({FieldId::Recipient, "", j});
      if (a != texts_.end() && b != texts_.end()) string_constraints_.push_back(a->second != b->second);
    }
  }
}

z3::expr MessageModel::number(const ValueKey& key) {
  auto it = numbers_.find(key);
  if (it != numbers_.end()) return it->second;
  z3::expr v = variable(std::string(vm::field_info(key.field).name), ctx_.real_sort());
  if (mode_ == Mode::Witness) {
    if (key.field == FieldId::Size || key.field == FieldId::AttachmentSize) {
      constraints_.push_back(v >= 0 && v <= 32 * 1024 * 1024 && z3::is_int(v));
    } else if (key.field == FieldId::Bayes) {
      constraints_.push_back(v >= 0 && v <= 1);
    }
  }
  // Counts of messages, this one included (language.md, section 7), in a proof too: a
  // test only a count of 100.5 or 0.75 passes never fires.
  if (key.field == FieldId::Rate || key.field == FieldId::BulkCount || key.field == FieldId::BulkAddresses)
    constraints_.push_back(v >= 1 && z3::is_int(v));
  numbers_.emplace(key, v);
  return v;
}

z3::expr MessageModel::ipv4(const ValueKey& key) {
  auto it = ips_.find(key);
  if (it != ips_.end()) return it->second;
  z3::expr v = variable(std::string(vm::field_info(key.field).name), ctx_.bv_sort(32));
  ips_.emplace(key, v);
  if (mode_ == Mode::Witness && (key.field == FieldId::Dnsbl || key.field == FieldId::Dnswl)) {
    // What DNS lists answer: an address of 127.0.0.0/8, 127.0.0.2 and up (RFC 5782
    // section 2.1; 127.0.0.1 and below are no listing).
    constraints_.push_back(z3::uge(v, ctx_.bv_val(0x7f000002u, 32)) &&
                           z3::ule(v, ctx_.bv_val(0x7fffffffu, 32)));
    preferences_.push_back(v == ctx_.bv_val(0x7f000002u, 32));  // the usual "listed"
  }
  return v;
}

z3::expr MessageModel::ipv6(const ValueKey& key) {
  auto it = ips6_.find(key);
  if (it != ips6_.end()) return it->second;
  z3::expr v = variable(std::string(vm::field_info(key.field).name) + "6", ctx_.bv_sort(128));
  ips6_.emplace(key, v);
  return v;
}

z3::expr MessageModel::ip_is_v6(const ValueKey& key) {
  if (mode_ == Mode::Witness) return ctx_.bool_val(false);  // fuzz writes IPv4 clients
  auto it = v6_.find(key);
  if (it != v6_.end()) return it->second;
  z3::expr v = variable("v6", ctx_.bool_sort());
  v6_.emplace(key, v);
  return v;
}

}  // namespace mp::explore
