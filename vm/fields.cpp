// The field catalogue table, generated from fields.def.
#include "vm/fields.h"
#include "vm/facts.h"
#include "vm/opcodes.h"

#include <array>

namespace mp::vm {

namespace {

constexpr std::array<std::string_view, kCollectionCount> kCollectionNames = {{
#define MP_COLLECTION(id, names) names,
#include "vm/fields.def"
#undef MP_COLLECTION
}};

}  // namespace

std::string_view collection_names(Collection c) {
  return kCollectionNames[static_cast<size_t>(c)];
}

std::optional<Collection> collection_by_name(std::string_view name) {
  for (size_t i = 1; i < kCollectionCount; ++i) {  // Single has no name
    std::string_view names = kCollectionNames[i];
    while (!names.empty()) {
      size_t space = names.find(' ');
      if (names.substr(0, space) == name) return static_cast<Collection>(i);
      names = space == std::string_view::npos ? std::string_view{} : names.substr(space + 1);
    }
  }
  return std::nullopt;
}

std::string_view kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::Text: return "text";
    case ValueKind::Address: return "an email address";
    case ValueKind::Domain: return "a domain";
    case ValueKind::Ip: return "an IP address";
    case ValueKind::Number: return "a number";
  }
  return "?";
}

std::string_view action_name(Action action) {
  switch (action) {
    case Action::Deliver: return "deliver";
    case Action::Allow: return "allow";
    case Action::Reject: return "reject";
    case Action::Quarantine: return "quarantine";
    case Action::Discard: return "discard";
    case Action::Tempfail: return "tempfail";
  }
  return "?";
}

}  // namespace mp::vm

namespace mp::vm {

bool is_fact(FieldId field) {
  return field >= FieldId::Spf;
}

bool takes_argument(FieldId field) {
  return field == FieldId::HeaderValue || field == FieldId::Dnsbl || field == FieldId::Dnswl ||
         field == FieldId::Mx || field == FieldId::Country;
}

}  // namespace mp::vm
