// explore-internal: a message and its envelope as solver variables.
//
// Each collection (recipients, From mailboxes, attachments, header fields of one name…)
// has a fixed number of item slots, each with a presence bit and a value per field.
// A test of "any value" is true when some present slot's value passes; `all` and
// counts read the slots the same way. For a proof (Mode::Prove) every field is a
// free variable, so that any real message has an assignment that gives every test the
// value it has on that message (the slots hold one item per test that needs a
// witness); what the model cannot state exactly is a free boolean. For a witness
// (Mode::Witness) the values are restricted to what policyc fuzz can write into a
// message, and fields that derive from others (from.address from from.local and
// from.domain) are expressions over them.
#pragma once

#include <z3++.h>

#include <bitset>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "explore/literals.h"
#include "vm/fields.h"

namespace mp::explore {

struct Shape;  // model.cpp

// A header field of mailboxes (RFC 5322 section 3.6.2, 3.6.3) and the fields that read
// them: `header "From"` is the From field the from.* fields read.
struct AddressField {
  const char* name;       // as written: "From"
  const char* lowercase;  // as a header test's argument: "from"
  vm::Collection collection;
  vm::FieldId address, display_name;
};

enum class Mode { Prove, Witness };

// Where a value lives: the field, its argument (header name, DNS zone, …) and the slot.
struct ValueKey {
  vm::FieldId field = vm::FieldId::Subject;
  std::string argument;
  unsigned slot = 0;
  auto operator<=>(const ValueKey&) const = default;
};

class MessageModel {
 public:
  MessageModel(z3::context& ctx, Mode mode)
      : ctx_(ctx),
        mode_(mode),
        constraints_(ctx),
        string_constraints_(ctx),
        string_relations_(ctx),
        preferences_(ctx) {}
  z3::context& ctx() { return ctx_; }
  Mode mode() const { return mode_; }

  // Slots of a collection; set before the collection is first read (Single: 1).
  void set_slots(vm::Collection c, unsigned n) { slots_[c] = n; }
  unsigned slots(vm::Collection c) const;
  // Set by size_slots (encode.h) once every policy read over the model is counted;
  // exceeded: a collection had more tests than slots, so a proof is not sound.
  void mark_sized(bool exceeded) {
    sized_ = true;
    slots_exceeded_ = exceeded;
  }
  bool sized() const { return sized_; }
  bool slots_exceeded() const { return slots_exceeded_; }

  // Witness: whether every byte of `text` can be in a value fuzz writes for `field`
  // (the printable ASCII of its shape, within its length). A literal that cannot is
  // read as an unknown: the string solver would spend its whole time limit on it.
  static bool can_write(vm::FieldId field, std::string_view text);

  // Witness: a status fact (spf, dkim, mx(…), …) is never "temperror", the value a
  // failed lookup reads as, which stops the evaluation under facts.on_temperror =
  // tempfail (vm/field_values.cpp). Called by each encoder of such a policy; holds for
  // the values read before and after.
  void refuse_failed_facts();
  // Witness: refuse_failed_facts does nothing. For a diff, where a lookup that fails can
  // change the verdict (one policy reads the fact and stops, the other does not).
  void keep_failed_facts() { failed_facts_kept_ = true; }

  // Whether `field` has a value model here (else its tests are free booleans), and
  // whether policyc fuzz can write it into a message or an envelope or state it.
  bool modeled(vm::FieldId field) const;
  static bool writable(vm::FieldId field);
  // The bytes a value of `field` fuzz writes may hold (can_write of each byte alone).
  static std::bitset<256> alphabet(vm::FieldId field);

  // Slot `slot` of the collection of `field` (the header fields named `argument` for
  // a header test) holds an item.
  z3::expr present(vm::FieldId field, const std::string& argument, unsigned slot);
  // Witness: whether the fact `field`, read with `argument`, has a value (false: the
  // case states it as `none`, docs/testing.md "Stated facts"); nullopt when the model
  // has no such choice for it (the fact is not read, or always has a value).
  std::optional<z3::expr> has_value(vm::FieldId field, const std::string& argument) const;
  // The value of a text, address or domain field (String), a number (Real) or an IP
  // (a 32-bit vector, or, where ip_is_v6 holds, a 128-bit one: ipv6).
  z3::expr text(const ValueKey& key);
  z3::expr number(const ValueKey& key);
  z3::expr ipv4(const ValueKey& key);
  z3::expr ipv6(const ValueKey& key);
  z3::expr ip_is_v6(const ValueKey& key);
  // Slot `slot` of collection `c` holds an item (any/all, counts).
  z3::expr item(vm::Collection c, unsigned slot) { return slot_presence(c, "", slot); }
  // How many items a collection has (Int); at least the present slots.
  z3::expr count(vm::Collection c);
  // A test the model does not state exactly, by a canonical key.
  z3::expr free_bool(const std::string& key);

  // Proof: ties each address to its domain where both are read (`sender is x@a.com`
  // implies `sender.domain is a.com`), as the VM derives one from the other.
  void link_addresses();
  // Proof: ties each file name to its extension where both are read (attachments and
  // archive members), as the runtime derives one from the other.
  void link_file_names();

  // Proof: a `header` test (every field as a line "Name: value") over its own slots is
  // `any`, and `line_test` its relation on the line `placeholder`. Once linked, a named
  // field the model holds whose line passes makes `any` true, as the VM's lines include
  // that field's: `header "X-Spam" contains "yes"` implies `header contains "yes"`.
  void add_header_line_test(const z3::expr& any, const z3::expr& placeholder, const z3::expr& line_test);
  // Proof: that a lookup of `fact` failed (one boolean per fact, whatever its argument).
  // Once linked, it is the "temperror" value a policy under `ignore` reads of the fact.
  z3::expr fact_failed(vm::FieldId fact);
  void link_failed_facts();
  // Proof: adds those implications for the named fields read so far (after each policy
  // is encoded: a diff's second policy may read a field the first's tests must see).
  void link_header_lines();

