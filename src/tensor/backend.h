// What a compute device provides to the engine: memory, and the dense products every model spends
// its time in. The CPU backend is the only one today; a CUDA backend implements the same interface
// (cudaMalloc'd memory, cuBLAS or its own kernels), and tensors carry the device they live on.
// Op kernels other than the products run on the CPU; they gain per-device entries when a second
// backend arrives (the op table then compares each backend's results with the CPU's, as ggml's
// test-backend-ops does).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/gemm.h"

namespace titans {

enum class Device : uint8_t { cpu };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual const char* name() const = 0;

  // 64-byte-aligned device memory; nullptr when there is none left.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p) = 0;
  virtual void zero(void* p, size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) = 0;

  // Batched products with the contract of tensor/gemm.h.
  virtual void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                            MatRef<float> A, int64_t stride_a, MatRef<float> B, int64_t stride_b,
                            float beta, MatMut<float> C, int64_t stride_c) = 0;
  virtual void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, double alpha,
                            MatRef<double> A, int64_t stride_a, MatRef<double> B,
                            int64_t stride_b, double beta, MatMut<double> C, int64_t stride_c) = 0;
};

Backend& cpu_backend();
Backend& backend_for(Device device);

}  // namespace titans
