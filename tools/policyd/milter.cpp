#include "tools/policyd/milter.h"

#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace mp::policyd {

namespace {

Service* g_service = nullptr;  // libmilter's callbacks carry no user data but the connection's

struct Header {
  std::string name, value;
};

// One SMTP connection: the session and the transaction in progress.
struct Connection {
  // The class of the transaction's first recipient (Service::recipient_class).
  uint64_t first_class = 0;
  // Protocol steps the MTA agreed not to wait for (SMFIP_NR_*), and whether header
  // values come with their leading white space (SMFIP_HDR_LEADSPC): xxfi_negotiate.
  unsigned long protocol = 0;
  Session session;
  std::string message;  // header fields + blank line + body, as received
  std::vector<Header> headers;
  bool oversized = false;

  void new_transaction() {
    session.sender.clear();
    session.recipients.clear();
    first_class = 0;
    session.queue_id.clear();
    message.clear();
    headers.clear();
    oversized = false;
  }
  void append(const char* data, size_t size) {
    if (oversized) return;
    if (message.size() + size > g_service->config().max_message_bytes) {
      oversized = true;
      std::string().swap(message);  // nothing more is needed from it
      return;
    }
    message.append(data, size);
  }
  // The answer for a step: nothing at all when the MTA agreed not to wait for one.
  sfsistat next(unsigned long no_reply_flag) const {
    return (protocol & no_reply_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
  }
  bool leading_space() const { return (protocol & SMFIP_HDR_LEADSPC) != 0; }
};

Connection* connection(SMFICTX* ctx) {
  return static_cast<Connection*>(smfi_getpriv(ctx));
}

std::string macro(SMFICTX* ctx, const char* name) {
  const char* value = smfi_getsymval(ctx, const_cast<char*>(name));
  return value ? value : "";
}

// Refreshes what the MTA may tell at several stages (a STARTTLS after HELO, AUTH
// before MAIL); keeps the older value when the macro is not sent at this stage.
void refresh_macros(SMFICTX* ctx, Session& s) {
  if (std::string v = macro(ctx, "{tls_version}"); !v.empty()) s.tls_version = v;
  if (std::string v = macro(ctx, "{auth_authen}"); !v.empty()) s.auth_user = v;
  if (std::string v = macro(ctx, "i"); !v.empty()) s.queue_id = v;
}

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address == nullptr) return {};
  if (address->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof text);
  } else if (address->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text, sizeof text);
  }
  return text;
}

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// ---- Callbacks ---------------------------------------------------------------------

// Ask the MTA (milter protocol 6) not to wait for an answer to any step before the
// end of the message — policyd only ever decides there — so a message costs one round
// trip instead of one per header; and for header values exactly as received
// (leading white space included), so the message policyd judges is the one sent.
constexpr unsigned long kNoReplies = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
                                     SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;
constexpr unsigned long kActions =
    SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_CHGBODY | SMFIF_DELRCPT;

sfsistat on_negotiate(SMFICTX* ctx, unsigned long actions, unsigned long steps, unsigned long, unsigned long,
                      unsigned long* want_actions, unsigned long* want_steps, unsigned long* f2,
                      unsigned long* f3) {
  auto* c = new (std::nothrow) Connection();
  if (c == nullptr) return SMFIS_TEMPFAIL;
  *want_actions = actions & kActions;
  unsigned long no_replies = kNoReplies;
  // Splitting recipients needs an answer to each RCPT.
  if (g_service->config().recipient_split == RecipientSplit::Defer) no_replies &= ~SMFIP_NR_RCPT;
  c->protocol = steps & (no_replies | SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN | SMFIP_NODATA);
  *want_steps = c->protocol;
  *f2 = *f3 = 0;
  smfi_setpriv(ctx, c);
  return SMFIS_CONTINUE;
}

sfsistat on_connect(SMFICTX* ctx, char*, _SOCK_ADDR* address) {
  Connection* c = connection(ctx);
  if (c == nullptr) {  // an MTA that does not negotiate
    c = new (std::nothrow) Connection();
    if (c == nullptr) return SMFIS_TEMPFAIL;
    smfi_setpriv(ctx, c);
  }
  c->session.client_ip = address_text(address);
  if (c->session.client_ip.empty()) c->session.client_ip = macro(ctx, "{client_addr}");
  return c->next(SMFIP_NR_CONN);
}

