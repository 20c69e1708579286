// The message model over GMime. Parsing builds the GMime tree once and reads the
// header block eagerly (nearly every policy looks at it, and it is cheap); the
// body views are decoded from the kept tree on first use. Anything GMime cannot
// make sense of becomes a defect, never an error.
#include "runtime/message.h"

#include <idn2.h>

#include <algorithm>
#include <mutex>

#include "runtime/gmime_util.h"
#include "runtime/html_text.h"
#include "runtime/mime_walk.h"

namespace mp::runtime {
namespace {

using detail::DefectList;
using detail::GCharPtr;
using detail::GObjectPtr;
using detail::ParserOptionsPtr;

struct WarningInfo {
  DefectKind kind;
  const char* text;
};

WarningInfo describe(GMimeParserWarning warning) {
  switch (warning) {
    case GMIME_WARN_DUPLICATED_HEADER: return {DefectKind::MalformedMime, "duplicated header"};
    case GMIME_WARN_DUPLICATED_PARAMETER: return {DefectKind::MalformedMime, "duplicated header parameter"};
    case GMIME_WARN_UNENCODED_8BIT_HEADER: return {DefectKind::Unencoded8bitHeader, "unencoded 8-bit header"};
    case GMIME_WARN_INVALID_CONTENT_TYPE: return {DefectKind::InvalidContentType, "invalid Content-Type"};
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
      return {DefectKind::InvalidEncodedWord, "invalid RFC 2047 encoded header"};
    case GMIME_WARN_MALFORMED_MULTIPART: return {DefectKind::BrokenBoundary, "multipart without parts"};
    case GMIME_WARN_TRUNCATED_MESSAGE: return {DefectKind::TruncatedMessage, "truncated message"};
    case GMIME_WARN_MALFORMED_MESSAGE: return {DefectKind::MalformedMime, "malformed message"};
    case GMIME_CRIT_INVALID_HEADER_NAME: return {DefectKind::InvalidHeaderLine, "invalid header line"};
    case GMIME_CRIT_CONFLICTING_HEADER: return {DefectKind::MalformedMime, "conflicting header"};
    case GMIME_CRIT_CONFLICTING_PARAMETER: return {DefectKind::MalformedMime, "conflicting header parameter"};
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
      return {DefectKind::BrokenBoundary, "multipart without boundary"};
    case GMIME_WARN_INVALID_PARAMETER: return {DefectKind::MalformedMime, "invalid header parameter"};
    case GMIME_WARN_INVALID_ADDRESS_LIST: return {DefectKind::InvalidAddress, "invalid address list"};
    case GMIME_CRIT_NESTING_OVERFLOW: return {DefectKind::MimeDepthExceeded, "MIME nesting too deep"};
    case GMIME_WARN_PART_WITHOUT_CONTENT: return {DefectKind::MalformedMime, "MIME part without content"};
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      return {DefectKind::MalformedMime, "MIME part without headers or content"};
  }
  return {DefectKind::MalformedMime, "parser warning"};
}

// The offending item is raw input: shortened and made valid UTF-8 for display.
std::string printable(const char* item) {
  constexpr size_t kMaxItem = 80;
  std::string_view text(item);
  text = text.substr(0, std::min(text.find_first_of("\r\n"), kMaxItem));
  GCharPtr valid(g_utf8_make_valid(text.data(), static_cast<gssize>(text.size())));
  return valid.get();
}

// The fields RFC 5322 3.6 allows at most once, each with its defect.
struct OnceOnlyField {
  std::string_view name;
  DefectKind duplicate;
};
constexpr OnceOnlyField kOnceOnlyFields[] = {
    {"From", DefectKind::DuplicateFrom},
    {"Sender", DefectKind::DuplicateSender},
    {"Reply-To", DefectKind::DuplicateReplyTo},
    {"To", DefectKind::DuplicateTo},
    {"Cc", DefectKind::DuplicateCc},
    {"Subject", DefectKind::DuplicateSubject},
    {"Date", DefectKind::DuplicateDate},
    {"Message-ID", DefectKind::DuplicateMessageId},
};

bool is_once_only(const gchar* name) {
  return name != nullptr &&
         std::any_of(std::begin(kOnceOnlyFields), std::end(kOnceOnlyFields), [&](const auto& f) {
           return g_ascii_strcasecmp(std::string(f.name).c_str(), name) == 0;
         });
}

void on_parser_warning(gint64, GMimeParserWarning warning, const gchar* item, gpointer defects) noexcept {
  // Duplicates of the fields RFC 5322 allows once are found by name in
  // read_header_block; GMime's warning would only repeat them without a kind.
  if (warning == GMIME_WARN_DUPLICATED_HEADER) return;
  if (warning == GMIME_CRIT_CONFLICTING_HEADER && is_once_only(item)) return;
  // Called from C: an exception must not unwind through GMime. Losing a defect
  // text to an allocation failure is harmless.
  try {
    const WarningInfo info = describe(warning);
    std::string text = info.text;
    if (item != nullptr && *item != '\0') text += ": " + printable(item);
    static_cast<DefectList*>(defects)->add(info.kind, std::move(text));
  } catch (...) {
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return g_ascii_tolower(x) == g_ascii_tolower(y);
         });
}

std::vector<GMimeHeader*> fields_named(const std::vector<GMimeHeader*>& fields, std::string_view name) {
  std::vector<GMimeHeader*> named;
  for (GMimeHeader* field : fields) {
    const char* field_name = g_mime_header_get_name(field);
    if (field_name != nullptr && iequals(field_name, name)) named.push_back(field);
  }
  return named;
}

std::string lowercase_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = g_ascii_tolower(c);
  return out;
}

