// The fields behind the spam engine's heuristics: what a link's text claims, the
// tricks in a URL's form, and text that hides from word filters (runtime/url_form.h,
// runtime/obfuscation.h). Computed when a rule first reads them, like every field.
#include "runtime/identity.h"
#include "runtime/obfuscation.h"
#include "runtime/url_form.h"
#include "vm/field_values.h"

namespace mp::vm {

namespace {

// Body text beyond this is not examined for obfuscation: the tricks sit in the
// first screens of a message, and the work stays bounded on a huge one.
constexpr size_t kObfuscationBodyBytes = 256 * 1024;

// One value per flag set in `flags`, each mapped to `item` (several values per item).
template <size_t N, typename Name>
void add_flags(const std::bitset<N>& flags, Name name, uint32_t item, FieldValues& out) {
  for (size_t f = 0; f < N; ++f) {
    if (!flags.test(f)) continue;
    out.borrow(name(f));
    out.items.push_back(item);
  }
}

runtime::ObfuscationSet obfuscation_of(const runtime::Message& message) {
  runtime::ObfuscationSet found = runtime::find_obfuscation(message.subject());
  for (const auto& from : message.from()) found |= runtime::find_obfuscation(from.display_name);
  for (const auto& reply_to : message.reply_to()) found |= runtime::find_obfuscation(reply_to.display_name);
  return found | runtime::find_obfuscation(message.body_text(), kObfuscationBodyBytes);
}

}  // namespace

void MessageFields::extract_heuristic(FieldId field, FieldValues& out) {
  const auto& urls = message_.urls();
  switch (field) {
    case FieldId::UrlTextDomain:
      for (const auto& url : urls) out.own(runtime::domain_named_by(url.link_text));
      return;
    case FieldId::UrlFlags:
      for (uint32_t i = 0; i < urls.size(); ++i) {
        add_flags(
            runtime::url_flags(urls[i]),
            [](size_t f) { return runtime::url_flag_name(static_cast<runtime::UrlFlag>(f)); }, i, out);
      }
      return;
    case FieldId::MessageObfuscation: {
      const runtime::ObfuscationSet found = obfuscation_of(message_);
      for (size_t f = 0; f < runtime::kObfuscationCount; ++f) {
        if (found.test(f)) out.borrow(runtime::obfuscation_name(static_cast<runtime::Obfuscation>(f)));
      }
      return;
    }
    default: return;
  }
}

}  // namespace mp::vm
