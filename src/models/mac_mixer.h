// titans_mac: memory as a context (Titans §4.1, Eq. 21–25; MODELS.md item 8; architectures.md §4).
// The tokens are cut into segments of `segment` tokens at global positions. For segment s (rows n_s):
//   h  = M*_{s−1}(n_s)                         (Eq. 21: read without write, weights at the end of s−1;
//                                                the query conv continued over the whole token stream)
//   ñ  = [P | h | n_s]                         (Eq. 22, as keys/values; queries are n_s only)
//   Y  = Attn(ñ) with query i seeing P, h_j and n_j for j ≤ i   (Eq. 23; h_j is computed from token j,
//                                                so j > i would leak the future — architectures.md §4)
//   M_s, m = M_{s−1}(Y) written and read       (Eq. 24: the memory runs over Y, continuing its state)
//   o  = Gate(Y, m)                            (Eq. 25, models/gate.h)
// Streaming state (LayerState): memory (M after the last token), memory_segment_start (M_{s−1} for the
// current segment), q_tail (the read path's conv history), k, v (current segment, n part) and k_mem,
// v_mem (current segment, h part). A call may start and end anywhere inside a segment.
#pragma once

#include "memory/neural_memory.h"
#include "models/attention_mixer.h"
#include "models/gate.h"

namespace titans {

// The attention mask of a MAC segment piece whose queries are the segment's tokens seen … seen+T−1 and
// whose keys are [P (n_persistent) | h (seen+T) | n (seen+T)]: P visible to all, h_j and n_j to query
// i iff j ≤ i (segment-local).
ops::AttentionMask mac_attention_mask(int64_t n_persistent, int64_t seen);

class MacMixer : public Mixer {
 public:
  // Parameters in store order: persistent, attn.*, memory.*, gate.*. mem_cfg must validate.
  MacMixer(const ModelConfig& cfg, const NeuralMemoryConfig& mem_cfg, int layer, ParamStore& store, Rng& rng);
  Result<Tensor> forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const override;

 private:
  // One piece of n inside one segment: rows n_s at global position pos, `seen` tokens of the segment
  // already in `st`.
  Result<Tensor> segment_piece(Graph& g, const Tensor& n_s, int64_t pos, int64_t seen, LayerState& st) const;

  Tensor persistent_;
  AttentionParams attn_;
  NeuralMemory memory_;
  Gate gate_;
  int64_t segment_;
};

}  // namespace titans