// Lowercases the domain and shows a punycode domain in Unicode, as the model
// promises. GMime already does the latter, but only for a lowercase "xn--".
std::string normalize_address(std::string_view address) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return std::string(address);
  std::string domain = lowercase_ascii(address.substr(at + 1));
  if (domain.find("xn--") != std::string::npos) {
    char* unicode = nullptr;
    if (idn2_to_unicode_8z8z(domain.c_str(), &unicode, 0) == IDN2_OK) domain = unicode;
    idn2_free(unicode);
  }
  return std::string(address.substr(0, at + 1)) + domain;
}

std::string name_of(InternetAddress* address) {
  const char* name = internet_address_get_name(address);
  return name != nullptr ? name : "";
}

std::string trimmed(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return std::string(text.substr(first, text.find_last_not_of(" \t") - first + 1));
}

// A quoted-string's content (RFC 5322 3.2.4): `"Jane \"JD\" Doe"` is Jane "JD" Doe.
std::string unquoted(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return std::string(text);
  std::string out;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\\' && i + 2 < text.size()) ++i;
    out += text[i];
  }
  return out;
}

// A mailbox as a reader sees it. GMime's loose reading of one with no address
// keeps the whole text as the name (`"Jane Doe" <>`, `<>`) or takes a quoted name
// for the address (`"Jane Doe"`). A mail client shows "Jane Doe" in each, so that is
// the display name, the address "" (no addr-spec: RFC 5322 3.4.1 needs its @), and
// `from.display_name` reads what the recipient reads.
Address read_mailbox(std::string name, std::string_view addr) {
  if (addr.find('@') != std::string_view::npos) return Address{std::move(name), normalize_address(addr)};
  std::string text = trimmed(name.empty() ? addr : std::string_view(name));
  if (text.ends_with('>')) {
    const size_t open = text.rfind('<');
    if (open != std::string::npos) text = trimmed(std::string_view(text).substr(0, open));
  }
  return Address{unquoted(text), ""};
}

// Group members are listed in place of their group; an empty group (the usual
// "undisclosed-recipients:;") holds no mailbox and yields none.
void flatten_addresses(InternetAddressList* list, std::vector<Address>& out) {
  const int count = list != nullptr ? internet_address_list_length(list) : 0;
  for (int i = 0; i < count; ++i) {
    InternetAddress* address = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
      const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address));
      out.push_back(read_mailbox(name_of(address), addr != nullptr ? addr : ""));
    } else if (INTERNET_ADDRESS_IS_GROUP(address)) {
      // GMime's address parser never nests groups, so this recursion is one deep.
      InternetAddressList* members = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address));
      flatten_addresses(members, out);
    }
  }
}

}  // namespace

