// This machine's fp32 peak, measured: every "% of peak" the benchmarks print divides by it.
#pragma once

namespace titans {

// GFLOP/s of a loop of independent AVX-512 FMAs on `threads` threads (the best of a few runs).
double measure_fp32_peak_gflops(int threads);

}  // namespace titans
