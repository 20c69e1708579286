// Semantic analysis: resolves names (consts, lists, defs, fields), checks types and
// turns the AST into the checked IR, filling the pattern/set/net tables as it goes.
// Internal to compiler/; split over sema.cpp (declarations, rules, actions, settings)
// sema_conditions.cpp (conditions), sema_values.cpp (values) and sema_modules.cpp
// (options, disable, rescore).
#pragma once

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compiler/ir.h"
#include "compiler/tables.h"
#include "lang/ast.h"
#include "lang/diagnostics.h"

namespace mp::compiler {

// One entry of a list: a literal written in the policy, or a line of a list file.
struct ListItem {
  lang::Literal literal;
  std::string origin;  // "execs.txt:3" for file entries, "" for literals
  // The option whose value the item is, when a test names an option (a module's rule
  // testing `custom_filters.blocked_senders`): a wrong item is reported in its terms.
  std::string option = {};
};

// A resolved field reference on the left of a test.
struct FieldRef {
  vm::FieldId field = vm::FieldId::Subject;
  std::string header_filter;  // lowercase, for header "X"
  bool bound = false;
  lang::Span span;
  std::string display;  // as the author wrote it
};

// Sorts one stage's rules: user-scoped first, then group-scoped, then the rest.
void order_by_scope(std::vector<IrRule>::iterator begin, std::vector<IrRule>::iterator end);

class Sema {
 public:
  Sema(const lang::SourceMap& sources, lang::Diagnostics& diagnostics, std::filesystem::path base_dir)
      : sources_(sources), diagnostics_(diagnostics), base_dir_(std::move(base_dir)) {}

  // `files`: the policy file first, then the modules it imports (compiler.cpp). Each
  // file's consts, lists and defs are its own; options are shared by all, and the
  // settings of the policy file override the modules' defaults.
  IrModule check(const std::vector<lang::Policy>& files);
  // A file of `assert` declarations that reads the policy file's names (policyc fuzz
  // --properties); its assertions are added to the policy file's before check().
  void set_properties_file(lang::FileId file) { properties_file_ = file; }

  PatternTable patterns;
  SetTable sets;
  NetTable nets;
  vm::Settings settings;

  // For lint: which consts/lists/defs were used, and every list's entries.
  const std::set<std::string>& used_names() const { return used_names_; }
  const std::map<std::string, std::vector<ListItem>>& lists() const { return lists_; }
  struct SkippedEntry {
    std::string message;
    lang::Span span;
    std::string file;   // the list file the entry came from
    std::string field;  // the field it was tested against, as written
    std::string hint;
  };
  // List-file entries that could not be of the kind their test needs (skipped).
  const std::vector<SkippedEntry>& skipped_entries() const { return skipped_entries_; }
  // Each text value written in the policy and compared with a text field (contains,
  // starts with, ends with, is, in), as written: lint looks for glob and regex syntax.
  struct TextValue {
    std::string field;  // as written
    lang::CompareOp op;
    std::string text;
    lang::Span span;
  };
  const std::vector<TextValue>& text_values() const { return text_values_; }

 private:
  // sema.cpp
  void declare(const lang::Policy& policy);
  void load_list(const lang::ListDecl& decl);
  std::vector<ListItem> read_list_file(const std::string& file, lang::Span span);
  void check_settings(const lang::Policy& policy);
  // A setting that is a whole number (or, with `size`, a size: 100MB) from 1 to `max`:
  // its value, or nullopt after E062 (the hint names the default).
  std::optional<uint64_t> whole_number_setting(const lang::Setting& s, uint64_t max, const std::string& what,
                                               const std::string& default_text, bool size = false);
  void parse_limit_setting(const lang::Setting& s);
  void regex_limit_setting(const lang::Setting& s);
  void archive_limit_setting(const lang::Setting& s);
  void auto_learn_setting(const lang::Setting& s);
  lang::Span auto_learn_span_{};  // the last auto-learn threshold set, for the order check
  void check_unused_defs(const lang::Policy& policy);
  std::vector<lang::Stage> merge_stages(const std::vector<lang::Policy>& files) const;
  // sema_modules.cpp
  void declare_options(const std::vector<lang::Policy>& files);
  bool set_option(const lang::Setting& s);
  void adjust_rules(const std::vector<lang::Policy>& files, std::vector<lang::Stage>& stages);
  std::string known_settings(const std::string& key) const;
  bool misspelt_setting(const lang::Literal& v);
  IrRule check_rule(const lang::Rule& rule, uint32_t stage);
  void check_assertions(const lang::Policy& file, IrModule& module);
  // sema_actions.cpp
  std::vector<IrAction> check_actions(const lang::Rule& rule);
  void check_reply(const lang::Action& a);
  void check_header_edit(const lang::Action& a, const lang::Rule& rule);
  bool check_rewrite(const lang::Action& a, IrAction& action);
  std::vector<std::string> skipped_domains(const lang::Action& a);
  std::optional<std::string> skipped_domain(const ListItem& item);
  // A list-valued setting's entries: its literal, const or list name, or file("...").
  std::vector<ListItem> setting_items(const lang::Setting& s);
  std::vector<ListItem>& org_list(const lang::Setting& s);
  std::vector<std::string> domain_setting(const lang::Setting& s);
  std::vector<runtime::Cidr> prefix_setting(const lang::Setting& s);
  std::vector<std::string> address_setting(const lang::Setting& s);
  // sema_scope.cpp
  std::vector<vm::RecipientGroup> group_setting(const lang::Setting& s);
  void check_scope(const lang::Rule& rule, IrRule& out);
  static std::string fmt_names(const std::vector<std::string>& names);

