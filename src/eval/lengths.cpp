#include "eval/lengths.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>

namespace titans::eval {

namespace {

// Splits at commas; an empty item is kept (and refused by the parsers).
std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> items;
  size_t from = 0;
  while (true) {
    const size_t comma = text.find(',', from);
    items.push_back(text.substr(from, comma == std::string_view::npos ? comma : comma - from));
    if (comma == std::string_view::npos) return items;
    from = comma + 1;
  }
}

}  // namespace

Result<int64_t> parse_length(std::string_view text) {
  int64_t scale = 1;
  std::string_view digits = text;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        scale = 1000;
        break;
      case 'm':
      case 'M':
        scale = 1000000;
        break;
      case 'g':
      case 'G':
        scale = 1000000000;
        break;
      default:
        break;
    }
    if (scale != 1) digits.remove_suffix(1);
  }
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || n < 1 ||
      n > std::numeric_limits<int64_t>::max() / scale)
    return Status::error(fmt::format(
        "length '{}' is not a positive integer with an optional K (1000) or M (1000000) suffix",
        text));
  return n * scale;
}

Result<std::vector<int64_t>> parse_lengths(std::string_view text) {
  std::vector<int64_t> out;
  for (std::string_view item : split_commas(text)) {
    Result<int64_t> n = parse_length(item);
    if (!n.ok()) return n.status();
    out.push_back(*n);
  }
  return out;
}

Result<std::vector<double>> parse_depths(std::string_view text) {
  std::vector<double> out;
  for (std::string_view item : split_commas(text)) {
    double d = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), d);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || !(d >= 0.0) ||
        !(d <= 1.0))
      return Status::error(fmt::format("depth '{}' is not a number in [0, 1]", item));
    out.push_back(d);
  }
  return out;
}

std::string format_length(int64_t n) {
  if (n >= 1000000000 && n % 1000000000 == 0) return fmt::format("{}G", n / 1000000000);
  if (n >= 1000000 && n % 1000000 == 0) return fmt::format("{}M", n / 1000000);
  if (n >= 1000 && n % 1000 == 0) return fmt::format("{}K", n / 1000);
  return std::to_string(n);
}

}  // namespace titans::eval
