// Block-wise online-softmax attention (FlashAttention-style) forward and backward: never a T×T
// buffer, memory O(T·d). One kernel for every mask the models need (architectures.md §2):
// full causal, sliding window, an always-visible prefix (persistent memory), and MAC's mask
// (keys [P | h | X_s], query i sees P and h_j, X_s[j] for j ≤ i).
#pragma once

#include <cstdint>

#include "autodiff/graph.h"

namespace titans::ops {

// Which keys a query sees. Keys are laid out as [prefix | block_0 | … | block_{n_blocks−1}]: the
// first `n_prefix` keys are visible to every query; the remaining Tk − n_prefix keys form n_blocks
// equal blocks, and key j of every block sits at position k_pos0 + j. Query i sits at position
// q_pos0 + i. With `causal`, a query at position p sees a block key at position r iff r ≤ p and
// (window == 0 or p − r < window). Without `causal` every key is visible (window ignored).
//   causal LM over T tokens:           {0, 0, 0, 0, 1, true}
//   with a KV cache of C earlier keys: q_pos0 = C (keys at 0 … C+T−1)
//   sliding window W:                  window = W (each query sees itself and W−1 before it)
//   persistent prefix of N_p:          n_prefix = N_p
//   MAC (keys [P | h | X_s]):          n_prefix = N_p, n_blocks = 2
// A query that sees no key at all outputs zeros (and passes no gradient).
struct AttentionMask {
  int64_t n_prefix = 0;
  int64_t window = 0;
  int64_t q_pos0 = 0;
  int64_t k_pos0 = 0;
  int32_t n_blocks = 1;
  bool causal = true;
};

// q [B, Tq, H, d], k and v [B, Tk, H, d] (the layout a [B, T, H·d] projection reshapes to; strided
// views accepted) → [B, Tq, H, d] contiguous: softmax(scale · q kᵀ + mask) v per batch and head.
// f32 or f64. Records itself for backward when an input needs a gradient.
Tensor attention(Graph& g, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMask& mask,
                 double scale);

}  // namespace titans::ops
