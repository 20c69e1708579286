// Field and collection ids generated from fields.def, and their catalogue entries.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::runtime {
enum class ResembleKind;  // runtime/resemble.h
}  // namespace mp::runtime

namespace mp::vm {

enum class Collection : uint8_t {
#define MP_COLLECTION(id, names) id,
#include "vm/fields.def"
#undef MP_COLLECTION
};
inline constexpr size_t kCollectionCount = 0
#define MP_COLLECTION(id, names) +1
#include "vm/fields.def"
#undef MP_COLLECTION
    ;

enum class ValueKind : uint8_t { Text, Address, Domain, Ip, Number };

enum class FieldId : uint16_t {
#define MP_FIELD(id, name, collection, kind) id,
#include "vm/fields.def"
#undef MP_FIELD
};
inline constexpr size_t kFieldCount = 0
#define MP_FIELD(id, name, collection, kind) +1
#include "vm/fields.def"
#undef MP_FIELD
    ;

struct FieldInfo {
  std::string_view name;
  Collection collection;
  ValueKind kind;
};

inline constexpr std::array<FieldInfo, kFieldCount> kFieldTable = {{
#define MP_FIELD(id, name, collection, kind) {name, Collection::collection, ValueKind::kind},
#include "vm/fields.def"
#undef MP_FIELD
}};

inline const FieldInfo& field_info(FieldId id) { return kFieldTable[static_cast<size_t>(id)]; }
std::string_view collection_names(Collection c);  // space-separated accepted names
std::optional<Collection> collection_by_name(std::string_view name);
std::string_view kind_name(ValueKind kind);
// The field as written with its argument: header "Subject", dnsbl("zen.example"),
// mx(sender.domain), country(client.ip); the plain name for other fields. Traces,
// fact reports (JSON "facts") and disasm name fields this way.
std::string field_label(FieldId field, std::string_view argument);
// Every value a field with a closed vocabulary can hold (spf: pass, fail, …;
// message.defects: the defect names); empty for a field whose values are open.
// The compiler rejects a value outside it (E023): it could never match.
const std::vector<std::string_view>& field_vocabulary(FieldId field);
// How `resembles` reduces the field's values (runtime/resemble.h): domains as domains,
// addresses as addresses, any other text as a name.
runtime::ResembleKind resemble_kind(FieldId field);

}  // namespace mp::vm
