// The evaluator: a task's accuracy by length × needle depth (docs/EVALUATION.md). For each length
// and depth it generates `samples` examples (seeds derived from the seed, the length and the sample
// index — not the depth, so the depths of one sample share their haystack), feeds each prompt
// through a Streamer, greedy-decodes up to the example's max_new_tokens and scores the output with
// the task's rule (data/example.h): the text rules for passkey / S-NIAH / bAbI, the argmax at the
// queried positions for MQAR, bits per byte for lm.
//
// Prefix sharing: the examples of one length and sample index are sorted by their prompts and fed
// as a trie — each common prefix once, the Streamer forked where the prompts part (rounded down to
// a piece boundary, so every example sees exactly the forward calls it would see alone: the
// results are bit-identical to feeding each example by itself).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/tasks.h"
#include "models/model.h"
#include "util/status.h"

namespace titans::eval {

// Where the evaluation stands, for a live status line.
struct EvalProgress {
  int64_t length = 0;
  double depth = -1;  // the depth of the example being fed (−1: none, or several)
  int sample = 0;     // 0-based sample index being fed
  int64_t examples_done = 0, examples_total = 0;
  int64_t tokens_fed = 0;  // through the model so far (shared prefixes once)
  double seconds = 0;
  double eta_seconds = -1;  // −1: not known yet
};

struct EvalOptions {
  std::vector<int64_t> lengths;
  std::vector<double> depths = {0, 0.25, 0.5, 0.75, 1};  // ignored by tasks without a depth
  int samples = 5;
  uint64_t seed = 0;
  int64_t piece = 0;           // Streamer piece (0: its default)
  bool share_prefixes = true;  // false: every example fed on its own (tests compare the two)
  // The decode loop emits the reference completion instead of the argmax (checks the scoring
  // plumbing: every generation-scored example must then score 1).
  bool force_reference = false;
  std::function<void(const EvalProgress&)> progress;  // called at most every half second
};

// One example's outcome.
struct ExampleResult {
  int64_t length = 0;
  double depth = -1;
  int sample = 0;
  uint64_t seed = 0;
  std::vector<int32_t> generated;  // greedy ids (generation-scored tasks)
  std::string text;                // generated, decoded
  double score = 0;                // 1 / 0 (text rules), a fraction (MQAR), bits per byte (lm)
  int model_calls = 0;             // forward calls of the decode loop (≤ max_new_tokens)
};

// One (length, depth) cell.
struct CellResult {
  int64_t length = 0;
  double depth = -1;
  int samples = 0;
  double accuracy = 0;       // mean score in [0, 1]; lm: NaN (see bits_per_byte)
  double bits_per_byte = 0;  // lm only: the mean over every target of the cell's examples
  double tokens_per_s = 0;   // tokens through the model per second at this length (whole row)
};

struct EvalReport {
  std::string task;
  data::Scoring scoring = data::Scoring::kLoss;
  bool has_depth = false;
  std::vector<CellResult> cells;        // lengths in the given order, depths within
  std::vector<ExampleResult> examples;  // every example, in the order of the cells
  int64_t tokens_fed = 0;
  double seconds = 0;
};

// The seed of sample `sample` at `length` (no depth: the depths share the haystack).
uint64_t example_seed(uint64_t seed, int64_t length, int sample);

// Errors (one line): a mixture, a length below the task's minimum, a depth outside [0, 1], no
// lengths or samples, a failure in the model (a non-finite memory).
Result<EvalReport> evaluate(const Model& model, const data::TaskSpec& task,
                            const data::TaskContext& context, const EvalOptions& opt);

}  // namespace titans::eval
