// titans_mag: memory as a gate (Titans §4.2, Eq. 26–28; MODELS.md item 7).
//   x̃ = P ‖ n                        (Eq. 26, P once at the sequence start)
//   y = SW-Attn*(x̃)                  (Eq. 27: sliding window, P an always-visible prefix; queries for
//                                      the real tokens only — P's outputs are dropped anyway)
//   m = M(x̃), P's outputs dropped    (the memory writes and reads every token)
//   o = Gate(y, m)                    (Eq. 28, models/gate.h)
// State: LayerState::memory, k, v (the last window−1 tokens' keys/values; P's are recomputed from
// the parameter every call).
#pragma once

#include "models/attention_mixer.h"
#include "models/gate.h"
#include "models/memory_mixer.h"

namespace titans {

class MagMixer : public Mixer {
 public:
  // Parameters in store order: persistent, attn.*, memory.*, gate.*. mem_cfg must validate.
  MagMixer(const ModelConfig& cfg, const NeuralMemoryConfig& mem_cfg, int layer, ParamStore& store, Rng& rng);
  Result<Tensor> forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const override;

 private:
  Tensor persistent_;
  AttentionParams attn_;
  PersistentMemory memory_;
  Gate gate_;
  int64_t window_;
};

}  // namespace titans
