// `titans bench attention`: the block-wise attention kernel (src/ops/attention*.cpp), forward and
// forward + backward, against the fp32 peak and the plain PyTorch implementation
// (reference/bench_attention.py); progress on stderr, the markdown table on stdout (for
// docs/BENCHMARKS.md).
//
// FLOPs are counted over visible (query, key) pairs only, N_vis per head (T(T+1)/2 causal,
// Σ_i min(i + 1, W) with a window W): forward 4·d·N_vis (S = QKᵀ and O = PV, 2 FLOPs per
// multiply-add each), backward 2.5× that (S recomputed, dV = PᵀdO, dP = dO Vᵀ, dK = dSᵀQ,
// dQ = dS K); bench/attention_flops.h. Masked entries of partly visible tiles, the softmax's
// exponentials and the rescaling are work the kernel does but that is not counted.
#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "autodiff/graph.h"
#include "bench/attention_flops.h"
#include "bench/peak.h"
#include "bench/rss.h"
#include "bench/stats.h"
#include "cli/bench_support.h"
#include "ops/attention.h"
#include "util/rng.h"

namespace titans::cli {

namespace {

struct AttentionArgs {
  std::vector<int64_t> seq{4096};
  std::vector<int64_t> window{0};
  std::vector<int> threads{0};
  int64_t batch = 1, heads = 4, head_dim = 64;
  int repeats = 3;
  PeerArgs peer;
};

struct AttentionRow {
  int64_t seq = 0, window = 0;
  int threads = 0;
  double forward_s = 0, step_s = 0;  // medians: forward without gradient; forward + backward
  double forward_gflop = 0;          // counted (file comment); a step counts 3.5×
  double rss_mib = 0;
  double step_cpu_s = 0;  // process CPU seconds per forward + backward (mean of the timed steps)
  double cpu_share = 0;   // process CPU time / (wall time · threads) over the timed steps
  double peer_forward_s = 0, peer_step_s = 0, peer_rss_mib = 0;  // 0: the peer did not run
  std::string peer_note;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void run_peer(const AttentionArgs& a, AttentionRow& row, std::string* first_line) {
  std::string why;
  const std::string out = run_reference_peer(
      a.peer, "bench_attention.py",
      fmt::format("--batch {} --seq {} --heads {} --head-dim {} --window {} --threads {} "
                  "--repeats {}",
                  a.batch, row.seq, a.heads, a.head_dim, row.window, row.threads, a.repeats),
      false, &why);
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (out.empty() || j.is_discarded()) {
    row.peer_note = out.empty() ? why : "unreadable peer output";
    return;
  }
  if (first_line->empty()) *first_line = out.substr(0, out.find('\n'));
  if (j.contains("skipped")) {
    row.peer_note = "skipped: " + j["skipped"].get<std::string>();
    return;
  }
  row.peer_forward_s = j.value("forward_seconds", 0.0);
  row.peer_step_s = j.value("step_seconds", 0.0);
  row.peer_rss_mib = j.value("max_rss_mib", 0.0);
}

// Times the engine at one configuration; false when the output is not finite.
bool run_engine(const AttentionArgs& a, AttentionRow& row) {
  const int64_t B = a.batch, T = row.seq, H = a.heads, d = a.head_dim;
  const Shape shape{B, T, H, d};
  Graph inputs;
  Rng rng(1);
  auto random = [&](bool grad) {
    Tensor t = inputs.new_tensor(shape, DType::f32, grad);
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = float(rng.normal());
    return t;
  };
  const Tensor q = random(true), k = random(true), v = random(true), seed = random(false);
  ops::AttentionMask mask;
  mask.window = row.window;
  const double scale = 1 / std::sqrt(double(d));
  Graph g;
  std::vector<double> fwd, step;
  bool finite = true;
  double cpu = 0;
  for (int rep = 0; rep <= a.repeats; ++rep) {  // rep 0: the warm-up
    {
      NoGradScope no_grad(g);
      const auto t0 = Clock::now();
      const Tensor out = ops::attention(g, q, k, v, mask, scale);
      if (rep > 0) fwd.push_back(seconds_since(t0));
      double s = 0;
      for (int64_t i = 0; i < out.numel(); i += 97) s += out.ptr<float>()[i];
      finite = finite && std::isfinite(s);
      g.reset();
    }
    const double c0 = process_cpu_seconds();
    const auto t0 = Clock::now();
    const Tensor out = ops::attention(g, q, k, v, mask, scale);
    g.backward(out, seed.data);
    if (rep > 0) step.push_back(seconds_since(t0));
    if (rep > 0) cpu += process_cpu_seconds() - c0;
    g.reset();
  }
  double wall = 0;
  for (double s : step) wall += s;
  row.cpu_share = cpu / (wall * row.threads);
  row.step_cpu_s = cpu / double(a.repeats);
  row.forward_s = median(fwd);
  row.step_s = median(step);
  row.forward_gflop = attention_forward_flops(B, H, T, d, row.window) / 1e9;
  return finite;
}

std::string joined(const auto& v) { return fmt::format("{}", fmt::join(v, ",")); }

int bench_attention(AttentionArgs& a) {
  const int max_threads = omp_get_max_threads();
  for (int& t : a.threads)
    if (t == 0) t = max_threads;
  const std::string load_before = load_average();
  std::vector<std::pair<int, double>> peaks;  // (threads, GFLOP/s); per CPU-second below
  std::vector<double> cpu_peaks;
  for (int t : a.threads) {
    peaks.push_back({t, measure_fp32_peak_gflops(t)});
    cpu_peaks.push_back(measure_fp32_peak_gflops_per_cpu_second(t));
  }
  std::vector<AttentionRow> rows;
  std::string peer_line;
  for (int64_t seq : a.seq)
    for (int64_t window : a.window)
      for (int threads : a.threads) {
        AttentionRow row;
        row.seq = seq, row.window = window, row.threads = threads;
        fmt::print(stderr, "bench attention: T {} window {} threads {}: PyTorch peer\n", seq, window,
                   threads);
        run_peer(a, row, &peer_line);
        fmt::print(stderr, "bench attention: T {} window {} threads {}: engine\n", seq, window,
                   threads);
        omp_set_num_threads(threads);
        reset_peak_rss();
        const bool finite = run_engine(a, row);
        row.rss_mib = peak_rss_mib();
        omp_set_num_threads(max_threads);
        if (!finite) {
          fmt::print(stderr, "titans: attention output not finite at T {}\n", seq);
          return 2;
        }
        rows.push_back(row);
      }
  const std::string load_after = load_average();

  print_bench_heading("attention");
  fmt::print(
      "Command: `titans bench attention --batch {} --heads {} --head-dim {} --seq {} --window {} "
      "--threads {} --repeats {}{}`\n\n",
      a.batch, a.heads, a.head_dim, joined(a.seq), joined(a.window), joined(a.threads), a.repeats,
      a.peer.no_torch ? " --no-torch" : "");
  fmt::print("Load average (1, 5, 15 min): {} before, {} after.\n\n", load_before, load_after);
  std::vector<std::string> peak_text;
  for (size_t i = 0; i < peaks.size(); ++i)
    peak_text.push_back(fmt::format("{:.1f} GFLOP/s ({:.1f} per CPU-second) on {} thread(s)",
                                    peaks[i].second, cpu_peaks[i], peaks[i].first));
  fmt::print("Measured fp32 peak: {}.\n\n", fmt::join(peak_text, ", "));
  std::vector<std::vector<std::string>> table;
  for (const AttentionRow& r : rows) {
    double peak = 0, cpu_peak = 0;
    for (size_t i = 0; i < peaks.size(); ++i)
      if (peaks[i].first == r.threads) peak = peaks[i].second, cpu_peak = cpu_peaks[i];
    const double tokens = double(a.batch * r.seq), step_gflop = 3.5 * r.forward_gflop;
    const double fwd_gf = r.forward_gflop / r.forward_s, step_gf = step_gflop / r.step_s;
    const double cpu_gf = step_gflop / r.step_cpu_s;
    const bool peer = r.peer_step_s > 0;
    table.push_back(
        {std::to_string(r.seq), r.window ? std::to_string(r.window) : "causal",
         std::to_string(r.threads), fmt::format("{:.3f}", r.forward_s),
         fmt::format("{:.3f}", r.step_s), fmt::format("{:.0f}", tokens / r.step_s),
         fmt::format("{:.1f} ({:.0f}%)", fwd_gf, 100 * fwd_gf / peak),
         fmt::format("{:.1f} ({:.0f}%)", step_gf, 100 * step_gf / peak),
         fmt::format("{:.1f} ({:.0f}%)", cpu_gf, 100 * cpu_gf / cpu_peak),
         fmt::format("{:.0f}", r.rss_mib), fmt::format("{:.0f}%", 100 * r.cpu_share),
         peer ? fmt::format("{:.3f} / {:.3f}", r.peer_forward_s, r.peer_step_s) : r.peer_note,
         peer ? fmt::format("{:.1f}x / {:.1f}x", r.peer_forward_s / r.forward_s,
                            r.peer_step_s / r.step_s)
              : "n/a",
         peer ? fmt::format("{:.0f}", r.peer_rss_mib) : "n/a"});
  }
  print_markdown_table({"T", "window", "threads", "fwd s", "fwd+bwd s", "tokens/s (fwd+bwd)",
                        "fwd GFLOP/s (% peak)", "fwd+bwd GFLOP/s (% peak)",
                        "fwd+bwd GFLOP per CPU-s (% of its peak)", "peak RSS MiB", "CPU share",
                        "PyTorch fwd / fwd+bwd s", "speed-up fwd / fwd+bwd", "PyTorch RSS MiB"},
                       "rrrrrrrrrrrrrr", table);
  fmt::print(
      "\nGFLOP counted over visible (query, key) pairs only: forward 4·d·N_vis per head, backward "
      "2.5× that (src/bench/attention_flops.h). Medians of {} repeats after a warm-up; the "
      "forward is timed without gradient recording. Peak RSS: getrusage's ru_maxrss, reset before "
      "each configuration (inputs, their gradients and the output included). CPU share: the "
      "process's CPU time over wall time × threads during the timed forward + backward steps "
      "(below 100%: other processes had part of the cores); GFLOP per CPU-s divides by that CPU "
      "time instead of the wall time, and its % by the FMA peak timed the same way.\n",
      a.repeats);
  if (!peer_line.empty()) fmt::print("PyTorch peer, first line: {}\n", peer_line);
  return 0;
}

}  // namespace

void add_bench_attention_command(CLI::App& bench, int* exit_code) {
  auto args = std::make_shared<AttentionArgs>();
  AttentionArgs& o = *args;
  CLI::App* cmd = bench.add_subcommand(
      "attention", "block-wise attention forward and backward: GFLOP/s, % of peak, RSS, vs PyTorch");
  cmd->add_option("--seq", o.seq, "tokens per sequence, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(int64_t(1), int64_t(1) << 24))
      ->capture_default_str();
  cmd->add_option("--window", o.window, "sliding windows (0: full causal), comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(int64_t(0), int64_t(1) << 24))
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "thread counts (0: all cores), comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->add_option("--batch", o.batch, "sequences")->check(CLI::Range(1, 1 << 16))->capture_default_str();
  cmd->add_option("--heads", o.heads, "heads")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--head-dim", o.head_dim, "head size d")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  add_repeats_option(*cmd, &o.repeats);
  add_peer_options(*cmd, &args->peer, "bench_attention.py");
  cmd->callback([args, exit_code] { *exit_code = bench_attention(*args); });
}

}  // namespace titans::cli
