// `titans bench` and `titans bench ops`: prints the benchmark as a markdown table (for
// docs/BENCHMARKS.md).
#include <fmt/format.h>

#include <string>
#include <vector>

#include "bench/op_bench.h"
#include "cli/bench_support.h"
#include "cli/commands.h"
#include "cli/options.h"

namespace titans::cli {

namespace {

struct BenchArgs {
  int threads = 0;
  int repeats = 7;
  bool no_op_table = false;
  PeerArgs peer;
};

int bench_ops(const BenchArgs& a) {
  apply_threads(a.threads);
  OpBenchOptions opt;
  opt.repeats = a.repeats;
  opt.op_table = !a.no_op_table;
  std::string why;
  opt.torch_json = run_reference_peer(a.peer, "bench_ops.py", "", true, &why);
  print_bench_heading("ops");
  fmt::print("PyTorch peer: {}\n\n",
             opt.torch_json.empty() ? why : opt.torch_json.substr(0, opt.torch_json.find('\n')));
  std::fflush(stdout);
  const OpBenchReport rep = run_op_bench(opt);
  std::vector<std::vector<std::string>> rows;
  for (const OpBenchRow& r : rep.rows)
    rows.push_back({r.name, r.config, fmt::format("{:.3f}", r.value), r.unit, r.note});
  print_markdown_table({"measurement", "threads", "value", "unit", "notes"}, "llrll", rows);
  if (!rep.op_table.empty()) {
    fmt::print("\nOp table, perf mode (float32, 1 thread, recorded for autodiff; median):\n\n");
    rows.clear();
    for (const OpBenchRow& r : rep.op_table)
      rows.push_back(
          {r.name, r.config, fmt::format("{:.3f}", r.value), r.note.substr(0, r.note.find(' '))});
    print_markdown_table({"op", "case", "forward µs", "backward µs"}, "llrr", rows);
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, int* exit_code) {
  CLI::App* bench = app.add_subcommand("bench", "benchmarks (print tokens/s, GFLOP/s, % of peak)");
  bench->require_subcommand(1);
  auto args = std::make_shared<BenchArgs>();
  CLI::App* ops = bench->add_subcommand(
      "ops", "autodiff overhead per op, fp32 GEMM vs peak and oneDNN, bf16 vs fp32, op timings");
  add_threads_option(*ops, &args->threads);
  add_repeats_option(*ops, &args->repeats);
  ops->add_flag("--no-op-table", args->no_op_table, "skip the per-op timing table");
  add_peer_options(*ops, &args->peer, "bench_ops.py");
  ops->callback([args, exit_code] { *exit_code = bench_ops(*args); });
  add_bench_memory_command(*bench, exit_code);
  add_bench_attention_command(*bench, exit_code);
  add_bench_train_command(*bench, exit_code);
  add_bench_stream_command(*bench, exit_code);
}

}  // namespace titans::cli
