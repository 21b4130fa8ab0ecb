#include "data/example.h"

#include <algorithm>
#include <cctype>

#include "data/tokenizer.h"
#include "util/status.h"

namespace titans::data {

std::string_view scoring_rule(Scoring s) {
  switch (s) {
    case Scoring::kFirstInteger:
      return "the first integer of the greedy output equals the answer";
    case Scoring::kSubstring:
      return "the answer appears in the greedy output (exact substring)";
    case Scoring::kExactWord:
      return "the first word of the greedy output equals the answer";
    case Scoring::kArgmaxAtTargets:
      return "argmax at each queried position equals its value";
    case Scoring::kLoss:
      return "loss over the targets (bits per byte)";
  }
  return "";
}

namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// The first maximal run of characters satisfying `in_run`, or "".
template <class Pred>
std::string_view first_run(std::string_view s, Pred in_run) {
  size_t b = 0;
  while (b < s.size() && !in_run(s[b])) ++b;
  size_t e = b;
  while (e < s.size() && in_run(s[e])) ++e;
  return s.substr(b, e - b);
}

}  // namespace

double haystack_depth(const Example& ex, size_t needle) {
  TITANS_CHECK(needle < ex.needles.size(), "needle index out of range");
  int64_t offset = ex.needles[needle].pos - ex.haystack.pos, rest = ex.haystack.length;
  for (size_t j = 0; j < ex.needles.size(); ++j) {
    rest -= ex.needles[j].length + 1;  // each needle brings its separator
    if (j < needle) offset -= ex.needles[j].length + 1;
  }
  if (rest <= 0) return 0.0;
  return std::clamp(double(offset) / double(rest), 0.0, 1.0);
}

bool score_generation(const Example& ex, std::string_view generated) {
  switch (ex.scoring) {
    case Scoring::kFirstInteger: {
      // Leading zeros would make "071432" a different string for the same integer.
      std::string_view digits = first_run(generated, is_digit);
      while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
      return !digits.empty() && digits == ex.answer;
    }
    case Scoring::kSubstring:
      return !ex.answer.empty() && generated.find(ex.answer) != std::string_view::npos;
    case Scoring::kExactWord: {
      // The first word, compared case-insensitively ("Kitchen." answers "kitchen").
      const std::string_view word = first_run(generated, is_alpha);
      if (word.size() != ex.answer.size() || word.empty()) return false;
      for (size_t i = 0; i < word.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(word[i])) != ex.answer[i]) return false;
      return true;
    }
    case Scoring::kArgmaxAtTargets:
    case Scoring::kLoss:
      return false;  // scored from the logits, not from a generation
  }
  return false;
}

double score_predictions(const Example& ex, std::span<const int32_t> predictions) {
  TITANS_CHECK(predictions.size() == ex.targets.size(), "one prediction per position");
  int64_t total = 0, right = 0;
  for (size_t i = 0; i < ex.targets.size(); ++i) {
    if (ex.targets[i] == kNoTarget) continue;
    ++total;
    right += predictions[i] == ex.targets[i];
  }
  return total ? double(right) / double(total) : 0.0;
}

}  // namespace titans::data
