// `titans bench train`: one float32 training step of a whole model — forward over random byte ids,
// next-token cross-entropy, backward to every parameter, an AdamW step — for each architecture,
// against this machine's fp32 peak and the PyTorch reference model (reference/bench_models.py) at
// the same shape. Also the long-context check of the attention paths (one forward + backward at
// T = 16k / 64k, peak RSS against the size of a T×T buffer).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/model_config.h"
#include "util/status.h"

namespace titans {

// Matmul FLOPs of one forward of the model over [batch, seq] (from position 0), by part; the
// formula is written out in train_bench.cpp. A training step counts 3 × total().
struct ModelFlops {
  double dense = 0;      // the mixers' projections (attention q, k, v, o; gates' w_o), the FFNs
  double attention = 0;  // softmax attention over visible (query, key) pairs, QKᵀ and PV
  double memory = 0;     // neural memory (memory_forward_flops) or Infini's compressive memory
  double head = 0;       // the LM head
  double total() const { return dense + attention + memory + head; }
};
ModelFlops model_forward_flops(const ModelConfig& cfg, int64_t batch, int64_t seq);
inline double model_step_flops(const ModelConfig& cfg, int64_t batch, int64_t seq) {
  return 3 * model_forward_flops(cfg, batch, seq).total();
}

struct TrainBenchRow {
  std::string arch;
  std::string error;  // why the engine's step failed (a non-finite loss or memory read); "" if not
  int threads = 0;
  int64_t params = 0;
  double seconds = 0;  // median step (all phases below)
  double forward_seconds = 0, backward_seconds = 0, optimizer_seconds = 0;  // medians per phase
  double cpu_share = 0;         // process CPU time / (wall · threads) over the timed steps
  double step_cpu_seconds = 0;  // process CPU seconds per step (median of the timed steps)
  double loss = 0;              // of the last step
  double tokens_per_s = 0;
  double gflop = 0;             // model_step_flops / 1e9
  double gflops = 0;            // gflop / seconds
  double peak_percent = 0;      // of the fp32 peak measured at `threads`
  double cpu_peak_percent = 0;  // gflop / step_cpu_seconds over the per-CPU-second peak
  double max_rss_mib = 0;       // ru_maxrss, reset before the architecture's run
  double torch_tokens_per_s = 0, torch_seconds = 0, torch_max_rss_mib = 0;  // 0: no peer
  double torch_cpu_seconds = 0;  // the peer's CPU seconds per step (0: not reported)
  std::string torch_note;        // why there is no peer figure, or its BLAS
  double ratio = 0;              // tokens_per_s / torch_tokens_per_s (wall clock)
  double cpu_ratio = 0;          // torch_cpu_seconds / step_cpu_seconds (0: not reported)
};

struct TrainBenchReport {
  struct Peak {
    int threads;
    double gflops, gflops_per_cpu_second;
  };
  std::vector<Peak> peaks;
  std::vector<TrainBenchRow> rows;
};

struct TrainBenchOptions {
  std::vector<ModelConfig> configs;  // one per architecture, already resolved
  int64_t batch = 4, seq = 1024;
  std::vector<int> threads{2};
  int warmup = 1, repeats = 3;
  uint64_t seed = 0;
  // AdamW at this learning rate with the engine's defaults (AdamWConfig: weight decay 0.1, clipping
  // at global norm 1 — one more pass over the gradients than the peer's torch.optim.AdamW does).
  double lr = 1e-3;
  // The peer's JSON line for (config, threads), or "" with the reason in *why; null: no peer.
  std::function<std::string(const ModelConfig&, int threads, std::string* why)> peer;
  std::function<void(const std::string&)> progress;  // progress lines; null: silent
};

// Every (config, threads): the peer first, then the engine (warm-up steps, then the median of
// `repeats`). A step that fails (a non-finite loss, the memory's non-finite checks) fills the
// row's `error` and the run goes on with the next row.
Result<TrainBenchReport> run_train_bench(const TrainBenchOptions& options);

}  // namespace titans
