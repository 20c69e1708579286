// mp_config: the keys of mailpolicy.h, each parsed and checked when it is set, so a
// bad value is reported where the embedder set it and never at evaluation time.
#include <charconv>
#include <cstring>
#include <string_view>

#include "api/handles.h"

namespace mp::api {

namespace {

bool parse_number(std::string_view text, long long low, long long high, long long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= low && out <= high;
}

bool parse_switch(std::string_view text, bool& out) {
  if (text == "on" || text == "yes" || text == "true" || text == "1") return out = true, true;
  if (text == "off" || text == "no" || text == "false" || text == "0") return out = false, true;
  return false;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find_first_of(" ,\t", i);
    if (end == std::string_view::npos) end = text.size();
    if (end > i) items.emplace_back(text.substr(i, end - i));
    i = end + 1;
  }
  return items;
}

struct NumberKey {
  const char* key;
  long long low, high;
  void (*store)(mp_config&, long long);
};

const NumberKey kNumberKeys[] = {
    {"dns.timeout_ms", 1, 60000, [](mp_config& c, long long v) { c.dns_timeout_ms = static_cast<int>(v); }},
    {"facts.budget_ms", 1, 600000,
     [](mp_config& c, long long v) { c.facts_budget_ms = static_cast<int>(v); }},
    {"facts.max_queries", 0, 100000,
     [](mp_config& c, long long v) { c.facts_max_queries = static_cast<uint32_t>(v); }},
    {"limits.max_message_bytes", 1, 2147483647,
     [](mp_config& c, long long v) { c.max_message_bytes = static_cast<size_t>(v); }},
    {"clamd.timeout_ms", 1, 600000,
     [](mp_config& c, long long v) { c.clamd.timeout = std::chrono::milliseconds(v); }},
};

mp_status set_servers(mp_config& config, std::string_view value, mp_error* err) {
  std::vector<std::string> servers = split_list(value);
  try {
    dns::ResolverOptions options;
    options.servers = servers;
    dns::Resolver check(options);  // the resolver's own parser judges them
  } catch (const std::exception& e) {
    return fail(err, MP_ERR_INVALID_ARGUMENT, std::string("dns.servers: ") + e.what());
  }
  config.dns_servers = std::move(servers);
  return MP_OK;
}

mp_status set_geoip(mp_config& config, const std::string& path, mp_error* err) {
  try {
    config.geoip = runtime::GeoIp::open(path);
  } catch (const std::exception& e) {
    return fail(err, MP_ERR_IO, std::string("geoip.path: ") + e.what());
  }
  return MP_OK;
}

mp_status set_key(mp_config& config, std::string_view key, const std::string& value, mp_error* err) {
  for (const NumberKey& k : kNumberKeys) {
    if (key != k.key) continue;
    long long n = 0;
    if (!parse_number(value, k.low, k.high, n)) {
      return fail(err, MP_ERR_INVALID_ARGUMENT,
                  std::string(key) + ": `" + value + "` is not a number from " + std::to_string(k.low) +
                      " to " + std::to_string(k.high));
    }
    k.store(config, n);
    return MP_OK;
  }
  bool* switches[] = {key == "facts" ? &config.facts : nullptr, key == "trace" ? &config.trace : nullptr};
  for (bool* flag : switches) {
    if (flag == nullptr) continue;
    if (!parse_switch(value, *flag))
      return fail(err, MP_ERR_INVALID_ARGUMENT, std::string(key) + ": `" + value + "` is not on or off");
    return MP_OK;
  }
  if (key == "dns.servers") return set_servers(config, value, err);
  if (key == "geoip.path") return set_geoip(config, value, err);
  if (key == "clamd") {
    if (std::string problem = av::address_problem(value); !value.empty() && !problem.empty())
      return fail(err, MP_ERR_INVALID_ARGUMENT, "clamd: `" + value + "`: " + problem);
    config.clamd.address = value;
    return MP_OK;
  }
  if (key == "state") {
    if (std::string problem = state::address_problem(value); !problem.empty())
      return fail(err, MP_ERR_INVALID_ARGUMENT, "state: `" + value + "`: " + problem);
    try {
      config.store = state::open_store({.address = value});
    } catch (const std::exception& e) {
      return fail(err, MP_ERR_INVALID_ARGUMENT, std::string("state: ") + e.what());
    }
    return MP_OK;
  }
  if (key == "authserv_id") {
    if (value.empty() || value.find_first_of(" ;\t\r\n") != std::string::npos)
      return fail(err, MP_ERR_INVALID_ARGUMENT, "authserv_id: `" + value + "` must be one non-empty word");
    config.authserv_id = value;
    return MP_OK;
  }
  return fail(
      err, MP_ERR_INVALID_ARGUMENT,
      "unknown config key `" + std::string(key) +
          "` (known: dns.servers, dns.timeout_ms, facts, facts.budget_ms, facts.max_queries, "
          "geoip.path, clamd, clamd.timeout_ms, state, authserv_id, limits.max_message_bytes, trace)");
}

}  // namespace

mp_status fail(mp_error* err, mp_status code, const std::string& message) {
  if (err) {
    err->code = code;
    size_t n = std::min(message.size(), sizeof err->message - 1);
    std::memcpy(err->message, message.data(), n);
    err->message[n] = '\0';
    for (size_t i = 0; i < n; ++i) {
      if (err->message[i] == '\n' || err->message[i] == '\r') err->message[i] = ' ';
    }
  }
  return code;
}

}  // namespace mp::api

using mp::api::fail;
using mp::api::guarded;

extern "C" {

mp_config* mp_config_new(void) {
  try {
    return new mp_config();
  } catch (...) {
    return nullptr;
  }
}

mp_status mp_config_set(mp_config* config, const char* key, const char* value, mp_error* err) {
  return guarded(err, MP_ERR_INTERNAL, [&] {
    if (config == nullptr || key == nullptr || value == nullptr)
      return fail(err, MP_ERR_INVALID_ARGUMENT, "mp_config_set: config, key and value must not be NULL");
    return mp::api::set_key(*config, key, value, err);
  });
}

void mp_config_free(mp_config* config) {
  delete config;
}

}  // extern "C"
