// policyc state: what the gateway remembers (state/store.h), for admins: read, set,
// delete and list keys, and export or import them as JSON lines (one object per key:
// "key", "value" and "expires", seconds since the epoch or 0). The key layout is in
// docs/state.md. Exit status: 0 done, 1 a key that `get` or `del` did not find, 2 a
// usage error or a store that cannot be reached.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "state/lists.h"
#include "state/store.h"
#include "tools/commands.h"

namespace mp::tools {

namespace {

struct StateOptions {
  std::string store;
  std::string key, value, prefix, file;
  std::vector<std::string> keys;
  double ttl = 0;
  size_t limit = 1000;                                       // list
  size_t export_limit = std::numeric_limits<size_t>::max();  // export: everything
};

using Action = int (*)(state::Store&, const StateOptions&);

// A `list:` key folded as the lookups fold it (state/lists.h); other keys as given.
// nullopt (said on stderr) for a list key that names no entry: it would never match.
std::optional<std::string> key_for(const std::string& key) {
  if (!key.starts_with("list:")) return key;
  std::string problem;
  auto canonical = state::canonical_list_key(key, &problem);
  if (!canonical)
    std::cerr << "error: " << key << ": " << problem
              << " (docs/state.md, \"Safe and blocked senders\": list:KIND:SCOPE:ENTRY)\n";
  return canonical;
}

int get(state::Store& store, const StateOptions& o) {
  const auto key = key_for(o.key);
  if (!key) return 2;
  auto value = store.get(*key);
  if (!value) {
    std::cerr << o.key << ": no value\n";
    return 1;
  }
  std::cout << *value << "\n";
  return 0;
}

int set(state::Store& store, const StateOptions& o) {
  const auto key = key_for(o.key);
  if (!key) return 2;
  if (key->starts_with("list:") && o.value != "1") {
    std::cerr << "error: " << o.key << ": a list entry is there or not: set it to 1, remove it with `del`\n";
    return 2;
  }
  store.put(*key, o.value, o.ttl);
  return 0;
}

int del(state::Store& store, const StateOptions& o) {
  int status = 0;
  for (const auto& given : o.keys) {
    const auto key = key_for(given);
    if (!key) return 2;
    if (!store.erase(*key)) {
      std::cerr << given << ": no such key\n";
      status = 1;
    }
  }
  return status;
}

int list(state::Store& store, const StateOptions& o) {
  for (const auto& key : store.keys(o.prefix, o.limit)) std::cout << key << "\n";
  return 0;
}

// Values are text in every key the facts write; bytes that are not UTF-8 would not
// survive JSON, so such a value goes as "value_hex".
nlohmann::json entry_json(const state::Entry& e) {
  nlohmann::json j{{"key", e.key}, {"expires", e.expires}};
  try {
    j["value"] = e.value;
    (void)j.dump();
  } catch (const nlohmann::json::exception&) {
    std::string hex;
    for (unsigned char c : e.value) hex += fmt::format("{:02x}", c);
    j.erase("value");
    j["value_hex"] = hex;
  }
  return j;
}

int export_entries(state::Store& store, const StateOptions& o) {
  for (const auto& e : store.entries(o.prefix, o.export_limit)) std::cout << entry_json(e).dump() << "\n";
  return 0;
}

// The bytes of "value_hex"; nullopt unless it is pairs of hex digits.
std::optional<std::string> from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// One exported line as an entry; the error says what is wrong with it.
std::variant<state::Entry, std::string> parse_entry(const std::string& line) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::string("not a JSON object");
  if (!j.contains("key") || !j["key"].is_string()) return std::string("no \"key\" string");
  if (j.contains("value") == j.contains("value_hex"))
    return std::string("one of \"value\" and \"value_hex\"");
  state::Entry e{j["key"].get<std::string>(), {}, 0};
  if (j.contains("value")) {
    if (!j["value"].is_string()) return std::string("\"value\" is not a string");
    e.value = j["value"].get<std::string>();
  } else {
    auto bytes = j["value_hex"].is_string() ? from_hex(j["value_hex"].get<std::string>()) : std::nullopt;
    if (!bytes) return std::string("\"value_hex\" is not pairs of hex digits");
    e.value = std::move(*bytes);
  }
  if (j.contains("expires")) {
    if (!j["expires"].is_number() || !std::isfinite(j["expires"].get<double>()) ||
        j["expires"].get<double>() < 0)
      return std::string("\"expires\" is not seconds since the epoch (0: never)");
    e.expires = j["expires"].get<double>();
  }
  return e;
}

// Every line is read and checked before the first is written: a file with a bad line
// changes nothing.
int import_entries(state::Store& store, const StateOptions& o) {
  std::ifstream file;
  if (o.file != "-") {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(o.file, ec) && !std::filesystem::is_fifo(o.file, ec)) {
      std::cerr << "error: " << o.file << ": not a file\n";
      return 2;
    }
    file.open(o.file);
    if (!file) {
      std::cerr << "error: cannot read " << o.file << "\n";
      return 2;
    }
  }
  std::istream& in = o.file == "-" ? std::cin : file;
  std::vector<state::Entry> entries;
  size_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty()) continue;
    auto parsed = parse_entry(line);
    if (auto* why = std::get_if<std::string>(&parsed)) {
      std::cerr << o.file << ":" << line_number << ": error: not an exported key: " << *why
                << " (nothing imported)\n";
      return 2;
    }
    entries.push_back(std::move(std::get<state::Entry>(parsed)));
  }
  size_t restored = 0, expired = 0;
  for (const auto& e : entries) (store.restore(e) ? restored : expired)++;
  std::cerr << "imported " << restored << " keys (" << expired << " already expired, skipped)\n";
  return 0;
}