sfsistat on_helo(SMFICTX* ctx, char* helo) {
  Connection* c = connection(ctx);
  if (c == nullptr) return SMFIS_NOREPLY;  // judged (tempfail) at end of message
  c->session.helo = helo ? helo : "";
  refresh_macros(ctx, c->session);
  return c->next(SMFIP_NR_HELO);
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) {
  Connection* c = connection(ctx);
  if (c == nullptr) return SMFIS_NOREPLY;
  c->new_transaction();
  c->session.sender = argv && argv[0] ? argv[0] : "";
  refresh_macros(ctx, c->session);
  return c->next(SMFIP_NR_MAIL);
}

void set_reply(SMFICTX* ctx, int code, const std::string& status, const std::string& text);

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) {
  Connection* c = connection(ctx);
  if (c == nullptr) return SMFIS_NOREPLY;
  if (argv == nullptr || argv[0] == nullptr) return c->next(SMFIP_NR_RCPT);
  if (g_service->config().recipient_split == RecipientSplit::Defer) {
    const uint64_t cls = g_service->recipient_class(c->session, argv[0]);
    if (c->session.recipients.empty()) {
      c->first_class = cls;
    } else if (cls != c->first_class) {
      // RFC 5321 4.5.3.1.10: the client sends this recipient again in a new transaction,
      // where it gets a verdict of its own (docs/gateway.md, "Per-recipient verdicts").
      g_service->record_deferred_recipient(c->session, argv[0]);
      set_reply(ctx, 452, "4.5.3", "Recipient has another policy, send it in a separate transaction");
      return SMFIS_TEMPFAIL;
    }
  }
  c->session.recipients.emplace_back(argv[0]);
  return c->next(SMFIP_NR_RCPT);
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) {
  Connection* c = connection(ctx);
  if (c == nullptr) return SMFIS_NOREPLY;
  // The field as it was sent: "Name:" + value with its own leading blank (or one
  // space when the MTA strips it), folds as CRLF (the MTA passes them as LF).
  std::string line = std::string(name) + (c->leading_space() ? ":" : ": ");
  for (const char* p = value; *p; ++p) {
    if (*p == '\n' && (p == value || p[-1] != '\r')) line += '\r';
    line += *p;
  }
  line += "\r\n";
  c->append(line.data(), line.size());
  std::string_view trimmed = value;
  size_t first = trimmed.find_first_not_of(" \t");
  trimmed.remove_prefix(first == std::string_view::npos ? trimmed.size() : first);
  c->headers.push_back({name, std::string(trimmed)});
  return c->next(SMFIP_NR_HDR);
}

sfsistat on_eoh(SMFICTX* ctx) {
  Connection* c = connection(ctx);
  if (c == nullptr) return SMFIS_NOREPLY;
  c->append("\r\n", 2);
  return c->next(SMFIP_NR_EOH);
}

sfsistat on_body(SMFICTX* ctx, unsigned char* chunk, size_t size) {
  Connection* c = connection(ctx);
  if (c == nullptr) return SMFIS_NOREPLY;
  c->append(reinterpret_cast<const char*>(chunk), size);
  return c->next(SMFIP_NR_BODY);
}

// ---- Turning a verdict into milter actions -------------------------------------------

void set_reply(SMFICTX* ctx, int code, const std::string& status, const std::string& text) {
  std::string code_text = std::to_string(code);
  std::string message = reply_text(text.empty() ? "Message refused by policy" : text);
  smfi_setreply(ctx, code_text.data(), status.empty() ? nullptr : const_cast<char*>(status.c_str()),
                message.data());
}

// Deletes every field named `name` (milter indexes count fields of one name from 1).
void remove_all(SMFICTX* ctx, const Connection& c, const std::string& name) {
  int count = 0;
  for (const Header& h : c.headers) count += iequals(h.name, name);
  for (int i = count; i >= 1; --i) smfi_chgheader(ctx, const_cast<char*>(name.c_str()), i, nullptr);
}

// Incoming Authentication-Results fields that carry our authserv-id are forged or
// stale (RFC 8601 5): deleted before ours is added.
void remove_our_authentication_results(SMFICTX* ctx, const Connection& c, const std::string& authserv_id) {
  std::vector<int> ours;
  int index = 0;
  for (const Header& h : c.headers) {
    if (!iequals(h.name, "Authentication-Results")) continue;
    ++index;
    std::string value = h.value.substr(h.value.find_first_not_of(" \t\r\n") == std::string::npos
                                           ? h.value.size()
                                           : h.value.find_first_not_of(" \t\r\n"));
    std::string id = value.substr(0, value.find_first_of("; \t\r\n"));
    if (iequals(id, authserv_id)) ours.push_back(index);
  }
  for (auto it = ours.rbegin(); it != ours.rend(); ++it)
    smfi_chgheader(ctx, const_cast<char*>("Authentication-Results"), *it, nullptr);
}

