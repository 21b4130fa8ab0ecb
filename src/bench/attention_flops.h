// The FLOPs `titans bench attention` counts: visible (query, key) pairs only, so that skipped
// tiles and masked entries never count as work done (docs/BENCHMARKS.md, "titans bench attention").
#pragma once

#include <cstdint>

namespace titans {

// Visible (query, key) pairs of one head: causal over T tokens, sliding window W (0: none).
inline double attention_visible_pairs(int64_t T, int64_t W) {
  if (W == 0 || W >= T) return double(T) * double(T + 1) / 2;
  return double(W) * double(W + 1) / 2 + double(T - W) * double(W);
}

// Forward FLOPs over batch × heads: S = QKᵀ and O = PV, 2 FLOPs per multiply-add each, per visible
// pair and head dimension. The backward counts 2.5× this (S recomputed, dV, dP, dK, dQ).
inline double attention_forward_flops(int64_t batch, int64_t heads, int64_t T, int64_t d, int64_t W) {
  return 4.0 * double(d) * attention_visible_pairs(T, W) * double(batch * heads);
}

}  // namespace titans
