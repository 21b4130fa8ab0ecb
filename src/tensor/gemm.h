// Dense matrix products on plain strided buffers: the engine's fp32 hot path.
//
// C = alpha * A·B + beta * C, where every operand is addressed by (row stride, column stride) in
// elements, so transposed or sliced views need no copy. fp32 runs on a packed SIMD kernel
// (tensor/simd.h: AVX-512 or AVX2; BLIS-style: pack B into K×NR panels, A into MR×K panels, an
// MR×NR register-tile micro-kernel);
// fp64 runs on a plain loop and exists for float64 gradient checks and as the naive reference.
//
// No heap allocation happens in a call: packing buffers come from a per-thread workspace that is
// sized once (gemm_reserve_workspace) and reused.
#pragma once

#include <cstdint>

namespace titans {

template <class T>
struct MatRef {  // a read-only strided matrix view
  const T* data;
  int64_t rs;  // elements between consecutive rows
  int64_t cs;  // elements between consecutive columns
};

template <class T>
struct MatMut {  // a writable strided matrix view
  T* data;
  int64_t rs;
  int64_t cs;
};

// One product C[M×N] = alpha · A[M×K] · B[K×N] + beta · C. beta == 0 ignores C's old contents
// (NaN included). Threads: uses the OpenMP team when the product is large enough to pay for it.
void gemm(int64_t M, int64_t N, int64_t K, float alpha, MatRef<float> A, MatRef<float> B,
          float beta, MatMut<float> C);
void gemm(int64_t M, int64_t N, int64_t K, double alpha, MatRef<double> A, MatRef<double> B,
          double beta, MatMut<double> C);

// `batch` independent products; operand i starts at data + i * batch_stride (a stride of 0 shares
// the operand across the batch, e.g. one weight matrix for every batch element). Parallelised over
// the batch when batch >= threads, else inside each product.
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha, MatRef<float> A,
                  int64_t stride_a, MatRef<float> B, int64_t stride_b, float beta, MatMut<float> C,
                  int64_t stride_c);
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, double alpha, MatRef<double> A,
                  int64_t stride_a, MatRef<double> B, int64_t stride_b, double beta,
                  MatMut<double> C, int64_t stride_c);

// Allocates every thread's packing workspace now, so that no later call allocates. Called once at
// start-up by the engine; calling it again is cheap.
void gemm_reserve_workspace();

}  // namespace titans
