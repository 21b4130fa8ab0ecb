// One generated example, the same type for training and evaluation, and the scoring rules of
// docs/TASKS.md (from the spec's task recipes).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace titans::data {

// How an evaluator scores an example.
enum class Scoring {
  kFirstInteger,     // passkey: the first integer in the greedy output equals the answer
  kSubstring,        // S-NIAH: the answer appears in the greedy output
  kExactWord,        // bAbI: the first word of the greedy output equals the answer
  kArgmaxAtTargets,  // MQAR: argmax of the logits equals the target at every target position
  kLoss,             // lm: the loss (bits per byte) over the targets; no answer
};
std::string_view scoring_rule(Scoring s);  // one line for people (titans data, docs)

// A token range [pos, pos + length).
struct Span {
  int64_t pos = 0;
  int64_t length = 0;
};

struct Example {
  std::string task;             // the generator's registry name (a mixture names the task drawn)
  std::vector<int32_t> tokens;  // exactly the requested length
  // The next-token labels: targets[i] is the token to predict after reading tokens[0..i], or
  // kNoTarget (−1, no loss). Retrieval tasks label only the completion (the answer tokens at the
  // end), unless TaskParams::full_lm_loss; MQAR labels the queried keys; lm labels every position.
  std::vector<int32_t> targets;
  // An evaluator feeds tokens[0, prompt_length) and greedy-decodes up to max_new_tokens; the
  // completion tokens[prompt_length, end) are the reference continuation (" 71432"). For MQAR and
  // lm the prompt is the whole sequence (scored from the logits, no decoding).
  int64_t prompt_length = 0;
  int max_new_tokens = 0;
  std::string answer;  // what the scoring rule looks for ("71432"); MQAR: the values
  Scoring scoring = Scoring::kLoss;
  double depth = -1;          // the needle's requested depth in [0, 1]; −1: the task has none
  std::vector<Span> needles;  // the needle / the bAbI facts in order / the MQAR queried keys
  Span haystack;              // the haystack (natural text or filler, needles included)
};

// Where needle i sits in the haystack, as RULER measures depth: its offset in the haystack with the
// needles before it taken out, over the haystack's length without any needle (clamped to [0, 1]).
double haystack_depth(const Example& ex, size_t needle);

// Whether the decoded greedy continuation `generated` answers `ex` (the text scoring rules).
bool score_generation(const Example& ex, std::string_view generated);
// kArgmaxAtTargets: the fraction of target positions i (targets[i] ≠ kNoTarget) where
// predictions[i] (the argmax at position i; one per token) equals targets[i]. 0 without targets.
double score_predictions(const Example& ex, std::span<const int32_t> predictions);

}  // namespace titans::data
