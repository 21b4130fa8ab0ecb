#include "bench/peak.h"

#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include "tensor/simd.h"

namespace titans {

namespace {

// 12 independent FMA chains: more than latency (4 cycles) × ports (2) needs, so the loop is
// throughput-bound, which is what "peak" means.
__attribute__((noinline)) float fma_chains(long iterations) {
  constexpr int kChains = 12;
  simd::Vec a[kChains];  // fully unrolled below, so the chains live in registers
  for (int j = 0; j < kChains; ++j) a[j] = simd::broadcast(0.1f * float(j + 1));
  const simd::Vec m = simd::broadcast(0.99999f), c = simd::broadcast(1e-6f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) a[j] = simd::fmadd(a[j], m, c);
  }
  simd::Vec s = a[0];
#pragma GCC unroll 12
  for (int j = 1; j < kChains; ++j) s = simd::add(s, a[j]);
  return simd::sum_lanes(s);
}

// The best of 3 runs of `threads` FMA loops, timed by `seconds()` (a wall or a CPU clock).
template <class Seconds>
double best_fma_gflops(int threads, Seconds seconds) {
  const long iterations = 20'000'000;
  double best = 0;
  volatile float sink = 0;
  for (int run = 0; run < 3; ++run) {
    const double t0 = seconds();
    if (threads <= 1) {
      sink = sink + fma_chains(iterations);  // no region: a team of one allocates in libgomp
    } else {
#pragma omp parallel num_threads(threads)
      {
        const float r = fma_chains(iterations);
#pragma omp critical
        sink = sink + r;
      }
    }
    const double s = seconds() - t0;
    best = std::max(best, double(threads) * iterations * 12 * simd::kLanes * 2 / s / 1e9);
  }
  return best;
}

}  // namespace

double measure_fp32_peak_gflops(int threads) {
  return best_fma_gflops(threads, [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  });
}

double measure_fp32_peak_gflops_per_cpu_second(int threads) {
  return best_fma_gflops(threads, process_cpu_seconds);
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace titans
