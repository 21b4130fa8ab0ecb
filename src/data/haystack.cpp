#include "data/haystack.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "data/tokenizer.h"

namespace titans::data {

int64_t fixed_length(const HaystackLayout& layout) {
  int64_t n = layout.header.empty() ? 0 : int64_t(layout.header.size()) + 1;
  // Each insert costs its bytes and one separator; the haystack's last separator is the '\n'
  // before the question, so the count closes exactly (see the text shape in haystack.h).
  for (const std::string& s : layout.inserts) n += int64_t(s.size()) + 1;
  return n + int64_t(layout.question.size() + layout.completion.size());
}

void set_full_lm_targets(Example& ex) {
  const size_t n = ex.tokens.size();
  ex.targets.assign(n, kNoTarget);
  for (size_t i = 0; i + 1 < n; ++i) ex.targets[i] = ex.tokens[i + 1];
}

namespace {

// The last `bytes` bytes of `s` (bytes < s.size()), cut forward to a UTF-8 character boundary and
// padded in front with spaces to exactly `bytes`.
std::string utf8_tail(const std::string& s, size_t bytes) {
  size_t from = s.size() - bytes;
  while (from < s.size() && (static_cast<unsigned char>(s[from]) & 0xC0) == 0x80) ++from;
  return std::string(bytes - (s.size() - from), ' ') + s.substr(from);
}

// The haystack sentences, Σ (|piece| + 1) == budget exactly: whole sentences from `first` while
// they fit, and in front of them the end of the next sentence, cut to fill the rest. The cut piece
// comes first so that every piece, the cut one too, ends at a sentence end: every boundary a needle
// can take is a sentence boundary, the haystack's end included.
std::vector<std::string> fill_pieces(const SentenceBank& bank, size_t first, int64_t budget) {
  std::vector<std::string> pieces;
  size_t idx = first % bank.size();
  int64_t left = budget;
  while (left > 0 && int64_t(bank[idx].size()) + 1 <= left) {
    pieces.push_back(bank[idx]);
    left -= int64_t(bank[idx].size()) + 1;
    idx = (idx + 1) % bank.size();
  }
  if (left > 0) pieces.insert(pieces.begin(), utf8_tail(bank[idx], size_t(left - 1)));
  return pieces;
}

// The boundary (before piece j; j == pieces.size(): the end) nearest depth × haystack length.
size_t boundary_at_depth(const std::vector<std::string>& pieces, double depth) {
  int64_t total = 0;
  for (const std::string& p : pieces) total += int64_t(p.size()) + 1;
  const int64_t haystack = std::max<int64_t>(total - 1, 0);  // joined by separators, no last one
  const double target = depth * double(haystack);
  size_t best = 0;
  double best_gap = target;
  int64_t offset = 0;
  for (size_t j = 1; j <= pieces.size(); ++j) {
    offset += int64_t(pieces[j - 1].size()) + 1;
    const double gap = std::fabs(double(std::min(offset, haystack)) - target);
    if (gap < best_gap) best_gap = gap, best = j;
  }
  return best;
}

}  // namespace

Result<Example> build_haystack_example(const HaystackLayout& layout, const SentenceBank& bank,
                                       size_t first, int64_t length, double depth, Rng& rng,
                                       bool full_lm_loss) {
  TITANS_CHECK(!layout.inserts.empty() && !bank.empty(), "a haystack needs inserts and sentences");
  const int64_t fixed = fixed_length(layout);
  if (length < fixed)
    return Status::error(fmt::format(
        "length {} is below the {} tokens of this example's fixed text", length, fixed));
  const std::vector<std::string> pieces = fill_pieces(bank, first, length - fixed);

  // The boundary of each insert, non-decreasing so the inserts keep their order.
  std::vector<size_t> at(layout.inserts.size());
  if (depth >= 0) {
    std::fill(at.begin(), at.end(), boundary_at_depth(pieces, depth));
  } else {
    for (size_t& b : at) b = size_t(rng.below(pieces.size() + 1));
    std::sort(at.begin(), at.end());
  }

  Example ex;
  std::string text = layout.header.empty() ? "" : layout.header + "\n";
  text.reserve(size_t(length));
  const int64_t haystack_begin = int64_t(text.size());
  bool previous_is_insert = false, first_piece = true;
  auto emit = [&](const std::string& piece, bool is_insert) {
    if (!first_piece) text += (is_insert || previous_is_insert) ? layout.insert_separator : ' ';
    if (is_insert) ex.needles.push_back({int64_t(text.size()), int64_t(piece.size())});
    text += piece;
    previous_is_insert = is_insert;
    first_piece = false;
  };
  size_t next_insert = 0;
  for (size_t j = 0; j <= pieces.size(); ++j) {
    while (next_insert < at.size() && at[next_insert] == j)
      emit(layout.inserts[next_insert++], true);
    if (j < pieces.size()) emit(pieces[j], false);
  }
  ex.haystack = {haystack_begin, int64_t(text.size()) - haystack_begin};
  text += "\n" + layout.question + layout.completion;
  TITANS_CHECK(int64_t(text.size()) == length, "haystack arithmetic must give the exact length");

  ex.tokens = encode(text);
  ex.prompt_length = length - int64_t(layout.completion.size());
  if (full_lm_loss) {
    set_full_lm_targets(ex);
  } else {
    ex.targets.assign(size_t(length), kNoTarget);
    for (int64_t i = ex.prompt_length; i < length; ++i)
      ex.targets[size_t(i - 1)] = ex.tokens[size_t(i)];
  }
  return ex;
}

}  // namespace titans::data