  // sema_conditions.cpp
  IrNode condition(const lang::Condition& c);
  IrNode bool_condition(const lang::Condition& c);
  IrNode sum_condition(const lang::Condition& c);
  IrNode quantified(const lang::Condition& c);
  IrNode compare(const lang::Condition& c);
  std::optional<IrNode> setting_test(const lang::Condition& c);
  IrNode content_test(const lang::Condition& c, const FieldRef& field);
  IrNode membership_test(const lang::Condition& c, const FieldRef& field);
  // A Match of `text` in the field: `starts with` anchors it at the start; `ends with`,
  // and `is`/`in` (a `*.example.com` entry), at the end. `span` is the value's.
  IrNode literal_match(const lang::Condition& c, const FieldRef& field, const std::string& text,
                       bool caseless, lang::Span span);
  IrNode resembles_test(const lang::Condition& c, const FieldRef& field);
  std::string text_of(const lang::Action& a);
  std::optional<IrNode> call_per_argument(const lang::Condition& c);
  // `reply_to.domain is from.domain`: the right side names a field (nullopt when not).
  std::optional<IrNode> same_value_test(const lang::Condition& c, const FieldRef& field);
  IrNode numeric_test(const lang::Condition& c);
  void check_reachable(const lang::Condition& c, const IrNode& n);
  std::optional<IrNumber> number_operand(const lang::Operand& o, std::vector<IrNode>& filter);
  std::optional<FieldRef> resolve_field(const lang::Operand& o, bool report);
  std::optional<FieldRef> call_field(const lang::Operand& o, bool report);
  std::optional<FieldRef> rate_field(const lang::Operand& o, FieldRef ref, bool report);
  std::optional<vm::FieldId> field_by_path(const std::string& path) const;
  bool is_bound(vm::Collection c) const;
  std::vector<ListItem> values(const lang::Operand& rhs, bool want_list, const FieldRef* field = nullptr);
  void expand_value(const lang::Literal& l, std::vector<ListItem>& out, int depth);
  std::optional<std::string> item_as(const ListItem& item, vm::ValueKind kind, const FieldRef& field);
  IrNode set_test(const lang::Condition& c, const FieldRef& field, std::vector<std::string> entries,
                  bool lowercase);
  // `negated`: the test is under an odd number of `not`s (its own `is not` included),
  // where a value that never occurs only makes it true.
  bool value_can_occur(const ListItem& item, const std::string& value, lang::CompareOp op, bool negated,
                       const FieldRef& field);
  void regex_can_match(const lang::Condition& c, const FieldRef& field, const std::string& expression,
                       uint32_t flags);
  // Whether a word of `field`'s closed vocabulary (if it has one) passes `occurs`; else
  // E023 with `message`, and the word closest to `closest_to` as the hint ("": all).
  bool vocabulary_admits(const ListItem& item, const FieldRef& field, bool negated,
                         const std::function<bool(std::string_view)>& occurs, const std::string& message,
                         const std::string& closest_to);
  bool never_matches(const ListItem& item, const FieldRef& field, const std::string& message,
                     const std::string& hint);
  std::string source_of(lang::Span from, lang::Span to) const;
  std::string suggest_field(const std::string& path) const;

  // The key a name declared in `file` is stored under: the name itself in the policy
  // file (lint reads those) and its properties file, "FILE:NAME" in a module,
  // "option:KEY" for an option.
  std::string scoped(const std::string& name, lang::FileId file) const {
    return file == policy_file_ || file == properties_file_ ? name : std::to_string(file.value) + ":" + name;
  }
  // What a name written at `at` means: its own file's declaration, else an option.
  template <class Map>
  auto find_name(Map& map, const std::string& name, lang::Span at) const {
    auto it = map.find(scoped(name, at.file));
    return it != map.end() ? it : map.find(kOptionPrefix + name);
  }
  static constexpr const char* kOptionPrefix = "option:";

  const lang::SourceMap& sources_;
  lang::Diagnostics& diagnostics_;
  std::filesystem::path base_dir_;
  lang::FileId policy_file_;
  std::optional<lang::FileId> properties_file_;
  std::map<std::string, const lang::ConstDecl*> consts_;
  std::deque<lang::ConstDecl> option_values_;               // the consts_ entries of scalar options
  std::map<std::string, const lang::OptionDecl*> options_;  // by key, for kind checks
  std::map<std::string, std::vector<ListItem>> lists_;
  std::map<std::string, const lang::DefDecl*> defs_;
  std::set<std::string> defs_in_progress_;
  std::set<std::string> used_names_;
  std::set<std::pair<uint32_t, size_t>> reported_option_items_;  // (file, offset) of items reported
  std::vector<SkippedEntry> skipped_entries_;
  std::vector<TextValue> text_values_;
  bool under_not_ = false;             // condition() is inside an odd number of `not`s
  std::vector<vm::Collection> bound_;  // collections bound by enclosing any/all/count
};

// Text fields whose values are lowercased at extraction (so tests on them are
// case-insensitive), plus address and domain fields.
bool field_is_caseless(vm::FieldId field);
// The domain field that goes with an address field: "from.address" → "from.domain",
// "sender" → "sender.domain".
std::string domain_field_for(const std::string& address_field);

}  // namespace mp::compiler
