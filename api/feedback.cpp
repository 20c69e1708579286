// The feedback operations of the C API (mailpolicy.h, "Feedback"): the same code as
// policyc report and release (bayes/feedback.h), on the config's state store.
#include <string>
#include <vector>

#include "api/handles.h"
#include "bayes/feedback.h"
#include "runtime/identity.h"
#include "state/lists.h"

using mp::api::fail;
using mp::api::guarded;

namespace {

// Runs `body(store)` on the config's store; the errors of every feedback call.
template <class Body>
mp_status with_store(const mp_config* config, mp_error* err, Body&& body) {
  return guarded(err, MP_ERR_INTERNAL, [&] {
    if (config == nullptr) return fail(err, MP_ERR_INVALID_ARGUMENT, "config is NULL");
    if (!config->store)
      return fail(err, MP_ERR_INVALID_ARGUMENT, "the config has no state store (key `state`)");
    try {
      return body(*config->store);
    } catch (const mp::state::StoreUnavailable& e) {
      return fail(err, MP_ERR_UNAVAILABLE, std::string("state store: ") + e.what());
    }
  });
}

// "org", "group:NAME", "user:ADDRESS" (the address folded); "" when it is none of them.
std::string scope_of(const char* text) {
  const std::string s = text ? text : "";
  if (s == mp::state::kOrgScope) return s;
  if (s.starts_with("group:") && s.size() > 6) return mp::state::group_scope(s.substr(6));
  if (s.starts_with("user:") && s.find('@') != std::string::npos) return mp::state::user_scope(s.substr(5));
  return {};
}

// Checks a list operation's arguments and runs `body(store, kind, scope, entry)`.
template <class Body>
mp_status with_list(const mp_config* config, const char* list, const char* scope, const char* entry,
                    mp_error* err, Body&& body) {
  return with_store(config, err, [&](mp::state::Store& store) {
    const auto kind = mp::state::list_kind_by_name(list ? list : "");
    if (!kind) return fail(err, MP_ERR_INVALID_ARGUMENT, "list is \"safe\" or \"blocked\"");
    const std::string where = scope_of(scope);
    if (where.empty())
      return fail(err, MP_ERR_INVALID_ARGUMENT, "scope is \"org\", \"group:NAME\" or \"user:ADDRESS\"");
    const auto folded = mp::state::list_entry(entry ? entry : "");
    if (!folded) return fail(err, MP_ERR_INVALID_ARGUMENT, "entry is an address, a domain or an IP address");
    body(store, *kind, where, *folded);
    return MP_OK;
  });
}

}  // namespace

extern "C" {

mp_status mp_report(const mp_config* config, const char* kind, const void* message, size_t size,
                    const char* client_ip, mp_error* err) {
  return with_store(config, err, [&](mp::state::Store& store) {
    const std::string k = kind ? kind : "";
    if (k != "fp" && k != "fn") return fail(err, MP_ERR_INVALID_ARGUMENT, "kind is \"fp\" or \"fn\"");
    if (message == nullptr && size > 0) return fail(err, MP_ERR_INVALID_ARGUMENT, "message is NULL");
    std::optional<mp::runtime::IpAddress> client;
    if (client_ip && *client_ip) {
      client = mp::runtime::IpAddress::parse(client_ip);
      if (!client)
        return fail(err, MP_ERR_INVALID_ARGUMENT, std::string("`") + client_ip + "` is not an IP address");
    }
    const auto parsed = mp::runtime::Message::parse(std::string(static_cast<const char*>(message), size));
    mp::bayes::report_message(store, parsed, k == "fp", client, mp::state::system_clock_now());
    return MP_OK;
  });
}

mp_status mp_release(const mp_config* config, const void* message, size_t size, const char* const* recipients,
                     size_t count, int approve_sender, mp_error* err) {
  return with_store(config, err, [&](mp::state::Store& store) {
    if ((message == nullptr && size > 0) || (recipients == nullptr && count > 0))
      return fail(err, MP_ERR_INVALID_ARGUMENT, "message and recipients must not be NULL");
    std::vector<std::string> to;
    for (size_t i = 0; i < count; ++i) {
      const std::string r = recipients[i] ? recipients[i] : "";
      if (!mp::state::is_email_address(r))
        return fail(err, MP_ERR_INVALID_ARGUMENT, "`" + r + "` is not an email address");
      to.push_back(r);
    }
    const auto parsed = mp::runtime::Message::parse(std::string(static_cast<const char*>(message), size));
    mp::bayes::release_message(store, parsed, to, approve_sender != 0);
    return MP_OK;
  });
}

mp_status mp_list_add(const mp_config* config, const char* list, const char* scope, const char* entry,
                      mp_error* err) {
  return with_list(config, list, scope, entry, err,
                   [](auto& store, auto kind, const auto& where, const auto& e) {
                     mp::state::list_add(store, kind, where, e);
                   });
}

mp_status mp_list_remove(const mp_config* config, const char* list, const char* scope, const char* entry,
                         mp_error* err) {
  return with_list(config, list, scope, entry, err,
                   [](auto& store, auto kind, const auto& where, const auto& e) {
                     mp::state::list_remove(store, kind, where, e);
                   });
}

}  // extern "C"
