// The fused inference forward of the memory's inner loop (spec §4–§5, chunked form of paper Eq.
// 12–14): per (batch, head) problem, chunk after chunk, the key path at the chunk-start weights,
// its backward, the b×b masked reads and the chunk-end update, all with single-threaded gemm calls
// on a per-thread workspace. No autodiff: NeuralMemory::forward uses it when nothing needs a
// gradient.
#pragma once

#include <cstdint>
#include <string>

#include "memory/memory_config.h"

namespace titans {

template <class T>
struct MemoryKernelArgs {
  int64_t B = 0, H = 0, N = 0, d = 0,
          chunk = 1;  // N tokens per problem, the first at a chunk start
  int depth = 1;
  int64_t hidden = 0;  // expansion · d
  MemoryActivation act = MemoryActivation::gelu;
  bool residual = false;
  const T *q = nullptr, *k = nullptr, *v = nullptr;            // [B, H, N, d] contiguous
  const T *theta = nullptr, *eta = nullptr, *alpha = nullptr;  // [B, H, N]
  // Per layer l < depth: the chunk-start W^l, S^l, problem (b, h) at w_in[l] + b·w_in_bstride +
  // h·out_l·in_l (a batch stride 0 shares the learned W_0), S likewise; s_in may be null (S = 0).
  const T* w_in[4] = {};
  const T* s_in[4] = {};
  int64_t w_in_bstride[4] = {}, s_in_bstride[4] = {};
  // Outputs: [B, H, out_l, in_l] contiguous, the state after the last full chunk (spec §6).
  T* w_out[4] = {};
  T* s_out[4] = {};
  T* y = nullptr;  // [B, H, N, d] reads after the write (spec §5)
};

// Spec §8: the first non-finite value found (smallest chunk, then layer, then problem).
struct MemoryKernelFault {
  bool found = false;
  const char* what = "";
  int layer = 0;                              // 1-based
  int64_t batch = 0, head = 0, position = 0;  // position: token index within the call's N tokens
};

// Runs every problem (parallel_for over B·H). Returns the first fault; outputs are then partial.
template <class T>
MemoryKernelFault memory_forward_fused(const MemoryKernelArgs<T>& a);

}  // namespace titans