// A header value as libmilter takes it: folding as "\n" + blank (no CR), and a line
// break that is not a fold made one, so a value can never start a header field of its
// own (Authentication-Results is folded between its methods).
std::string folded_value(const std::string& value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\r') continue;
    out += c;
    if (c == '\n' && (i + 1 >= value.size() || (value[i + 1] != ' ' && value[i + 1] != '\t'))) out += ' ';
  }
  return out;
}

// A value to send: folded for libmilter, with the leading blank the MTA then expects
// (with SMFIP_HDR_LEADSPC it adds none itself).
std::string outgoing(const Connection& c, const std::string& value) {
  return (c.leading_space() ? " " : "") + folded_value(value);
}

const char* const kOurFields[] = {"X-Policy-Verdict", "X-Policy-Score", "X-Policy-Rule", "X-Policy-Tags",
                                  "X-Policy-Quarantine"};

std::vector<Header> verdict_fields(const mp_verdict* v, const Config& config) {
  std::vector<Header> fields;
  for (size_t i = 0; i < mp_verdict_result_header_count(v); ++i) {
    mp_header h;
    mp_verdict_result_header(v, i, &h);
    bool ar = std::strcmp(h.name, "Authentication-Results") == 0;
    if (ar ? config.authentication_results : config.x_policy_headers) fields.push_back({h.name, h.value});
  }
  if (config.tags == TagMode::Header && mp_verdict_tag_count(v) > 0) {
    std::string tags;
    for (size_t i = 0; i < mp_verdict_tag_count(v); ++i)
      tags += (i ? " " : "") + std::string(mp_verdict_tag(v, i));
    fields.push_back({"X-Policy-Tags", tags});
  }
  // Postfix logs a milter's hold as "milter triggers HOLD action" without the reason
  // smfi_quarantine passed, so the reason travels with the message too.
  if (mp_verdict_action(v) == MP_ACTION_QUARANTINE)
    fields.push_back({"X-Policy-Quarantine", mp_verdict_text(v)});
  for (size_t i = 0; i < mp_verdict_added_header_count(v); ++i) {
    mp_header h;
    mp_verdict_added_header(v, i, &h);
    fields.push_back({h.name, h.value});
  }
  return fields;
}

// tags = subject: "[External] [Bulk] original subject" (Subject added when missing;
// left alone when it already starts with the tags, e.g. a message coming round again).
void tag_subject(SMFICTX* ctx, const Connection& c, const mp_verdict* v) {
  std::string tags;
  for (size_t i = 0; i < mp_verdict_tag_count(v); ++i)
    tags += (i ? " " : "") + std::string(mp_verdict_tag(v, i));
  if (tags.empty()) return;
  auto subject = std::find_if(c.headers.begin(), c.headers.end(),
                              [](const Header& h) { return iequals(h.name, "Subject"); });
  if (subject == c.headers.end()) {
    std::string value = outgoing(c, tags);
    smfi_addheader(ctx, const_cast<char*>("Subject"), value.data());
    return;
  }
  if (subject->value.starts_with(tags)) return;
  std::string value = outgoing(c, tags + " " + subject->value);
  smfi_chgheader(ctx, const_cast<char*>("Subject"), 1, value.data());
}

void edit_headers(SMFICTX* ctx, const Connection& c, const mp_verdict* v, const Config& config) {
  for (const char* name : kOurFields) remove_all(ctx, c, name);
  if (config.authentication_results) remove_our_authentication_results(ctx, c, config.authserv_id);
  for (size_t i = 0; i < mp_verdict_removed_header_count(v); ++i)
    remove_all(ctx, c, mp_verdict_removed_header(v, i));
  std::vector<Header> fields = verdict_fields(v, config);
  // Inserted at the top, last first, so they read in order above the MTA's Received.
  for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
    std::string value = outgoing(c, it->value);
    smfi_insheader(ctx, 0, const_cast<char*>(it->name.c_str()), value.data());
  }
  if (config.tags == TagMode::Subject) tag_subject(ctx, c, v);
}

