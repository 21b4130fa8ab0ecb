// This machine's fp32 peak, measured: every "% of peak" the benchmarks print divides by it.
#pragma once

namespace titans {

// GFLOP/s of a loop of independent vector FMAs (tensor/simd.h: AVX-512 or AVX2) on `threads`
// threads (the best of a few runs).
double measure_fp32_peak_gflops(int threads);

// The same loop timed by this process's CPU time (user + system) instead of the wall clock: GFLOP
// per CPU-second, the peak that a run's own CPU time is compared with when other processes share
// the cores (their turns count in the wall time, not in the CPU time).
double measure_fp32_peak_gflops_per_cpu_second(int threads);

// User + system CPU seconds of this process (all threads) so far.
double process_cpu_seconds();

}  // namespace titans
