#include "data/lm_windows.h"

#include <fmt/format.h>

#include <algorithm>

#include "data/tokenizer.h"

namespace titans::data {

Window make_window(std::string_view text, int64_t start, int64_t length) {
  TITANS_CHECK(start >= 0 && length >= 0 && start + length <= int64_t(text.size()),
               "window outside the text");
  Window w;
  w.start = start;
  w.tokens = encode(text.substr(size_t(start), size_t(length)));
  w.targets.assign(size_t(length), kNoTarget);
  const int64_t with_next = std::min(length, int64_t(text.size()) - start - 1);
  for (int64_t i = 0; i < with_next; ++i)
    w.targets[size_t(i)] = static_cast<unsigned char>(text[size_t(start + i + 1)]);
  return w;
}

Result<int64_t> random_window_start(std::string_view text, int64_t length, Rng& rng) {
  if (length < 1 || int64_t(text.size()) <= length)
    return Status::error(
        fmt::format("a window of {} tokens needs a text of more than {} bytes; this one has {}",
                    length, length, text.size()));
  return int64_t(rng.below(uint64_t(int64_t(text.size()) - length)));
}

SequentialSlices::SequentialSlices(std::string_view text, int64_t length)
    : text_(text), length_(length) {
  TITANS_CHECK(length >= 1, "slice length must be positive");
}

int64_t SequentialSlices::predicted_bytes() const {
  return std::max<int64_t>(int64_t(text_.size()) - 1, 0);
}

int64_t SequentialSlices::count() const { return (predicted_bytes() + length_ - 1) / length_; }

Window SequentialSlices::slice(int64_t index) const {
  TITANS_CHECK(index >= 0 && index < count(), "slice index out of range");
  const int64_t start = index * length_;
  return make_window(text_, start, std::min(length_, predicted_bytes() - start));
}

}  // namespace titans::data