// The body edits (banners, rewritten links): the new body (in chunks, each call appending to the
// replacement), then the top-level fields that change with it (a new charset or transfer encoding).
void replace_body(SMFICTX* ctx, const Connection& c, const mp_verdict* v) {
  size_t size = 0;
  const char* body = mp_verdict_body(v, &size);
  if (body == nullptr) return;
  constexpr size_t kChunk = 65535;  // MILTER_CHUNK_SIZE
  auto* bytes = reinterpret_cast<unsigned char*>(const_cast<char*>(body));
  for (size_t at = 0; at < size; at += kChunk)
    smfi_replacebody(ctx, bytes + at, static_cast<int>(std::min(kChunk, size - at)));
  for (size_t i = 0; i < mp_verdict_changed_header_count(v); ++i) {
    mp_header h;
    mp_verdict_changed_header(v, i, &h);
    std::string value = outgoing(c, h.value);
    const bool present = std::any_of(c.headers.begin(), c.headers.end(),
                                     [&](const Header& field) { return iequals(field.name, h.name); });
    if (present) {
      smfi_chgheader(ctx, const_cast<char*>(h.name), 1, value.data());
    } else {
      smfi_addheader(ctx, const_cast<char*>(h.name), value.data());
    }
  }
}

sfsistat unjudged(SMFICTX* ctx, const Connection& c, const Judgement& j, const Config& config) {
  if (config.on_error == OnError::Tempfail) {
    set_reply(
        ctx, 451, "4.7.1",
        std::string("Message not judged by the policy (") + unjudged_name(j.unjudged) + "), try again later");
    return SMFIS_TEMPFAIL;
  }
  if (config.x_policy_headers) {
    for (const char* name : kOurFields) remove_all(ctx, c, name);
    std::string value = outgoing(c, std::string("unjudged; reason=") + unjudged_name(j.unjudged));
    smfi_insheader(ctx, 0, const_cast<char*>("X-Policy-Verdict"), value.data());
  }
  return SMFIS_ACCEPT;
}

// The address of a RCPT TO argument: "<Alice@widget.com>" → "Alice@widget.com".
std::string bare(const std::string& rcpt) {
  const size_t open = rcpt.find('<');
  const size_t close = rcpt.rfind('>');
  return open != std::string::npos && close != std::string::npos && close > open
             ? rcpt.substr(open + 1, close - open - 1)
             : rcpt;
}

bool refuses(mp_action action) {
  return action == MP_ACTION_REJECT || action == MP_ACTION_DISCARD;
}

// Recipients got different verdicts (docs/gateway.md, "Per-recipient verdicts"). One
// SMTP transaction carries one copy of the message, so: a tempfail for some holds the
// whole message back (the client retries, nothing is lost); recipients refused
// (reject, discard) are removed from it with smfi_delrcpt; the others share one
// outcome, a quarantine if any of them has one, else the first's. Returns the outcome
// to apply to the message.
const mp_verdict* split_outcome(SMFICTX* ctx, const Connection& c, const mp_verdict* v) {
  std::vector<const mp_verdict*> kept, refused;
  for (size_t i = 0; i < mp_verdict_split_count(v); ++i) {
    const mp_verdict* o = mp_verdict_split(v, i);
    if (mp_verdict_action(o) == MP_ACTION_TEMPFAIL) return o;
    (refuses(mp_verdict_action(o)) ? refused : kept).push_back(o);
  }
  if (kept.empty()) {  // refused by all: a reject, if any, says why
    auto reject = std::find_if(refused.begin(), refused.end(),
                               [](const mp_verdict* o) { return mp_verdict_action(o) == MP_ACTION_REJECT; });
    return reject != refused.end() ? *reject : refused.front();
  }
  for (const mp_verdict* o : refused) {
    for (size_t i = 0; i < mp_verdict_recipient_count(o); ++i) {
      for (const std::string& rcpt : c.session.recipients) {
        if (iequals(bare(rcpt), mp_verdict_recipient(o, i))) smfi_delrcpt(ctx, bare(rcpt).data());
      }
    }
  }
  auto quarantine = std::find_if(kept.begin(), kept.end(), [](const mp_verdict* o) {
    return mp_verdict_action(o) == MP_ACTION_QUARANTINE;
  });
  return quarantine != kept.end() ? *quarantine : kept.front();
}

