// Sampling the next token from a row of logits: temperature, top-k, top-p (nucleus), in that order
// (the order of the common libraries). Deterministic in the Rng: the same seed draws the same
// tokens.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "util/rng.h"
#include "util/status.h"

namespace titans {

struct SamplingOptions {
  double temperature = 0.8;  // 0: greedy (argmax); else logits / temperature
  int64_t top_k = 0;         // keep the k most likely tokens (0: all)
  double top_p = 1.0;        // then the smallest set of most likely tokens whose mass is ≥ p
};

// Names the option that is out of range (temperature ≥ 0, top_k ≥ 0, 0 < top_p ≤ 1).
Status validate(const SamplingOptions& o);

// The probabilities sample_token draws from: one per logit, 0 outside the kept set, summing to 1.
// Greedy (temperature 0 or top_k 1) puts all the mass on the first largest logit. NaN logits count
// as −∞; if every logit is −∞ the first token gets the mass.
std::vector<double> sampling_distribution(std::span<const float> logits, const SamplingOptions& o);

// One token id drawn from sampling_distribution (one rng.uniform() per call; none when greedy).
int32_t sample_token(std::span<const float> logits, const SamplingOptions& o, Rng& rng);

}  // namespace titans
