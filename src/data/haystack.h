// Builds a retrieval example of an exact length: instructions, a haystack of whole sentences with
// the needle(s) at sentence boundaries, the question, and the answer as the completion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/example.h"
#include "data/sentences.h"
#include "util/rng.h"
#include "util/status.h"

namespace titans::data {

// The text is
//   [header '\n'] piece sep piece sep … piece '\n' question completion
// where the pieces are haystack sentences with the inserts (needle or facts) among them. Two
// neighbouring haystack sentences are joined by ' '; an insert is joined to its neighbours by
// insert_separator (passkey: '\n', its key line is a line of its own; elsewhere ' ').
struct HaystackLayout {
  std::string header;                // "" for none (no line)
  std::vector<std::string> inserts;  // the needle, or the facts in story order; at least one
  char insert_separator = ' ';
  std::string question;
  std::string completion;  // the answer as the text goes on (" 71432"); the only labelled tokens
};

// Bytes (= tokens) of everything but the haystack sentences; a length below it cannot be built.
int64_t fixed_length(const HaystackLayout& layout);

// Fills the haystack with whole sentences bank[first], bank[first + 1], … (wrapping around) while
// they fit, preceded by the end of the next sentence cut to fill the length exactly (at a UTF-8
// character boundary, padded with spaces): the haystack reads as an excerpt that starts
// mid-sentence, and every boundary between pieces is a sentence end. Placement:
// - depth ∈ [0, 1]: every insert together at the sentence boundary whose offset in the haystack
//   (without the inserts) is nearest depth × its length (ties: the earlier); 0 = right after the
//   header, 1 = right before the question (RULER's depth convention, a fraction of the haystack).
// - depth < 0: each insert at a boundary drawn uniformly (rng), kept in order (bAbI facts).
// Returns tokens, targets on the completion (every next token if full_lm_loss), prompt_length,
// needles (one span per insert) and haystack; the caller sets task, answer, scoring, depth.
Result<Example> build_haystack_example(const HaystackLayout& layout, const SentenceBank& bank,
                                       size_t first, int64_t length, double depth, Rng& rng,
                                       bool full_lm_loss);

// Next-token targets on every position but the last (the optional full LM loss).
void set_full_lm_targets(Example& ex);

}  // namespace titans::data
