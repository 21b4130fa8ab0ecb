// `titans bench train`: one float32 training step (forward + cross-entropy + backward + AdamW) of
// every architecture's preset against the fp32 peak and the PyTorch reference model
// (reference/bench_models.py); progress on stderr, the markdown table on stdout (for
// docs/BENCHMARKS.md). With --seq 65536 --batch 1 --warmup 0 --repeats 1 --no-torch it is the
// long-context check: one forward + backward, its peak RSS against the size of a T×T buffer.
#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench/train_bench.h"
#include "cli/bench_support.h"
#include "models/model_config.h"
#include "models/registry.h"

namespace titans::cli {

namespace {

struct TrainArgs {
  std::vector<std::string> archs;  // empty: every registered architecture
  std::string preset = "small";
  int64_t batch = 4, seq = 1024;
  std::vector<int> threads{0};
  int warmup = 1, repeats = 3;
  double theta_init = 0;  // 0: the preset's
  uint64_t seed = 0;
  double lr = 1e-3;
  PeerArgs peer;
};

std::string joined(const auto& v) { return fmt::format("{}", fmt::join(v, ",")); }

// The peer reads the same config the engine runs, written to a temporary file.
std::string run_peer(const TrainArgs& a, const ModelConfig& cfg, int threads, std::string* why) {
  char path[] = "/tmp/titans-bench-train-XXXXXX.json";
  const int fd = mkstemps(path, 5);
  if (fd < 0) {
    *why = "could not write a temporary config";
    return "";
  }
  close(fd);
  std::ofstream(path) << config_to_json(cfg);
  const std::string out = run_reference_peer(
      a.peer, "bench_models.py",
      fmt::format(
          "--config {} --batch {} --seq {} --threads {} --repeats {} --warmup {} --seed {} --lr {}",
          path, a.batch, a.seq, threads, a.repeats, a.warmup, a.seed, a.lr),
      false, why);
  std::remove(path);
  return out.substr(0, out.find('\n'));
}

int bench_train(TrainArgs& a) {
  const int max_threads = omp_get_max_threads();
  for (int& t : a.threads)
    if (t == 0) t = max_threads;
  if (a.archs.empty())
    for (const ArchInfo& info : architectures()) a.archs.push_back(info.name);
  TrainBenchOptions opt;
  for (const std::string& arch : a.archs) {
    Result<ModelConfig> cfg = resolve_config(arch + "-" + a.preset);
    if (!cfg.ok()) {
      fmt::print(stderr, "titans: {}\n", cfg.message());
      return 2;
    }
    if (a.theta_init > 0) cfg->memory.theta_init = a.theta_init;
    opt.configs.push_back(*cfg);
  }
  opt.batch = a.batch, opt.seq = a.seq, opt.threads = a.threads;
  opt.warmup = a.warmup, opt.repeats = a.repeats, opt.seed = a.seed, opt.lr = a.lr;
  std::string peer_line;
  if (!a.peer.no_torch)
    opt.peer = [&](const ModelConfig& cfg, int threads, std::string* why) {
      std::string line = run_peer(a, cfg, threads, why);
      if (peer_line.empty()) peer_line = line;
      return line;
    };
  opt.progress = [](const std::string& s) { fmt::print(stderr, "bench train: {}\n", s); };
  const std::string load_before = load_average();
  Result<TrainBenchReport> rep = run_train_bench(opt);
  if (!rep.ok()) {
    fmt::print(stderr, "titans: {}\n", rep.message());
    return 2;
  }
  const std::string load_after = load_average();

  print_bench_heading("train");
  fmt::print(
      "Command: `titans bench train --archs {} --preset {} --batch {} --seq {} --threads {} "
      "--warmup {} --repeats {} --seed {} --lr {}{}{}`\n\n",
      joined(a.archs), a.preset, a.batch, a.seq, joined(a.threads), a.warmup, a.repeats, a.seed,
      a.lr, a.theta_init > 0 ? fmt::format(" --theta-init {}", a.theta_init) : "",
      a.peer.no_torch ? " --no-torch" : "");
  fmt::print("Load average (1, 5, 15 min): {} before, {} after.\n\n", load_before, load_after);
  std::vector<std::string> peaks;
  for (const auto& p : rep->peaks)
    peaks.push_back(fmt::format("{:.1f} GFLOP/s ({:.1f} per CPU-second) on {} thread(s)", p.gflops,
                                p.gflops_per_cpu_second, p.threads));
  fmt::print("Measured fp32 peak: {}.\n\n", fmt::join(peaks, ", "));
  std::vector<std::vector<std::string>> rows;
  for (const TrainBenchRow& r : rep->rows) {
    if (!r.error.empty()) {
      rows.push_back({r.arch, std::to_string(r.threads), "failed: " + r.error});
      continue;
    }
    const bool peer = r.torch_tokens_per_s > 0;
    rows.push_back({r.arch, std::to_string(r.threads),
                    fmt::format("{:.2f}M", double(r.params) / 1e6),
                    fmt::format("{:.3f} ({:.3f} + {:.3f} + {:.3f})", r.seconds, r.forward_seconds,
                                r.backward_seconds, r.optimizer_seconds),
                    fmt::format("{:.0f}", r.tokens_per_s), fmt::format("{:.1f}", r.gflop),
                    fmt::format("{:.1f} ({:.0f}%)", r.gflops, r.peak_percent),
                    fmt::format("{:.0f}% ({:.0f}%)", r.cpu_peak_percent, 100 * r.cpu_share),
                    fmt::format("{:.0f}", r.max_rss_mib), fmt::format("{:.3f}", r.loss),
                    peer ? fmt::format("{:.0f} ({:.3f} s)", r.torch_tokens_per_s, r.torch_seconds)
                         : r.torch_note,
                    peer ? fmt::format("{:.2f}x", r.ratio) : "n/a",
                    r.cpu_ratio > 0 ? fmt::format("{:.2f}x", r.cpu_ratio) : "n/a",
                    peer ? fmt::format("{:.0f}", r.torch_max_rss_mib) : "n/a"});
  }
  print_markdown_table(
      {"arch", "threads", "params", "step s (fwd + bwd + AdamW)", "tokens/s", "GFLOP/step",
       "GFLOP/s (% peak)", "% of peak per CPU-s (CPU share)", "peak RSS MiB", "loss",
       "PyTorch tokens/s (step)", "vs PyTorch", "vs PyTorch per CPU-s", "PyTorch RSS MiB"},
      "lrrrrrrrrrrrrr", rows);
  const double T = double(a.seq), tt_mib = T * T * 4 / (1 << 20);
  fmt::print(
      "\nGFLOP/step: the model's matmuls, 3 × the forward's (src/bench/train_bench.cpp, "
      "model_forward_flops). Peak RSS: getrusage's ru_maxrss, reset before each architecture. "
      "\"Per CPU-s\": the counted GFLOP over the process's CPU time, against the FMA peak timed "
      "the same way; CPU share: CPU time / (wall time × threads), below 100% when other processes "
      "had part of the cores; \"vs PyTorch per CPU-s\": the peer's CPU seconds per step over the "
      "engine's. For scale: one T×T fp32 matrix at T = {} is {:.0f} MiB (B·H = {} of "
      "them per attention layer: {:.0f} MiB).\n",
      a.seq, tt_mib, a.batch * opt.configs.front().n_heads,
      tt_mib * double(a.batch * opt.configs.front().n_heads));
  if (!peer_line.empty()) fmt::print("PyTorch peer, first line: {}\n", peer_line);
  return 0;
}

}  // namespace

void add_bench_train_command(CLI::App& bench, int* exit_code) {
  auto args = std::make_shared<TrainArgs>();
  TrainArgs& o = *args;
  CLI::App* cmd = bench.add_subcommand(
      "train", "one training step of every architecture: tokens/s, % of peak, RSS, vs PyTorch");
  cmd->add_option("--archs", o.archs, "architectures, comma-separated (default: every one)")
      ->delimiter(',');
  cmd->add_option("--preset", o.preset, "preset size: configs/<arch>-<preset>.json")
      ->capture_default_str();
  cmd->add_option("--batch", o.batch, "sequences per step")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--seq", o.seq, "tokens per sequence")
      ->check(CLI::Range(2, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "thread counts (0: all cores), comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "untimed steps first")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  add_repeats_option(*cmd, &o.repeats);
  cmd->add_option("--seed", o.seed, "parameters and ids")->capture_default_str();
  cmd->add_option("--lr", o.lr,
                  "AdamW learning rate on both sides; 0 does the same work and keeps the "
                  "parameters (a model that diverges after a few steps still times)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--theta-init", o.theta_init,
                  "override memory.theta_init (θ/theta_max at init) on both sides; 0: the preset's")
      ->check(CLI::Range(0.0, 1.0 - 1e-6));
  add_peer_options(*cmd, &args->peer, "bench_models.py");
  cmd->callback([args, exit_code] { *exit_code = bench_train(*args); });
}

}  // namespace titans::cli
