// The neural memory with the persistent tokens written first (MODELS.md items 4–6): titans_lmm's
// mixer, titans_mal's first sublayer and titans_mag's memory branch.
//
// Titans §3.3 / Eq. 19 (and Eq. 26, 29 for MAG, MAL): x̃ = P ‖ x, "once, at the sequence start"
// (architectures.md §3). P lives in the normalised space (it is prepended to n = RMSNorm(x) and never
// normalised itself) and occupies the memory stream's positions 0 … N_p−1, so the memory's chunk
// boundaries count it. P's outputs are dropped.
#pragma once

#include "memory/neural_memory.h"
#include "models/mixer.h"
#include "models/titans_common.h"

namespace titans {

class PersistentMemory {
 public:
  // `persistent`: [N_p, d] (add_persistent) or undefined. Adds the memory `layers.<layer>.memory.*`;
  // mem_cfg must validate (the builder checks it).
  PersistentMemory(const Tensor& persistent, const NeuralMemoryConfig& mem_cfg, int layer, ParamStore& store,
                   Rng& rng);
  // m [B, T, d] for n [B, T, d] at global position pos0, continuing `st`. P is written first when
  // this call starts the sequence: pos0 == 0 and `st` not started (a later call never writes it).
  // On error `st` is unchanged.
  Result<Tensor> forward(Graph& g, const Tensor& n, int64_t pos0, MemoryState& st) const;

 private:
  Tensor persistent_;  // [N_p, d] or undefined
  NeuralMemory memory_;
};

// titans_lmm / titans_mal's memory sublayer: n → Memory(P ‖ n), state in LayerState::memory.
class MemoryMixer : public Mixer {
 public:
  MemoryMixer(const ModelConfig& cfg, const NeuralMemoryConfig& mem_cfg, int layer, ParamStore& store, Rng& rng)
      : memory_(add_persistent(cfg, layer, store, rng), mem_cfg, layer, store, rng) {}
  Result<Tensor> forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const override {
    return memory_.forward(g, n, pos0, st.memory);
  }

 private:
  PersistentMemory memory_;
};

}  // namespace titans
