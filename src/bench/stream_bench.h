// `titans bench stream`: one model streams random tokens through one Streamer (batch 1) up to the
// largest requested length; at each requested length the cumulative wall time and the process's
// peak and current resident set are recorded. Bounded-state architectures should show constant
// memory (peak RSS flat from the smallest length on) and linear time (t(10L) ≈ 10 t(L)). The
// caller runs each architecture in a process of its own, so that the peak is that model's alone
// (bench/child_process.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/model.h"
#include "util/status.h"

namespace titans {

struct StreamBenchOptions {
  std::vector<int64_t> lengths;  // increasing after sorting; the stream runs to the largest
  int64_t piece = 0;             // Streamer piece (0: its default)
  uint64_t seed = 0;             // the random tokens
  // Lengths past this many tokens are skipped (0: none); the transformer's unbounded KV cache.
  int64_t max_tokens = 0;
  std::function<void(const std::string&)> progress;  // a live status line (optional)
};

struct StreamBenchPoint {
  int64_t length = 0;
  double seconds = 0;  // wall time from the first token to this length
  // This process's CPU time over the same span: on a shared machine the linear-time check, as
  // other processes' load stretches wall time but not (much) CPU time.
  double cpu_seconds = 0;
  double tokens_per_s = 0;  // length / seconds
  double peak_rss_mib = 0;  // VmHWM so far
  double rss_mib = 0;       // VmRSS now
};

struct StreamBenchResult {
  std::string arch;
  bool unbounded = false;                // the state grows with the stream (transformer)
  std::vector<StreamBenchPoint> points;  // one per length reached, increasing
  std::vector<int64_t> skipped;          // lengths not streamed (over max_tokens)
};

// Whether the architecture's streaming state grows with the stream (a full KV cache).
bool unbounded_state(const ModelConfig& cfg);
// Bytes of state per streamed token for an unbounded architecture (its K and V rows, all layers).
int64_t state_bytes_per_token(const ModelConfig& cfg);

Result<StreamBenchResult> run_stream_bench(const Model& model, const StreamBenchOptions& opt);

// The result as one JSON object (the child process's answer) and back.
std::string stream_result_json(const StreamBenchResult& r);
Result<StreamBenchResult> parse_stream_result_json(const std::string& text);

}  // namespace titans
