// Sequence lengths and needle depths as people write them on a command line: "1K,4K,1M,10M" (K =
// 1000, M = 1,000,000, G = 10^9, like the papers' "1M"; plain integers too) and "0,0.25,1".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace titans::eval {

// One length: digits with an optional K / M / G suffix (either case). Errors name the text.
Result<int64_t> parse_length(std::string_view text);
// A comma-separated list of lengths (at least one, each >= 1).
Result<std::vector<int64_t>> parse_lengths(std::string_view text);
// A comma-separated list of depths, each in [0, 1].
Result<std::vector<double>> parse_depths(std::string_view text);

// The short form: 4000 → "4K", 1000000 → "1M", 1500 → "1500" (exact multiples only).
std::string format_length(int64_t n);

}  // namespace titans::eval
