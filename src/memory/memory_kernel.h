// The fused memory inner loop (spec §4–§5, chunked form of paper Eq. 12–14): per (batch, head)
// problem, chunk after chunk, the key path at the chunk-start weights, its backward, the b×b
// masked reads and the chunk-end update, all with single-threaded gemm calls on a per-thread
// workspace; and its hand-written backward (memory_kernel_backward.cpp), which runs the chunks in
// reverse from the saved chunk-start W, S. No autodiff here: memory_fused_op.h records the pair as
// one op for training.
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
  // Optional (training): the chunk-start W^l, S^l of every full chunk c < N / chunk, for the
  // backward. Problem p's chunk c: save + (p · (N / chunk) + c) · 2P, W^1, …, W^L then S^1, …, S^L
  // (P = Σ_l out_l · in_l).
  T* save = nullptr;
};

// Σ_l out_l · in_l: the floats of one W (or S) tuple of one problem.
template <class T>
int64_t memory_kernel_state_size(const MemoryKernelArgs<T>& a) {
  if (a.depth == 1) return a.d * a.d;
  return 2 * a.d * a.hidden + (a.depth - 2) * a.hidden * a.hidden;
}

// Whether the problems are worth an OpenMP team: more than one, and enough work that a fork/join
// (a few µs, far more on a loaded machine) does not dominate (the state size × tokens, ~flops/8).
template <class T>
bool memory_kernel_worth_threads(const MemoryKernelArgs<T>& a) {
  return a.B * a.H > 1 && a.B * a.H * a.N * memory_kernel_state_size(a) >= (int64_t(1) << 15);
}

// Gradients of one memory_forward_fused call (same shapes as their values). Inputs may be null
// (no gradient wanted); dq … dalpha are accumulated (+=). dw_in / ds_in are per problem
// [B, H, out_l, in_l] and written (=): the caller reduces them over the batch when W came with
// batch stride 0; ds_in is not written where s_in was null.
template <class T>
struct MemoryKernelGrads {
  const T* dy = nullptr;                                    // [B, H, N, d]
  const T* dw_out[4] = {};                                  // null: no gradient on that output
  const T* ds_out[4] = {};
  T *dq = nullptr, *dk = nullptr, *dv = nullptr;            // [B, H, N, d]
  T *dtheta = nullptr, *deta = nullptr, *dalpha = nullptr;  // [B, H, N]
  T* dw_in[4] = {};
  T* ds_in[4] = {};
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

// The backward of memory_forward_fused(a) (run with a.save set): per problem in parallel, the
// chunks in reverse, each recomputed from its saved chunk-start W, S (the partial last chunk from
// a.w_out / a.s_out).
template <class T>
void memory_backward_fused(const MemoryKernelArgs<T>& a, const MemoryKernelGrads<T>& g);

}  // namespace titans
