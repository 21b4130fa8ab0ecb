// `titans bench memory`: the neural memory's training step against the fp32 peak and the chunked
// PyTorch peer; progress on stderr, the markdown table on stdout (for docs/BENCHMARKS.md).
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/memory_bench.h"
#include "cli/bench_support.h"

namespace titans::cli {

namespace {

struct MemoryArgs {
  MemoryBenchOptions opt;
  PeerArgs peer;
};

std::string joined(const auto& v) { return fmt::format("{}", fmt::join(v, ",")); }

// The shape options, as both the engine's command line and the peer's take them.
std::string shape_args(const MemoryBenchOptions& o) {
  return fmt::format("--batch {} --seq {} --d-model {} --heads {} --depth {}", o.batch, o.seq,
                     o.d_model, o.heads, o.depth);
}

int bench_memory(MemoryArgs& a) {
  MemoryBenchOptions& opt = a.opt;
  const std::string load_before = load_average();
  std::string peer_info;
  if (!a.peer.no_torch)
    opt.peer = [&](int64_t chunk, int threads, std::string* why) {
      const std::string out = run_reference_peer(
          a.peer, "bench_neural_memory.py",
          fmt::format("{} --chunks {} --threads {} --repeats {} --theta-init {}", shape_args(opt),
                      chunk, threads, opt.repeats, opt.theta_init),
          false, why);
      if (peer_info.empty()) peer_info = out.substr(0, out.find('\n'));
      return out;
    };
  opt.progress = [](const std::string& s) { fmt::print(stderr, "bench memory: {}\n", s); };
  Result<MemoryBenchReport> rep = run_memory_bench(opt);
  if (!rep.ok()) {
    fmt::print(stderr, "titans: {}\n", rep.message());
    return 2;
  }
  const std::string load_after = load_average();

  print_bench_heading("memory");
  fmt::print(
      "Command: `titans bench memory {} --chunks {} --threads {} --repeats {} --theta-init "
      "{}{}`\n\n",
      shape_args(opt), joined(opt.chunks), joined(opt.threads), opt.repeats, opt.theta_init,
      a.peer.no_torch ? " --no-torch" : "");
  fmt::print("Load average (1, 5, 15 min): {} before, {} after.\n\n", load_before, load_after);
  std::vector<std::string> peaks;
  for (auto [t, gf] : rep->peaks)
    peaks.push_back(fmt::format("{:.1f} GFLOP/s on {} thread(s)", gf, t));
  fmt::print("Measured fp32 peak: {}.\n\n", fmt::join(peaks, ", "));
  std::vector<std::vector<std::string>> rows;
  for (const MemoryBenchRow& r : rep->rows)
    rows.push_back(
        {std::to_string(r.chunk), std::to_string(r.threads),
         fmt::format("{:.3f} ({:.3f} + {:.3f})", r.seconds, r.forward_seconds, r.backward_seconds),
         fmt::format("{:.0f}", r.tokens_per_s), fmt::format("{:.2f}", r.gflop),
         fmt::format("{:.2f}", r.gflops), fmt::format("{:.1f}%", r.peak_percent),
         r.torch_tokens_per_s > 0 ? fmt::format("{:.0f}", r.torch_tokens_per_s) : r.torch_note,
         r.ratio > 0 ? fmt::format("{:.2f}x", r.ratio) : "n/a",
         fmt::format("{:.0f}", r.max_rss_mib),
         r.torch_max_rss_mib > 0 ? fmt::format("{:.0f}", r.torch_max_rss_mib) : "n/a"});
  print_markdown_table(
      {"chunk", "threads", "step s (fwd + bwd)", "tokens/s", "GFLOP/step", "GFLOP/s",
       "% of fp32 peak", "PyTorch tokens/s", "vs PyTorch", "peak RSS MiB", "PyTorch peak RSS MiB"},
      "rrrrrrrrrrr", rows);
  std::vector<std::vector<std::string>> fwd;
  for (const MemoryBenchRow& r : rep->rows) {
    const double flop = r.gflop / 3, tokens = double(opt.batch * opt.seq);
    const double peak = r.gflops / (r.peak_percent / 100);
    for (bool fused : {false, true}) {
      const double sec = fused ? r.fused_forward_seconds : r.composed_forward_seconds;
      fwd.push_back({std::to_string(r.chunk), std::to_string(r.threads),
                     fused ? "forward only, fused" : "forward only, composed",
                     fmt::format("{:.3f}", sec), fmt::format("{:.0f}", tokens / sec),
                     fmt::format("{:.2f}", flop / sec),
                     fmt::format("{:.1f}%", 100 * flop / sec / peak)});
    }
  }
  fmt::print(
      "\nInference (no gradient), median of the same repeats; GFLOP/s: a third of GFLOP/step.\n\n");
  print_markdown_table(
      {"chunk", "threads", "path", "forward s", "tokens/s", "GFLOP/s", "% of fp32 peak"}, "rrlrrrr",
      fwd);
  fmt::print(
      "\nTargets: >= 5x the PyTorch peer and >= 25% of the fp32 peak. GFLOP/step counts the "
      "chunked algorithm's matmuls, forward + backward (memory_step_flops). Peak RSS: getrusage's "
      "ru_maxrss, reset before each configuration.\n");
  if (!peer_info.empty()) fmt::print("PyTorch peer, first line: {}\n", peer_info);
  return 0;
}

}  // namespace

void add_bench_memory_command(CLI::App& bench, int* exit_code) {
  auto args = std::make_shared<MemoryArgs>();
  MemoryBenchOptions& o = args->opt;
  CLI::App* cmd = bench.add_subcommand(
      "memory", "neural memory forward + backward: tokens/s, GFLOP/s, % of peak, ratio to PyTorch");
  cmd->add_option("--batch", o.batch, "sequences per step")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--seq", o.seq, "tokens per sequence")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--d-model", o.d_model, "model width")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--heads", o.heads, "memory heads")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--depth", o.depth, "memory MLP depth")
      ->check(CLI::Range(1, 4))
      ->capture_default_str();
  cmd->add_option("--chunks", o.chunks, "chunk sizes, comma-separated")
      ->delimiter(',')
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "thread counts, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  add_repeats_option(*cmd, &o.repeats);
  cmd->add_option("--theta-init", o.theta_init,
                  "θ/theta_max at init, for both sides (the spec's 0.1 diverges at d_h 64)")
      ->check(CLI::Range(1e-6, 1.0 - 1e-6))
      ->capture_default_str();
  add_peer_options(*cmd, &args->peer, "bench_neural_memory.py");
  cmd->callback([args, exit_code] { *exit_code = bench_memory(*args); });
}

}  // namespace titans::cli
