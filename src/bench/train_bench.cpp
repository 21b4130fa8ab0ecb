#include "bench/train_bench.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "autodiff/graph.h"
#include "bench/attention_flops.h"
#include "bench/memory_bench.h"
#include "bench/peak.h"
#include "bench/rss.h"
#include "bench/stats.h"
#include "models/model.h"
#include "ops/ops.h"
#include "optim/adamw.h"
#include "util/rng.h"

namespace titans {

// The counted FLOPs: matmuls only, 2·m·n·k each; elementwise work (norms, activations, RoPE,
// softmax exponentials, cross-entropy, the optimiser) is not counted. N = B·T tokens, d = d_model,
// H heads of d_h, E = H·d_h, F = ffn_dim, V = vocab, N_p persistent tokens, W window, S segment;
// lin(n, i, o) = 2·n·i·o; attn(pairs) = 4·d_h·pairs·B·H (QKᵀ and PV over visible pairs only,
// bench/attention_flops.h). Per layer:
//   every architecture  FFN 3·lin(N, d, F)
//   transformer         4·lin(N, d, E) + attn(T(T+1)/2)
//   swa                 4·lin(N, d, E) + attn(visible(T, W))
//   titans_lmm          mem(T + N_p)                      (P ‖ n through the memory)
//   titans_mal          mem(T + N_p) + 4·lin(N, d, E) + attn(visible(T, W))
//   titans_mag          mem(T + N_p) + 4·lin(N, d, E) + 2·lin(N_p, d, E)
//                       + attn(visible(T, W) + T·N_p) + lin(N, d, d) (gate w_o)
//   titans_mac          retrieval: 3·lin(N, d, E) (memory W_Q, W_G, W_O) + 2·N·H·P (the MLP read)
//                       attention: 5·lin(N, d, E) (q of n; k, v of h and of n) + lin(N, E, d) (w_o)
//                         + per segment 2·lin(N_p, d, E) + attn(Σ_segments s·N_p + s(s+1))
//                       mem(T) (the memory learns from y) + lin(N, d, d) (gate w_o)
//   infini              4·lin(N, d, E) + attn(Σ_segments s(s+1)/2)
//                       + compressive memory 2·lin(N·H, d_h, d_h) + 2·N·H·d_h
//                         (read σ(Q)M and σ(Q)z; write σ(K)ᵀV and z), once more for the delta
//                         rule's read
// and once the head lin(N, d, V). mem(n) is memory_forward_flops (bench/memory_bench.cpp: the
// memory's projections, its chunked inner loop, its output path), P = Σ_l o_l·i_l of the memory
// MLP. A step is forward + backward = 3 × forward: every product C = A·B has a dA and a dB of its
// size. Not counted: the backward's recomputations (attention scores, the memory's chunks), MAC's
// second projection of n by the memory's W_Q for the conv history (a duplicate, not model
// arithmetic).
ModelFlops model_forward_flops(const ModelConfig& c, int64_t batch, int64_t seq) {
  const double B = double(batch), T = double(seq), N = B * T, d = double(c.d_model);
  const double H = double(c.n_heads), dh = double(c.dh()), E = double(c.inner_dim());
  const double Np = double(c.n_persistent > 0 ? c.n_persistent : 0);
  const auto lin = [](double n, double i, double o) { return 2 * n * i * o; };
  const auto attn = [&](double pairs) { return 4 * dh * pairs * B * H; };
  // Σ over the segments of f(segment length): full segments of S, the last one possibly shorter.
  const auto per_segment = [&](auto f) {
    double s = 0;
    for (int64_t t = 0; t < seq; t += c.segment) s += f(double(std::min(c.segment, seq - t)));
    return s;
  };
  const NeuralMemoryConfig mc = c.memory_config();
  double P = 0;
  for (auto [o, i] : mc.layer_shapes()) P += double(o * i);
  const auto mem = [&](int64_t tokens) { return memory_forward_flops(mc, batch, tokens); };
  const int64_t np = int64_t(Np);

  ModelFlops f;  // per layer first
  f.dense = 3 * lin(N, d, double(c.ffn_dim()));
  const double proj = 4 * lin(N, d, E);
  const double window_pairs = attention_visible_pairs(seq, c.window);
  if (c.arch == "transformer") {
    f.dense += proj;
    f.attention = attn(attention_visible_pairs(seq, 0));
  } else if (c.arch == "swa") {
    f.dense += proj;
    f.attention = attn(window_pairs);
  } else if (c.arch == "titans_lmm") {
    f.memory = mem(seq + np);
  } else if (c.arch == "titans_mal") {
    f.memory = mem(seq + np);
    f.dense += proj;
    f.attention = attn(window_pairs);
  } else if (c.arch == "titans_mag") {
    f.memory = mem(seq + np);
    f.dense += proj + 2 * lin(Np, d, E) + lin(N, d, d);
    f.attention = attn(window_pairs + T * Np);
  } else if (c.arch == "titans_mac") {
    f.memory = 3 * lin(N, d, E) + 2 * N * H * P + mem(seq);
    f.dense += 5 * lin(N, d, E) + lin(N, E, d) + lin(N, d, d) +
               per_segment([&](double) { return 2 * lin(Np, d, E); });
    f.attention = attn(per_segment([&](double s) { return s * Np + s * (s + 1); }));
  } else if (c.arch == "infini") {
    f.dense += proj;
    f.attention = attn(per_segment([](double s) { return s * (s + 1) / 2; }));
    const double pass = lin(N * H, dh, dh) + 2 * N * H * dh;  // one read, or the write plus z
    f.memory = (c.infini_update == InfiniUpdate::delta ? 3 : 2) * pass;
  }
  const double L = double(c.n_layers);
  f.dense *= L, f.attention *= L, f.memory *= L;
  f.head = lin(N, d, double(c.vocab_size));
  return f;
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void read_peer(const TrainBenchOptions& opt, const ModelConfig& cfg, TrainBenchRow& row) {
  if (!opt.peer) {
    row.torch_note = "skipped";
    return;
  }
  std::string why;
  const std::string line = opt.peer(cfg, row.threads, &why);
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (line.empty() || j.is_discarded() || !j.contains("tokens_per_s")) {
    row.torch_note = line.empty() ? why : "unreadable peer output";
    return;
  }
  row.torch_tokens_per_s = j["tokens_per_s"].get<double>();
  row.torch_seconds = j.value("seconds", 0.0);
  row.torch_max_rss_mib = j.value("max_rss_mib", 0.0);
  row.torch_cpu_seconds = j.value("cpu_seconds", 0.0);
  const std::string blas = j.value("blas", "");
  row.torch_note = blas.find("openblas") != std::string::npos ? "OpenBLAS" : "BLAS: " + blas;
}

// The engine's side of one row: warm-up steps, then `repeats` timed steps. Each step is the
// trainer's: zero the gradients, forward, cross-entropy over the B·(T − 1) next-token targets (the
// last position of each row ignored), backward from the loss, AdamW.
Status run_engine(const TrainBenchOptions& opt, const ModelConfig& cfg, TrainBenchRow& row) {
  Result<std::unique_ptr<Model>> created = create_model(cfg, opt.seed);
  if (!created.ok()) return created.status();
  Model& model = **created;
  row.params = model.params().numel();
  const int64_t B = opt.batch, T = opt.seq;
  std::vector<int32_t> ids(size_t(B * T)), targets(size_t(B * T));
  Rng data(opt.seed + 1);
  for (int32_t& id : ids) id = int32_t(data.below(uint64_t(cfg.vocab_size)));
  for (int64_t i = 0; i < B * T; ++i)
    targets[size_t(i)] = (i + 1) % T == 0 ? -1 : ids[size_t(i + 1)];
  const Tensor ids_t = wrap(ids.data(), Shape{B, T}, DType::i32);
  const Tensor targets_t = wrap(targets.data(), Shape{B * T}, DType::i32);
  AdamW adamw(model.params(), AdamWConfig{});
  Graph g;
  std::vector<double> total, fwd, bwd, upd, cpu;
  double wall = 0;
  for (int step = 0; step < opt.warmup + opt.repeats; ++step) {
    const double c0 = process_cpu_seconds();
    const auto t0 = Clock::now();
    g.reset();
    model.params().zero_grad();
    Result<Tensor> logits = model.forward(g, ids_t, nullptr);
    if (!logits.ok()) return Status::error(cfg.arch + ": " + logits.message());
    const Tensor loss =
        ops::cross_entropy(g, ops::reshape(g, *logits, Shape{B * T, cfg.vocab_size}), targets_t);
    const double f = seconds_since(t0);
    const auto t1 = Clock::now();
    g.backward(loss);
    const double b = seconds_since(t1);
    const auto t2 = Clock::now();
    adamw.step(opt.lr);
    const double u = seconds_since(t2);
    row.loss = double(loss.ptr<float>()[0]);
    if (!std::isfinite(row.loss))
      return Status::error(fmt::format("{}: the loss is not finite at step {}", cfg.arch, step));
    if (step < opt.warmup) continue;
    total.push_back(seconds_since(t0));
    cpu.push_back(process_cpu_seconds() - c0);
    wall += total.back();
    fwd.push_back(f), bwd.push_back(b), upd.push_back(u);
  }
  row.seconds = median(total);
  row.forward_seconds = median(fwd);
  row.backward_seconds = median(bwd);
  row.optimizer_seconds = median(upd);
  row.step_cpu_seconds = median(cpu);
  double cpu_total = 0;
  for (double c : cpu) cpu_total += c;
  row.cpu_share = cpu_total / (wall * row.threads);
  return {};
}

}  // namespace

Result<TrainBenchReport> run_train_bench(const TrainBenchOptions& opt) {
  TrainBenchReport rep;
  const int max_threads = omp_get_max_threads();
  for (int t : opt.threads) {
    bool seen = false;
    for (const auto& p : rep.peaks) seen = seen || p.threads == t;
    if (!seen)
      rep.peaks.push_back(
          {t, measure_fp32_peak_gflops(t), measure_fp32_peak_gflops_per_cpu_second(t)});
  }
  const auto say = [&](const std::string& s) {
    if (opt.progress) opt.progress(s);
  };
  for (const ModelConfig& cfg : opt.configs) {
    for (int threads : opt.threads) {
      TrainBenchRow row;
      row.arch = cfg.arch;
      row.threads = threads;
      say(fmt::format("{}, {} thread(s): PyTorch peer", cfg.arch, threads));
      read_peer(opt, cfg, row);
      say(fmt::format("{}, {} thread(s): engine, {} warm-up + {} steps", cfg.arch, threads,
                      opt.warmup, opt.repeats));
      omp_set_num_threads(threads);
      reset_peak_rss();
      const Status s = run_engine(opt, cfg, row);
      omp_set_num_threads(max_threads);
      if (!s.ok()) {
        row.error = s.message();
        say(fmt::format("{}, {} thread(s): {}", cfg.arch, threads, row.error));
        rep.rows.push_back(row);
        continue;
      }
      row.max_rss_mib = peak_rss_mib();
      row.tokens_per_s = double(opt.batch * opt.seq) / row.seconds;
      row.gflop = model_step_flops(cfg, opt.batch, opt.seq) / 1e9;
      row.gflops = row.gflop / row.seconds;
      for (const auto& p : rep.peaks)
        if (p.threads == threads) {
          row.peak_percent = 100 * row.gflops / p.gflops;
          row.cpu_peak_percent = 100 * row.gflop / row.step_cpu_seconds / p.gflops_per_cpu_second;
        }
      if (row.torch_tokens_per_s > 0) row.ratio = row.tokens_per_s / row.torch_tokens_per_s;
      if (row.torch_cpu_seconds > 0) row.cpu_ratio = row.torch_cpu_seconds / row.step_cpu_seconds;
      say(fmt::format("{}, {} thread(s): {:.0f} tokens/s ({:.3f} s/step), PyTorch {:.0f} tokens/s",
                      cfg.arch, threads, row.tokens_per_s, row.seconds, row.torch_tokens_per_s));
      rep.rows.push_back(row);
    }
  }
  return rep;
}

}  // namespace titans