sfsistat apply(SMFICTX* ctx, const Connection& c, const Judgement& j, const Config& config) {
  if (!j.verdict) return unjudged(ctx, c, j, config);
  const mp_verdict* v = j.verdict.get();
  if (mp_verdict_split_count(v) > 0) v = split_outcome(ctx, c, v);
  switch (mp_verdict_action(v)) {
    case MP_ACTION_REJECT:
      set_reply(ctx, mp_verdict_smtp_code(v), mp_verdict_smtp_status(v), mp_verdict_smtp_text(v));
      return SMFIS_REJECT;
    case MP_ACTION_TEMPFAIL:
      set_reply(ctx, mp_verdict_smtp_code(v), mp_verdict_smtp_status(v), mp_verdict_smtp_text(v));
      return SMFIS_TEMPFAIL;
    case MP_ACTION_DISCARD: return SMFIS_DISCARD;
    case MP_ACTION_QUARANTINE:
      if (config.quarantine == QuarantineMode::Hold) {
        std::string reason = reply_text(*mp_verdict_text(v) ? mp_verdict_text(v) : "quarantined by policy");
        smfi_quarantine(ctx, reason.data());
      }
      break;
    default: break;
  }
  edit_headers(ctx, c, v, config);
  replace_body(ctx, c, v);
  return SMFIS_CONTINUE;
}

sfsistat on_eom(SMFICTX* ctx) {
  Connection* c = connection(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;
  refresh_macros(ctx, c->session);
  Judgement j = g_service->judge(c->session, c->message, c->oversized);
  sfsistat status = apply(ctx, *c, j, g_service->config());
  c->new_transaction();
  return status;
}

sfsistat on_abort(SMFICTX* ctx) {
  if (Connection* c = connection(ctx)) c->new_transaction();
  return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
  delete connection(ctx);
  smfi_setpriv(ctx, nullptr);
  return SMFIS_CONTINUE;
}

// Whether a process accepts connections on the unix socket at `path`: a socket file
// left by a policyd that died refuses them.
bool socket_in_use(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, path.c_str(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool in_use = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return in_use;
}

}  // namespace

void check_socket_directory(const Config& config) {
  std::string path = unix_socket_path(config.socket);
  if (path.empty()) return;
  std::string directory = path.substr(0, std::max<size_t>(path.rfind('/'), 1));
  struct stat st {};
  if (stat(directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error("socket: the directory " + directory + " of " + config.socket +
                             " does not exist (create it first: docs/gateway.md)");
}

std::string reply_text(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '\r' || ch == '\n') ch = ' ';
    if (ch == '%') out += '%';
    out += ch;
    if (out.size() >= 450) break;  // a reply line is at most 512 octets (RFC 5321 4.5.3.1.5)
  }
  return out;
}

void register_milter(Service& service) {
  g_service = &service;
  static smfiDesc description = {const_cast<char*>("policyd"),
                                 SMFI_VERSION,
                                 kActions,
                                 on_connect,
                                 on_helo,
                                 on_envfrom,
                                 on_envrcpt,
                                 on_header,
                                 on_eoh,
                                 on_body,
                                 on_eom,
                                 on_abort,
                                 on_close,
                                 nullptr,
                                 nullptr,
                                 on_negotiate};
  const Config& config = service.config();
  check_socket_directory(config);
  if (std::string path = unix_socket_path(config.socket); !path.empty() && socket_in_use(path))
    throw std::runtime_error("socket: another process listens on " + path +
                             " (a policyd already running?); not taking it over");
  if (smfi_setconn(const_cast<char*>(config.socket.c_str())) == MI_FAILURE)
    throw std::runtime_error("socket: libmilter does not accept `" + config.socket + "`");
  smfi_settimeout(config.milter_timeout_s);
  if (smfi_register(description) == MI_FAILURE) throw std::runtime_error("smfi_register failed");
  // The socket file gets socket.mode: smtpd runs as another user than policyd.
  mode_t old = umask(static_cast<mode_t>(~config.socket_mode & 0777));
  errno = 0;
  int opened = smfi_opensocket(true);  // true: remove a stale socket file first
  int error = errno;
  umask(old);
  if (opened == MI_FAILURE)
    throw std::runtime_error("socket: cannot listen on " + config.socket +
                             (error != 0 ? std::string(": ") + std::strerror(error) : std::string()));
  for (const char* prefix : {"unix:", "local:"}) {
    if (config.socket.starts_with(prefix))
      chmod(config.socket.substr(std::strlen(prefix)).c_str(), static_cast<mode_t>(config.socket_mode));
  }
}

}  // namespace mp::policyd