namespace detail {

void init_gmime_once() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// Liberal on every axis: the gateway must see what a mail client would show.
// Undeclared 8-bit text is guessed among UTF-8, then windows-1252 (what
// "latin1" mail nearly always really is), then ISO-8859-1, which accepts anything.
ParserOptionsPtr new_parser_options(DefectList* defects) {
  ParserOptionsPtr options(g_mime_parser_options_new());
  g_mime_parser_options_set_address_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_parameter_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_rfc2047_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  const char* fallback_charsets[] = {"utf-8", "windows-1252", "iso-8859-1", nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback_charsets);
  g_mime_parser_options_set_warning_callback(options.get(), on_parser_warning, defects);
  return options;
}

}  // namespace detail

struct Message::Impl {
  std::string raw;
  size_t body_offset = 0;  // where raw_body() starts in `raw`
  // Written by GMime's warning callback and by the lazy body walks.
  mutable DefectList defects;
  ParseOptions limits;
  // GMime's headers and parts keep a pointer to the options and decode through it
  // lazily, so the options are declared first: members die in reverse order.
  ParserOptionsPtr options;
  GObjectPtr<GMimeMessage> message;  // null when the input had no header block

  std::vector<HeaderField> headers;
  std::vector<Address> from, to, cc, reply_to;
  std::string subject;

  mutable std::optional<detail::BodyContent> body;
  mutable std::optional<std::vector<Url>> urls;
  mutable std::optional<detail::AttachmentList> attachments;
  mutable std::optional<std::vector<std::vector<HeaderField>>> mime_headers;

  void parse_from(size_t start);
  void locate_body(size_t start, gint64 headers_end);
  void read_header_block();
  std::vector<Address> read_address_header(const std::vector<GMimeHeader*>& fields, std::string_view name);
  void check_field_counts(const std::vector<GMimeHeader*>& fields);
  detail::WalkContext walk_context() const {
    return {options.get(),
            limits.max_mime_depth,
            limits.max_mime_parts,
            limits.max_header_field_bytes,
            limits.max_header_fields,
            defects};
  }
  std::optional<std::string_view> find_header(std::string_view name) const;
  const detail::BodyContent& body_content() const;
};

