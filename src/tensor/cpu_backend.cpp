// The CPU backend: aligned host memory and the engine's own GEMM kernel.
#include <cstdlib>
#include <cstring>

#include "tensor/backend.h"

namespace titans {

namespace {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::cpu; }
  const char* name() const override { return "cpu"; }
  void* allocate(size_t bytes) override {
    return std::aligned_alloc(64, (bytes + 63) / 64 * 64 + (bytes == 0 ? 64 : 0));
  }
  void deallocate(void* p) override { std::free(p); }
  void zero(void* p, size_t bytes) override { std::memset(p, 0, bytes); }
  void copy_from_host(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy_to_host(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha, MatRef<float> A,
                    int64_t sa, MatRef<float> B, int64_t sb, float beta, MatMut<float> C,
                    int64_t sc) override {
    titans::gemm_batched(batch, M, N, K, alpha, A, sa, B, sb, beta, C, sc);
  }
  void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, double alpha, MatRef<double> A,
                    int64_t sa, MatRef<double> B, int64_t sb, double beta, MatMut<double> C,
                    int64_t sc) override {
    titans::gemm_batched(batch, M, N, K, alpha, A, sa, B, sb, beta, C, sc);
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

Backend& backend_for(Device) { return cpu_backend(); }

}  // namespace titans
