#include "bench/memory_bench.h"

#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "autodiff/graph.h"
#include "bench/peak.h"
#include "bench/rss.h"
#include "bench/stats.h"
#include "memory/neural_memory.h"
#include "optim/params.h"
#include "util/rng.h"

namespace titans {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The peer's line for one configuration: tokens/s and a short note (its BLAS), or the reason.
void read_peer(const MemoryBenchOptions& opt, MemoryBenchRow& row) {
  if (!opt.peer) {
    row.torch_note = "skipped";
    return;
  }
  std::string why;
  const std::string line = opt.peer(row.chunk, row.threads, &why);
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (line.empty() || j.is_discarded() || !j.contains("tokens_per_s")) {
    row.torch_note = line.empty() ? why : "unreadable peer output";
    return;
  }
  row.torch_tokens_per_s = j["tokens_per_s"].get<double>();
  if (j.contains("max_rss_mib") && j["max_rss_mib"].is_number())
    row.torch_max_rss_mib = j["max_rss_mib"].get<double>();
  const std::string blas = j.value("blas", "");
  row.torch_note = blas.find("openblas") != std::string::npos ? "OpenBLAS" : "BLAS: " + blas;
}

}  // namespace

// FLOPs of one step, counted analytically: matmuls only, 2·m·n·k each (elementwise work —
// activations and their derivatives, norms, the K-tap convs, sigmoids, masks — is a few per cent
// and is not counted). B batch, T tokens, D d_model, H heads, d = d_h, E = H·d, b chunk,
// nc = ⌈T/b⌉ chunks (the last one zero-padded), W^l of shape (o_l, i_l), P = Σ_l o_l·i_l,
// P_1 = o_1·i_1, g = 1 + momentum + decay gates computed. Forward (a fresh state, no pending
// tokens):
//   projections   2·B·T·D·(4E + g·H)   W_Q, W_K, W_V, W_G on x; the gates' w·x
//   output        2·B·T·E·D            W_O
//   per chunk and (batch, head), B·H·nc times:
//     coefficients  2b² + 2b³          f = Γ e, G = Γ n (b×b triangular matmuls)
//     key path      2b·P               z^l = W^l a^{l−1} for the b keys
//     inner bwd     2b·(P − P_1)       δ^{l−1} = W^lᵀ δ^l (layers l ≥ 2)
//     reads         4b·P + 2b²·Σ_l (i_l + o_l)   h·W0ᵀ, h·S0ᵀ; scores h·aᵀ and scores·δ
//   per full chunk (nc, less one when T mod b ≠ 0), B·H times:
//     advance       4b·P               Σ_j G_bj δ_j a_jᵀ and Σ_j n_bj δ_j a_jᵀ
// Backward: each product C = A·B gives dA = dC·Bᵀ and dB = Aᵀ·dC, each as many FLOPs as the
// product, and every operand depends on x or a parameter: backward = 2 × forward, step = 3 ×
// forward. (The first chunk's S_0 = 0 needs no gradient: 2b·P per (batch, head) once, < 0.1% here,
// counted.)
double memory_forward_flops(const NeuralMemoryConfig& c, int64_t batch, int64_t seq) {
  const double B = double(batch), T = double(seq), D = double(c.d_model), H = double(c.n_heads);
  const double E = double(c.inner_dim()), b = double(c.chunk);
  const int64_t nc = (seq + c.chunk - 1) / c.chunk, full = seq % c.chunk == 0 ? nc : nc - 1;
  double P = 0, io = 0;
  for (auto [o, i] : c.layer_shapes()) P += double(o * i), io += double(o + i);
  const auto [o1, i1] = c.layer_shapes().front();
  const double P1 = double(o1 * i1);
  const double gates = 1.0 + (c.momentum ? 1 : 0) + (c.decay ? 1 : 0);
  const double dense = 2 * B * T * D * (4 * E + gates * H) + 2 * B * T * E * D;
  const double per_chunk =
      2 * b * b + 2 * b * b * b + 2 * b * P + 2 * b * (P - P1) + 4 * b * P + 2 * b * b * io;
  return dense + B * H * (double(nc) * per_chunk + double(full) * 4 * b * P);
}

double memory_step_flops(const NeuralMemoryConfig& c, int64_t batch, int64_t seq) {
  return 3 * memory_forward_flops(c, batch, seq);
}

// Median seconds of a forward with no gradient (one warm-up), fused kernel or op-composed path.
Result<double> time_inference(NeuralMemoryConfig c, bool fused, const Tensor& x, int repeats,
                              uint64_t seed) {
  c.fused_inference = fused;
  ParamStore store(DType::f32);
  Rng rng(seed);
  const NeuralMemory mem(c, store, rng, "mem.");
  Graph g;
  NoGradScope ng(g);
  std::vector<double> t;
  for (int step = 0; step <= repeats; ++step) {
    const auto t0 = Clock::now();
    Result<Tensor> out = mem.forward(g, x, nullptr);
    if (!out.ok()) return Status::error(out.message());
    if (step > 0) t.push_back(seconds_since(t0));
    g.reset();
  }
  return median(t);
}