void Message::Impl::parse_from(size_t start) {
  std::string_view input = std::string_view(raw).substr(start);
  // GMime copies the buffer into its stream, so the cleaned copy may die here.
  const std::optional<std::string> cleaned = detail::header_nuls_as_spaces(input);
  if (cleaned) {
    defects.add(DefectKind::NulInHeader, "NUL byte in a header line, read as a space");
    input = *cleaned;
  }
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(input.data(), input.size()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  message.reset(g_mime_parser_construct_message(parser.get(), options.get()));
  if (!message) {
    defects.add(DefectKind::NoHeaderBlock, "no RFC 5322 header block; whole input treated as body");
    return;
  }
  locate_body(start, g_mime_parser_get_headers_end(parser.get()));
  read_header_block();
}

// Values and addresses are decoded here rather than taken from GMime's message
// accessors, which decode without the GMime issue #133 workaround.
void Message::Impl::read_header_block() {
  const detail::WalkContext context = walk_context();
  std::vector<GMimeHeader*> fields = detail::header_block(message.get(), context);
  headers.reserve(fields.size());
  for (GMimeHeader* field : fields) {
    headers.push_back(detail::decode_field(field, options.get()));
    detail::cut_field(headers.back(), context);
  }
  from = read_address_header(fields, "From");
  to = read_address_header(fields, "To");
  cc = read_address_header(fields, "Cc");
  reply_to = read_address_header(fields, "Reply-To");
  subject = std::string(find_header("Subject").value_or(""));
  check_field_counts(fields);
}

void Message::Impl::check_field_counts(const std::vector<GMimeHeader*>& fields) {
  for (const OnceOnlyField& once : kOnceOnlyFields) {
    const size_t count = fields_named(fields, once.name).size();
    if (count > 1) {
      defects.add(once.duplicate, std::to_string(count) + " " + std::string(once.name) + " fields");
    }
  }
  if (from.empty() ||
      std::all_of(from.begin(), from.end(), [](const Address& a) { return a.address.empty(); })) {
    defects.add(DefectKind::MissingFrom, "no address in a From field");
  }
}

// `headers_end` is GMime's offset (within the parsed stream) of the blank line
// that ends the header block, or -1 when the input ended first.
void Message::Impl::locate_body(size_t start, gint64 headers_end) {
  if (headers_end < 0) {
    defects.add(DefectKind::NoHeaderSeparator, "no header/body separator");
    body_offset = raw.size();
    return;
  }
  size_t pos = std::min(start + static_cast<size_t>(headers_end), raw.size());
  if (raw.compare(pos, 2, "\r\n") == 0) {
    pos += 2;
  } else if (raw.compare(pos, 1, "\n") == 0) {
    pos += 1;
  }
  body_offset = pos;
}

// Every field of the name counts: a second From field must not hide behind the
// first. A field GMime reads no entry from (e.g. "To: John Smith") still yields
// its text as a display name, so a policy sees what a mail client shows; a field
// that held only an empty group yields nothing.
std::vector<Address> Message::Impl::read_address_header(const std::vector<GMimeHeader*>& fields,
                                                        std::string_view name) {
  std::vector<Address> addresses;
  for (GMimeHeader* field : fields_named(fields, name)) {
    const std::string raw = detail::raw_header_value(field);
    GObjectPtr<InternetAddressList> list(internet_address_list_parse(options.get(), raw.c_str()));
    if (list && internet_address_list_length(list.get()) > 0) {
      flatten_addresses(list.get(), addresses);
      continue;
    }
    const std::string value = detail::decode_field(field, options.get()).value;
    if (value.find_first_not_of(" \t") == std::string::npos) continue;
    defects.add(DefectKind::InvalidAddress, "no address in " + std::string(name) + " header");
    addresses.push_back(read_mailbox(value, ""));
  }
  return addresses;
}

std::optional<std::string_view> Message::Impl::find_header(std::string_view name) const {
  for (const HeaderField& field : headers) {
    if (iequals(field.name, name)) return field.value;
  }
  return std::nullopt;
}

const detail::BodyContent& Message::Impl::body_content() const {
  if (body) return *body;
  if (message) {
    body = detail::collect_body(message.get(), walk_context());
  } else {
    body = detail::BodyContent{detail::to_valid_utf8(raw, options.get()), ""};
  }
  return *body;
}

Message Message::parse(std::string bytes, const ParseOptions& options) {
  detail::init_gmime_once();
  auto impl = std::make_unique<Impl>();
  impl->raw = std::move(bytes);
  impl->limits = options;
  impl->options = detail::new_parser_options(&impl->defects);
  impl->parse_from(mbox_from_line_length(impl->raw));
  return Message(std::move(impl));
}

size_t mbox_from_line_length(std::string_view raw) {
  if (!raw.starts_with("From ")) return 0;
  const size_t newline = raw.find('\n');
  return newline == std::string_view::npos ? raw.size() : newline + 1;
}

Message::Message(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Message::Message(Message&&) noexcept = default;
Message& Message::operator=(Message&&) noexcept = default;
Message::~Message() = default;

const std::vector<HeaderField>& Message::headers() const {
  return impl_->headers;
}

std::optional<std::string_view> Message::header(std::string_view name) const {
  return impl_->find_header(name);
}

std::vector<Address> Message::addresses(std::string_view name) const {
  std::vector<Address> out;
  if (!impl_->message) return out;
  for (GMimeHeader* field :
       fields_named(detail::header_block(impl_->message.get(), impl_->walk_context()), name)) {
    const std::string raw = detail::raw_header_value(field);
    GObjectPtr<InternetAddressList> list(internet_address_list_parse(impl_->options.get(), raw.c_str()));
    flatten_addresses(list.get(), out);
  }
  return out;
}

const std::vector<Address>& Message::from() const {
  return impl_->from;
}
const std::vector<Address>& Message::to() const {
  return impl_->to;
}
const std::vector<Address>& Message::cc() const {
  return impl_->cc;
}
const std::vector<Address>& Message::reply_to() const {
  return impl_->reply_to;
}
const std::string& Message::subject() const {
  return impl_->subject;
}

const std::string& Message::body_text() const {
  return impl_->body_content().text;
}
const std::string& Message::html() const {
  return impl_->body_content().html;
}

std::string_view Message::raw_body() const {
  return std::string_view(impl_->raw).substr(impl_->body_offset);
}

const std::vector<Url>& Message::urls() const {
  if (!impl_->urls) {
    impl_->urls = detail::find_urls(body_text(), html());
    const uint32_t max = impl_->limits.max_urls;
    if (impl_->urls->size() > max) {
      impl_->defects.add(DefectKind::UrlsExceeded, std::to_string(impl_->urls->size()) +
                                                       " URLs; those after the first " + std::to_string(max) +
                                                       " not examined");
      impl_->urls->resize(max);
    }
  }
  return *impl_->urls;
}

const std::vector<std::vector<HeaderField>>& Message::mime_headers() const {
  if (!impl_->mime_headers)
    impl_->mime_headers = detail::part_headers(impl_->message.get(), impl_->walk_context());
  return *impl_->mime_headers;
}

const std::vector<Attachment>& Message::attachments() const {
  if (!impl_->attachments) {
    impl_->attachments = impl_->message
                             ? detail::collect_attachments(impl_->message.get(), impl_->walk_context())
                             : detail::AttachmentList{};
  }
  return impl_->attachments->attachments;
}

std::string Message::attachment_content(size_t index) const {
  (void)attachments();  // finds the sources
  const auto& sources = impl_->attachments->sources;
  return index < sources.size() ? detail::attachment_bytes(sources[index]) : std::string();
}

uint64_t Message::size() const {
  return impl_->raw.size();
}
std::string_view Message::raw() const {
  return impl_->raw;
}
const std::vector<Defect>& Message::defects() const {
  return impl_->defects.items;
}

std::bitset<kDefectKindCount> Message::defect_kinds() const {
  (void)body_text();  // the body walks find the MIME defects
  (void)attachments();
  (void)urls();
  return impl_->defects.kinds;
}

namespace {

struct DefectEntry {
  std::string_view name, meaning;
};
constexpr DefectEntry kDefects[] = {
#define MP_DEFECT(id, name, meaning) {name, meaning},
#include "runtime/defects.def"
#undef MP_DEFECT
};

}  // namespace

std::string_view defect_name(DefectKind kind) {
  return kDefects[static_cast<size_t>(kind)].name;
}

std::string_view defect_meaning(DefectKind kind) {
  return kDefects[static_cast<size_t>(kind)].meaning;
}

std::optional<DefectKind> defect_kind(std::string_view name) {
  for (size_t i = 0; i < kDefectKindCount; ++i) {
    if (kDefects[i].name == name) return static_cast<DefectKind>(i);
  }
  return std::nullopt;
}

std::string_view Address::local() const {
  return std::string_view(address).substr(0, std::string_view(address).rfind('@'));
}

std::string_view Address::domain() const {
  const size_t at = address.rfind('@');
  return at == std::string::npos ? std::string_view() : std::string_view(address).substr(at + 1);
}

namespace {

// mboxrd quoting: a body line ">From " (or ">>From " …) was written with one more
// '>' than the message had, so that it could not be read as a separator.
std::string unquote_from_lines(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  size_t line_start = 0;
  while (line_start < message.size()) {
    size_t end = message.find('\n', line_start);
    end = end == std::string_view::npos ? message.size() : end + 1;
    std::string_view line = message.substr(line_start, end - line_start);
    size_t quotes = line.find_first_not_of('>');
    bool quoted_from = quotes != std::string_view::npos && quotes > 0 && line.substr(quotes).starts_with("From ");
    out.append(quoted_from ? line.substr(1) : line);
    line_start = end;
  }
  return out;
}

}  // namespace

std::vector<std::string> split_mbox(std::string_view bytes) {
  if (!bytes.starts_with("From ")) return {std::string(bytes)};
  std::vector<std::string> messages;
  size_t start = 0;
  for (size_t separator = bytes.find("\nFrom "); separator != std::string_view::npos;
       separator = bytes.find("\nFrom ", separator + 1)) {
    messages.push_back(unquote_from_lines(bytes.substr(start, separator + 1 - start)));
    start = separator + 1;
  }
  messages.push_back(unquote_from_lines(bytes.substr(start)));
  return messages;
}

}  // namespace mp::runtime
