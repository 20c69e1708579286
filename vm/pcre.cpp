// PCRE2 compile and match (vm/pcre.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "vm/pcre.h"

#include <hs/hs.h>
#include <pcre2.h>

namespace mp::vm {
namespace {

uint32_t pcre2_options(uint32_t hs_flags) {
  uint32_t options = 0;
  if (hs_flags & HS_FLAG_CASELESS) options |= PCRE2_CASELESS;
  if (hs_flags & HS_FLAG_DOTALL) options |= PCRE2_DOTALL;
  if (hs_flags & HS_FLAG_MULTILINE) options |= PCRE2_MULTILINE;
  // Field values may hold bytes that are not UTF-8 (a raw body): UTF mode is asked for
  // only with the flag, and then invalid sequences are no match rather than an error.
  if (hs_flags & HS_FLAG_UTF8) options |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (hs_flags & HS_FLAG_UCP) options |= PCRE2_UCP;
  return options;
}

}  // namespace

void Pcre2Deleter::operator()(pcre2_real_code_8* code) const {
  pcre2_code_free(code);
}
void Pcre2Deleter::operator()(pcre2_real_match_data_8* data) const {
  pcre2_match_data_free(data);
}

Pcre2Code compile_pcre2(const std::string& expression, uint32_t hs_flags, std::string* error) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  Pcre2Code compiled(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expression.data()), expression.size(),
                                   pcre2_options(hs_flags), &code, &offset, nullptr));
  if (!compiled) {
    if (error != nullptr) {
      PCRE2_UCHAR text[256];
      pcre2_get_error_message(code, text, sizeof text);
      *error = reinterpret_cast<const char*>(text) + std::string(" at offset ") + std::to_string(offset);
    }
    return compiled;
  }
  pcre2_jit_compile(compiled.get(), PCRE2_JIT_COMPLETE);  // without JIT (unsupported CPU) it interprets
  return compiled;
}

Pcre2MatchData make_match_data() {
  return Pcre2MatchData(pcre2_match_data_create(1, nullptr));
}

// Limits on backtracking, well above what a sane pattern needs on a field value: a
// catastrophic pattern gives up (no match) instead of holding the message.
pcre2_match_context* limited_context() {
  static pcre2_match_context* context = [] {
    pcre2_match_context* c = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(c, 1'000'000);
    pcre2_set_depth_limit(c, 10'000);
    return c;
  }();
  return context;
}

Pcre2Result match_pcre2(const pcre2_real_code_8* code, pcre2_real_match_data_8* data,
                        std::string_view value) {
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(value.data()), value.size(), 0, 0, data,
                             limited_context());
  if (rc == PCRE2_ERROR_NOMATCH) return {};
  if (rc < 0) return {std::nullopt, true};
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
  return {Pcre2Match{ovector[0], ovector[1]}, false};
}

}  // namespace mp::vm
