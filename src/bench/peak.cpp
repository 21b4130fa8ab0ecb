#include "bench/peak.h"

#include <immintrin.h>
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>

namespace titans {

namespace {

// 12 independent FMA chains: more than latency (4 cycles) × ports (2) needs, so the loop is
// throughput-bound, which is what "peak" means.
__attribute__((noinline)) float fma_chains(long iterations) {
  __m512 a0 = _mm512_set1_ps(0.1f), a1 = _mm512_set1_ps(0.2f), a2 = _mm512_set1_ps(0.3f),
         a3 = _mm512_set1_ps(0.4f), a4 = _mm512_set1_ps(0.5f), a5 = _mm512_set1_ps(0.6f),
         a6 = _mm512_set1_ps(0.7f), a7 = _mm512_set1_ps(0.8f), a8 = _mm512_set1_ps(0.9f),
         a9 = _mm512_set1_ps(1.0f), a10 = _mm512_set1_ps(1.1f), a11 = _mm512_set1_ps(1.2f);
  const __m512 m = _mm512_set1_ps(0.99999f), c = _mm512_set1_ps(1e-6f);
  for (long i = 0; i < iterations; ++i) {
    a0 = _mm512_fmadd_ps(a0, m, c);
    a1 = _mm512_fmadd_ps(a1, m, c);
    a2 = _mm512_fmadd_ps(a2, m, c);
    a3 = _mm512_fmadd_ps(a3, m, c);
    a4 = _mm512_fmadd_ps(a4, m, c);
    a5 = _mm512_fmadd_ps(a5, m, c);
    a6 = _mm512_fmadd_ps(a6, m, c);
    a7 = _mm512_fmadd_ps(a7, m, c);
    a8 = _mm512_fmadd_ps(a8, m, c);
    a9 = _mm512_fmadd_ps(a9, m, c);
    a10 = _mm512_fmadd_ps(a10, m, c);
    a11 = _mm512_fmadd_ps(a11, m, c);
  }
  const __m512 s = _mm512_add_ps(
      _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)),
                    _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11))));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
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
    best = std::max(best, double(threads) * iterations * 12 * 16 * 2 / s / 1e9);
  }
  return best;
}

}  // namespace

double measure_fp32_peak_gflops(int threads) {
  return best_fma_gflops(threads, [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
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
