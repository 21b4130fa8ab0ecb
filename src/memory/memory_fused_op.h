// The memory's inner loop (spec §4–§5, chunked paper Eq. 12–14) as one engine op: the fused
// forward (memory_kernel.h) and, when a gradient is needed, one tape record whose backward is the
// hand-written memory_backward_fused. Everything after NeuralMemory's project() goes in (q, k, v,
// gates, the chunk-start state); the reads and the state after the last full chunk come out.
#pragma once

#include <vector>

#include "autodiff/graph.h"
#include "memory/memory_config.h"
#include "util/status.h"

namespace titans {

struct MemoryLoopInputs {
  Tensor q, k, v;             // [B, H, N, d_h], k and q L2-normalised; token 0 starts a chunk
  Tensor theta, eta, alpha;   // [B, H, N] (θ scaled; η, α zeros when disabled)
  // Per layer the chunk-start W^l: [B, H, out_l, in_l], or [H, out_l, in_l] — the learned W_0,
  // shared by the batch (its gradient is reduced over the batch). S^l: [B, H, out_l, in_l], or
  // undefined for S = 0.
  std::vector<Tensor> w, s;
};

struct MemoryLoopOutputs {
  Tensor y;                   // [B, H, N, d_h]: y_t = M_t(q_t), read after write (spec §5)
  std::vector<Tensor> w, s;   // [B, H, out_l, in_l]: after the last full chunk (spec §6)
};

// Runs the loop; records one op when g needs a gradient for any input. A non-finite read or
// state (spec §8) is an error "memory: non-finite <what>: layer l, batch b, head h, position p"
// with p = first_position + the token's index in N.
Result<MemoryLoopOutputs> memory_loop(Graph& g, const NeuralMemoryConfig& c,
                                      const MemoryLoopInputs& in, int64_t first_position);

}  // namespace titans
