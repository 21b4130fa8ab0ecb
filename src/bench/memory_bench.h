// `titans bench memory`: one training step of the neural memory (forward + backward of a fixed
// random projection of its output, gradients to every parameter and to x) at the shape,
// against this machine's fp32 peak and the chunked PyTorch peer (reference/bench_neural_memory.py).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "memory/memory_config.h"
#include "util/status.h"

namespace titans {

// Matmul FLOPs of one forward (a third of a step, below).
double memory_forward_flops(const NeuralMemoryConfig& cfg, int64_t batch, int64_t seq);

// Matmul FLOPs of one step (forward + backward) of the chunked algorithm (NeuralMemory::forward and
// the graph's backward) over [batch, seq, d_model]; the formula is written out in memory_bench.cpp.
double memory_step_flops(const NeuralMemoryConfig& cfg, int64_t batch, int64_t seq);

struct MemoryBenchRow {
  int64_t chunk = 0;
  int threads = 0;
  double seconds = 0;           // median step time (forward + backward)
  double forward_seconds = 0;   // median of the forward part of the timed steps
  double backward_seconds = 0;  // median of the backward part
  double tokens_per_s = 0;
  double gflop = 0;  // memory_step_flops, in GFLOP
  double gflops = 0;
  double peak_percent = 0;        // of the measured fp32 peak at `threads`
  double torch_tokens_per_s = 0;  // 0: the peer did not run
  std::string torch_note;         // why not, or the peer's BLAS
  double ratio = 0;               // tokens_per_s / torch_tokens_per_s (0 without the peer)
  double max_rss_mib = 0;         // this process's peak RSS during the configuration (ru_maxrss)
  double torch_max_rss_mib = 0;   // the peer's (its max_rss_mib field; 0 when absent)
  // Forward only, no gradient (inference): medians of the op-composed path and the fused kernel.
  double composed_forward_seconds = 0, fused_forward_seconds = 0;
};

struct MemoryBenchReport {
  std::vector<std::pair<int, double>> peaks;  // (threads, measured fp32 GFLOP/s)
  std::vector<MemoryBenchRow> rows;
};

struct MemoryBenchOptions {
  int64_t batch = 8, seq = 2048, d_model = 256, heads = 4;
  int depth = 2;
  std::vector<int64_t> chunks{16, 64};
  std::vector<int> threads{1, 2};
  int repeats = 3;
  double theta_init = 0.03;  // the spec's 0.1 diverges at d_h 64 (reference/README.md "Finding")
  uint64_t seed = 0;
  // The PyTorch peer's JSON line for (chunk, threads), or "" with the reason in *why; null: no
  // peer.
  std::function<std::string(int64_t chunk, int threads, std::string* why)> peer;
  // Progress lines (the run takes minutes); null: silent.
  std::function<void(const std::string&)> progress;
};

// The memory configuration the benchmark runs (f32 module, the peer's defaults otherwise).
NeuralMemoryConfig memory_bench_config(const MemoryBenchOptions& options, int64_t chunk);

// Runs every (chunk, threads): the peer first, then the engine (one warm-up, median of repeats).
// A non-finite forward is an error.
Result<MemoryBenchReport> run_memory_bench(const MemoryBenchOptions& options);

}  // namespace titans
