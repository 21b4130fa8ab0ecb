// oneDNN's matmul primitive, cached by shape: the bf16 path (bf16 inputs, fp32 accumulation and
// output — AMX on CPUs that have it) and an fp32 path kept for comparison in `titans bench ops`.
// oneDNN allocates on the heap inside every execute (6 allocations per call, measured with 2.6.3),
// so the fp32 training path uses the engine's own kernel (tensor/gemm.h) instead.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/dtype.h"

namespace titans {

struct DnnlOperand {
  const void* data;
  int64_t batch_stride, rs, cs;  // in elements
};

// C[b] = A[b]·B[b] (+ C[b] when accumulate) for b < batch; A, B of `in_type` (f32 or bf16), C f32
// contiguous rows of stride ldc. Returns false (and does nothing) if oneDNN refuses the shape.
bool dnnl_matmul(DType in_type, int64_t batch, int64_t M, int64_t N, int64_t K, DnnlOperand A,
                 DnnlOperand B, float* C, int64_t ldc, int64_t c_batch_stride, bool accumulate);

// The implementation oneDNN picks for a bf16 (or f32) product of this size, e.g.
// "brg:avx512_core_amx" or "gemm:jit" (bf16 emulated: slow).
std::string dnnl_matmul_impl(DType in_type, int64_t M, int64_t N, int64_t K);

}  // namespace titans
