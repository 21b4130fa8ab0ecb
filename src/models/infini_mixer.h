// Infini-attention (Munkhdalai et al. 2024, arXiv 2404.07143; ../shared/spec/architectures.md §8):
// local causal softmax attention within each segment, plus a compressive memory M, z per head that
// every token of segment s reads (state after segments < s) and that segment s writes once complete.
//
//   σ(u) = ELU(u) + 1
//   A_dot = causal_softmax(RoPE(Q) RoPE(K)ᵀ / sqrt(d_h)) V              within the segment
//   A_mem = σ(Q) M_{s−1} / max(σ(Q) z_{s−1}, 1e-6)                       0 on the first segment
//   A     = sigmoid(β_h) A_mem + (1 − sigmoid(β_h)) A_dot
//   linear: M_s = M_{s−1} + σ(K)ᵀ V
//   delta:  M_s = M_{s−1} + σ(K)ᵀ (V − σ(K) M_{s−1} / max(σ(K) z_{s−1}, 1e-6))
//   z_s = z_{s−1} + Σ_t σ(K_t);   O = [A_1 … A_H] W_O
//
// Segments sit at global positions (segment s = tokens s·segment … (s+1)·segment − 1), so a call may
// start or end mid-segment: LayerState carries the current segment's rotated keys (k), values (v)
// and raw keys (k_raw, for σ(K) when the segment completes) and M [B, H, d_h, d_h], z [B, H, d_h]
// in the model's dtype (float32, or float64 in gradient checks — never reduced precision: the
// paper's known failure mode is fp16 overflow of M and z).
//
// Training backpropagates through every segment (full BPTT) when bptt_segments = 0. With N > 0,
// M and z are detached after every N-th segment of the sequence (segments N−1, 2N−1, …, counted at
// global positions): the gradient of a loss flows into at most the N segments' writes before it.
#pragma once

#include "models/attention_mixer.h"

namespace titans {

class InfiniMixer : public Mixer {
 public:
  // Adds prefix + "w_q", "w_k", "w_v", "w_o", "beta" (β [H], init 0, no weight decay, learning
  // rate × cfg.beta_lr_mult: gates stuck at 0.5 are the known failure mode).
  InfiniMixer(const ModelConfig& cfg, ParamStore& store, Rng& rng, const std::string& prefix);
  Result<Tensor> forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const override;

 private:
  // The tokens [t0, t1) of the call, all inside one segment; appends to st's segment cache.
  Tensor segment_piece(Graph& g, const Tensor& q_raw, const Tensor& k_raw, const Tensor& v,
                       int64_t pos, LayerState& st) const;
  // Folds the completed segment (st.k_raw, st.v) into M and z; empties the segment cache.
  void write_memory(Graph& g, LayerState& st, int64_t segment_index) const;

  AttentionParams p_;
  Tensor beta_;
  int64_t segment_;
  InfiniUpdate update_;
  int64_t bptt_segments_;
};

}  // namespace titans
