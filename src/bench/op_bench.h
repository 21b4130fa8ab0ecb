// `titans bench ops`: the engine's basic costs, measured — autodiff overhead per op, the fp32 GEMM
// against this machine's peak and against oneDNN, bf16 against fp32, and the op table's perf mode.
#pragma once

#include <string>
#include <vector>

namespace titans {

struct OpBenchRow {
  std::string name;    // what was measured
  std::string config;  // shape, threads
  double value = 0;    // in `unit`
  std::string unit;
  std::string note;  // % of peak, ratio, target
};

struct OpBenchReport {
  double peak1 = 0, peak2 = 0;  // measured fp32 GFLOP/s on 1 and 2 threads
  std::vector<OpBenchRow> rows;
  std::vector<OpBenchRow> op_table;  // forward/backward µs of every op's test cases
};

struct OpBenchOptions {
  int repeats = 7;
  bool op_table = true;
  // JSON from reference/bench_ops.py (the PyTorch peer), or empty when not available.
  std::string torch_json;
};

OpBenchReport run_op_bench(const OpBenchOptions& options);

}  // namespace titans