NeuralMemoryConfig memory_bench_config(const MemoryBenchOptions& opt, int64_t chunk) {
  NeuralMemoryConfig c;
  c.d_model = opt.d_model;
  c.n_heads = opt.heads;
  c.depth = opt.depth;
  c.chunk = chunk;
  c.theta_init = opt.theta_init;
  return c;
}

Result<MemoryBenchReport> run_memory_bench(const MemoryBenchOptions& opt) {
  MemoryBenchReport rep;
  const int max_threads = omp_get_max_threads();
  std::map<int, double> peak;
  for (int t : opt.threads)
    if (!peak.count(t)) rep.peaks.push_back({t, peak[t] = measure_fp32_peak_gflops(t)});
  const int64_t B = opt.batch, T = opt.seq, D = opt.d_model;
  const auto say = [&](const std::string& s) {
    if (opt.progress) opt.progress(s);
  };

  for (int64_t chunk : opt.chunks) {
    const NeuralMemoryConfig c = memory_bench_config(opt, chunk);
    if (Status s = c.validate(); !s.ok()) return s;
    for (int threads : opt.threads) {
      MemoryBenchRow row;
      row.chunk = chunk;
      row.threads = threads;
      say(fmt::format("chunk {}, {} thread(s): PyTorch peer", chunk, threads));
      read_peer(opt, row);

      say(fmt::format("chunk {}, {} thread(s): engine, 1 warm-up + {} steps", chunk, threads,
                      opt.repeats));
      omp_set_num_threads(threads);
      reset_peak_rss();
      {
        ParamStore store(DType::f32);
        Rng rng(opt.seed);
        const NeuralMemory mem(c, store, rng, "mem.");
        Graph inputs;
        const Tensor x = inputs.new_tensor(Shape{B, T, D}, DType::f32, true);
        Rng data(opt.seed + 1);
        std::vector<float> proj(size_t(B * T * D));
        for (int64_t i = 0; i < x.numel(); ++i) x.ptr<float>()[i] = float(data.normal());
        // The loss ⟨out, R⟩ with R ~ N(0, 1) / √(B·T), as the peer's.
        for (float& r : proj) r = float(data.normal() / std::sqrt(double(B * T)));
        Graph g;
        std::vector<double> total, fwd, bwd;
        for (int step = 0; step <= opt.repeats; ++step) {  // step 0: the warm-up
          const auto t0 = Clock::now();
          store.zero_grad();
          std::memset(x.grad, 0, size_t(x.numel()) * sizeof(float));
          Result<Tensor> out = mem.forward(g, x, nullptr);
          if (!out.ok()) return Status::error(fmt::format("chunk {}: {}", chunk, out.message()));
          const double f = seconds_since(t0);
          const auto t1 = Clock::now();
          g.backward(*out, proj.data());
          const double bw = seconds_since(t1);
          g.reset();
          if (step == 0) continue;
          total.push_back(seconds_since(t0));
          fwd.push_back(f);
          bwd.push_back(bw);
        }
        for (bool fused : {false, true}) {
          say(fmt::format("chunk {}, {} thread(s): forward only, {}", chunk, threads,
                          fused ? "fused" : "composed"));
          Result<double> s = time_inference(c, fused, x, opt.repeats, opt.seed);
          if (!s.ok()) return Status::error(fmt::format("chunk {}: {}", chunk, s.message()));
          (fused ? row.fused_forward_seconds : row.composed_forward_seconds) = *s;
        }
        row.seconds = median(total);
        row.forward_seconds = median(fwd);
        row.backward_seconds = median(bwd);
      }
      row.max_rss_mib = peak_rss_mib();
      row.tokens_per_s = double(B * T) / row.seconds;
      row.gflop = memory_step_flops(c, B, T) / 1e9;
      row.gflops = row.gflop / row.seconds;
      row.peak_percent = 100 * row.gflops / peak[threads];
      if (row.torch_tokens_per_s > 0) row.ratio = row.tokens_per_s / row.torch_tokens_per_s;
      say(fmt::format(
          "chunk {}, {} thread(s): {:.0f} tokens/s ({:.3f} s/step), PyTorch {:.0f} tokens/s", chunk,
          threads, row.tokens_per_s, row.seconds, row.torch_tokens_per_s));
      rep.rows.push_back(row);
    }
  }
  omp_set_num_threads(max_threads);
  return rep;
}

}  // namespace titans
