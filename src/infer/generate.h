// Text generation: a prompt through a Streamer, then one sampled token at a time, each fed back
// (so the Streamer's state ends after the last token produced, ready for a snapshot).
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "infer/sampling.h"
#include "infer/streamer.h"

namespace titans {

struct GenerateOptions {
  SamplingOptions sampling;
  int64_t max_tokens = 200;
  uint64_t seed = 0;
};

// Feeds `prompt` into `s` (batch 1), then samples up to o.max_tokens tokens, calling on_token with
// each as soon as it is drawn; stops after an <eos> (data::kEos) when the vocabulary has one.
// `previous` (may be empty) are the logits to sample the first token from when the prompt is empty
// (a snapshot's last logits). Returns the tokens produced.
Result<std::vector<int32_t>> generate(Streamer& s, std::span<const int32_t> prompt,
                                      std::span<const float> previous, const GenerateOptions& o,
                                      const std::function<void(int32_t)>& on_token = {});

}  // namespace titans
