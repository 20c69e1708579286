// Reading PCRE2 pattern syntax without compiling it: the pieces several places skip
// over (vm/pcre.cpp, explore/, importer/) read one way, the way PCRE2 reads them
// (pcre2pattern(3), "Square brackets and character classes"; pcre2_compile.c,
// check_posix_syntax).
#pragma once

#include <cstddef>
#include <string_view>

namespace mp::vm {

// The index just past the character class whose `[` is at `open` in `pattern`, or
// std::string_view::npos when the class does not close. A `]` first in the class (or
// first after `^`) is a member; `\` escapes the next byte; `[:name:]`, `[.x.]` and
// `[=x=]` are POSIX items whose `]` does not close the class — only when their
// terminator comes before any other `]`, as PCRE2 reads them.
size_t class_end(std::string_view pattern, size_t open);

// Inside a class, the index just past the POSIX item (`[:name:]`, `[.x.]`, `[=x=]`)
// whose `[` is at `at`, or std::string_view::npos when there is none: no `[:`, `[.` or
// `[=` at `at`, or its terminator comes after another `]`, so that PCRE2 reads the `[`
// as a plain member.
size_t posix_item_end(std::string_view pattern, size_t at);

}  // namespace mp::vm