  // Witness: adds what writing the message needs besides what the tests read (the
  // address of a mailbox whose domain alone is tested, an attachment's file name).
  void complete_for_writing();

  // A relation between strings (a regex membership, an equality). For a proof it is
  // the formula itself. For a witness it is a boolean standing for it (recorded in
  // string_tests()): the search solves the boolean skeleton and the strings apart
  // (explore.cpp), as the strings in one conjunction are far easier for the solver.
  z3::expr string_test(const z3::expr& relation);
  const std::vector<std::pair<z3::expr, z3::expr>>& string_tests() const { return string_tests_; }
  // Proof: the relation of every string test, which Prover abstracts to booleans first.
  const z3::expr_vector& string_relations() const { return string_relations_; }
  // A string_test of `value` (`relation` states it) that is a literal test, a regex
  // test, or both (`matches /ab/`). Each such test before it of the same value is
  // related to it, in constraints(), by what literals.h finds: facts about strings,
  // which no solver then has to find.
  struct KnownTest {
    std::optional<LiteralTest> literal;
    std::optional<RegexTest> regex;
  };
  z3::expr known_test(const z3::expr& value, KnownTest known, const z3::expr& relation);
  // Witness: the literal or regex test a string_tests() boolean stands for and the value
  // it tests, if it is one.
  struct KnownOf {
    z3::expr value;
    KnownTest known;
  };
  std::optional<KnownOf> known_of(const z3::expr& test) const;
  // Witness: the boolean choosing the null reverse-path (MAIL FROM:<>, a bounce), once a
  // test reads the sender; the writer then writes "" whatever the sender's text holds.
  const std::optional<z3::expr>& null_reverse_path() const { return null_reverse_path_; }

  // What every model must satisfy: counts (constraints) and, for a witness, the shapes
  // of the values fuzz writes (string_constraints).
  const z3::expr_vector& constraints() const { return constraints_; }
  const z3::expr_vector& string_constraints() const { return string_constraints_; }
  // Witness: what a smaller, more usual case has, where the goal allows (soft).
  const z3::expr_vector& preferences() const { return preferences_; }

  const std::map<ValueKey, z3::expr>& texts() const { return texts_; }
  const std::map<ValueKey, z3::expr>& numbers() const { return numbers_; }
  const std::map<ValueKey, z3::expr>& ips() const { return ips_; }
  const std::map<std::pair<vm::Collection, std::string>, std::vector<z3::expr>>& presence() const {
    return presence_;
  }

 private:
  // A fact without a vocabulary, which a case may state as `none`.
  static bool stated_none(vm::FieldId field);
  static std::string has_value_key(vm::FieldId field, const std::string& argument, unsigned slot);
  z3::expr variable(const std::string& name, const z3::sort& sort);
  z3::expr& slot_presence(vm::Collection c, const std::string& argument, unsigned slot);
  z3::expr text_variable(const ValueKey& key);
  std::optional<z3::expr> derived_text(const ValueKey& key);
  z3::expr address_header(const ValueKey& key, const AddressField& field, const z3::expr& any_text);
  z3::expr written_mailbox(const AddressField& field, unsigned k);
  z3::expr stands_for(const z3::expr& relation);
  z3::expr bounced(const z3::expr& relation, const z3::expr& test);
  void shape(const ValueKey& key, const z3::expr& value);
  void add_shape(const z3::expr& value, const Shape& shape);
  void refuse_failed_fact(vm::FieldId field, const z3::expr& value);
  z3::expr header_line(const std::string& name, const z3::expr& value);

  struct HeaderLineTest {
    z3::expr any, placeholder, line_test;
  };
  std::vector<HeaderLineTest> header_line_tests_;
  std::set<std::pair<size_t, ValueKey>> linked_header_lines_;

  z3::context& ctx_;
  Mode mode_;
  z3::expr_vector constraints_, string_constraints_, string_relations_, preferences_;
  std::vector<std::pair<z3::expr, z3::expr>> string_tests_;
  struct HeldTest {
    z3::expr value, held;
    KnownTest known;
  };
  void relate(const HeldTest& a, const HeldTest& b);
  std::vector<HeldTest> known_tests_;
  std::map<unsigned, size_t> known_by_held_;  // a test's id → its index in known_tests_
  std::map<vm::Collection, unsigned> slots_;
  std::map<std::pair<vm::Collection, std::string>, std::vector<z3::expr>> presence_;
  std::map<ValueKey, z3::expr> texts_, numbers_, ips_, ips6_, v6_;
  std::map<vm::Collection, z3::expr> counts_;
  std::map<std::string, z3::expr> free_;
  std::optional<z3::expr> null_reverse_path_;
  bool failed_facts_refused_ = false, failed_facts_kept_ = false;
  unsigned next_id_ = 0;
  bool sized_ = false, slots_exceeded_ = false;
};

// The presence key of a field: header fields are items per header name, every other
// collection's items are shared by its fields.
std::string presence_argument(vm::FieldId field, const std::string& argument);

// The name of the header field fuzz writes for slot `slot` of `header` (any field).
std::string header_line_name(unsigned slot);

const std::vector<AddressField>& address_fields();
// The address field a header test's (lowercase) argument names, or nullptr.
const AddressField* address_field(const std::string& argument);

}  // namespace mp::explore