// --ttl: seconds, finite, at most state::kLongestTtl.
std::string ttl_problem(std::string& text) {
  char* end = nullptr;
  const double ttl = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || std::isnan(ttl))
    return "--ttl: `" + text + "` is not a number of seconds";
  if (ttl < 0 || ttl > state::kLongestTtl)
    return fmt::format("--ttl: {} is not from 0 (never expires) to {:.0f} seconds (100 years)", text,
                       state::kLongestTtl);
  return {};
}

int run(const StateOptions& o, Action action) {
  if (std::string problem = state::address_problem(o.store); !problem.empty()) {
    std::cerr << "error: --store: " << problem << "\n";
    return 2;
  }
  try {
    auto store = state::open_store({.address = o.store});
    return action(*store, o);
  } catch (const state::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}

void add_state_command(CLI::App& app, int& status) {
  auto o = std::make_shared<StateOptions>();
  auto* cmd = app.add_subcommand("state", "Read and change what the gateway remembers (docs/state.md)");
  cmd->add_option("--store", o->store, "The store: lmdb:PATH, redis://HOST:PORT[/DB] or redis+unix:PATH")
      ->required()
      ->type_name("ADDRESS");
  cmd->require_subcommand(1);
  auto add = [&](const char* name, const char* what, Action action) {
    auto* sub = cmd->add_subcommand(name, what);
    sub->callback([o, &status, action] { status = run(*o, action); });
    return sub;
  };
  add("get", "Print a key's value (exit 1 when it has none)", get)->add_option("key", o->key)->required();
  auto* set_cmd = add("set", "Set a key's value", set);
  set_cmd->add_option("key", o->key)->required();
  set_cmd->add_option("value", o->value)->required();
  set_cmd->add_option("--ttl", o->ttl, "Seconds until it expires (default: never)")
      ->check(CLI::Validator(ttl_problem, "SECONDS"));
  add("del", "Delete keys (exit 1 when one was not there)", del)->add_option("keys", o->keys)->required();
  auto* list_cmd = add("list", "List the keys that start with PREFIX", list);
  list_cmd->add_option("prefix", o->prefix, "Key prefix (default: every key)");
  list_cmd->add_option("--limit", o->limit, "At most this many (default 1000)");
  auto* export_cmd = add("export", "Write keys, values and expiry times as JSON lines", export_entries);
  export_cmd->add_option("prefix", o->prefix, "Key prefix (default: every key)");
  export_cmd->add_option("--limit", o->export_limit, "At most this many (default: all)");
  add("import", "Read keys written by export (FILE, or - for standard input)", import_entries)
      ->add_option("file", o->file)
      ->required();
}

}  // namespace

MP_REGISTER_COMMAND(80, add_state_command);

}  // namespace mp::tools
