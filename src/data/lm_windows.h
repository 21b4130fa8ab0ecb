// Language-modelling windows over a text (byte tokens): random windows for training, consecutive
// slices for evaluation (bits per byte, state carried from slice to slice).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "util/rng.h"
#include "util/status.h"

namespace titans::data {

// `length` tokens from byte `start` and their next-token targets: targets[i] = text[start + i + 1],
// kNoTarget where that byte is past the end of the text.
struct Window {
  int64_t start = 0;
  std::vector<int32_t> tokens;
  std::vector<int32_t> targets;
};
Window make_window(std::string_view text, int64_t start, int64_t length);

// A start drawn uniformly from [0, size − length − 1] (one rng.below), so every target of the
// window is a real byte. Error when the text has no more than `length` bytes.
Result<int64_t> random_window_start(std::string_view text, int64_t length, Rng& rng);

// The text cut into consecutive slices of `length` tokens covering every byte that has a next byte
// (bytes 0 … size − 2), the last slice shorter; every target is a real byte. The sum of the losses
// of all slices over predicted_bytes() is the per-byte loss (÷ ln 2: bits per byte).
class SequentialSlices {
 public:
  SequentialSlices(std::string_view text, int64_t length);
  int64_t count() const;
  int64_t predicted_bytes() const;
  Window slice(int64_t index) const;  // index in [0, count())

 private:
  std::string_view text_;
  int64_t length_;
};

}  // namespace titans::data
