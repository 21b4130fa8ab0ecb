// Text checks shared by the file readers and writers of io/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace titans::io {

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF);
// otherwise *bad_offset is the offset of the first byte that is not.
bool is_valid_utf8(std::string_view s, size_t* bad_offset = nullptr);

// `s` in single quotes, safe inside a one-line message: control characters escaped (\n, \x01),
// and cut to `max_chars` with "..." so a hostile 100 MB name cannot flood a terminal.
std::string single_quoted(std::string_view s, size_t max_chars = 120);

}  // namespace titans::io
