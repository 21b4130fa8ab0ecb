#include "bench/op_bench.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>

#include "autodiff/op_check.h"
#include "bench/peak.h"
#include "bench/stats.h"
#include "ops/ops.h"
#include "tensor/dnnl_matmul.h"
#include "tensor/gemm.h"
#include "util/rng.h"

namespace titans {

namespace {

using Clock = std::chrono::steady_clock;

struct Seconds {
  double best, median;
};

// The best and the median over `repeats` of the mean time of `inner` calls. Rates are reported from
// the best, like the peak they are divided by (this VM's speed wanders by ±20% between seconds); the
// median is printed beside them.
Seconds time_calls(int repeats, int inner, const std::function<void()>& f) {
  f();  // warm-up
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < inner; ++i) f();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / inner);
  }
  return Seconds{*std::min_element(t.begin(), t.end()), median(t)};
}

std::vector<float> random_vector(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = float(rng.normal());
  return v;
}

double torch_value(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

std::string ratio_note(double ours, double theirs, bool higher_is_better) {
  if (theirs <= 0) return "PyTorch: n/a";
  const double r = higher_is_better ? ours / theirs : theirs / ours;
  return fmt::format("{:.2f}x PyTorch", r);
}

}  // namespace

OpBenchReport run_op_bench(const OpBenchOptions& opt) {
  OpBenchReport rep;
  const int max_threads = omp_get_max_threads();
  nlohmann::json torch = nlohmann::json::object();
  if (!opt.torch_json.empty()) torch = nlohmann::json::parse(opt.torch_json, nullptr, false);
  if (torch.is_discarded()) torch = nlohmann::json::object();

  rep.peak1 = measure_fp32_peak_gflops(1);
  rep.peak2 = measure_fp32_peak_gflops(std::min(2, max_threads));
  rep.rows.push_back({"fp32 FMA peak", "1 thread", rep.peak1, "GFLOP/s", "measured (12 FMA chains)"});
  rep.rows.push_back({"fp32 FMA peak", "2 threads", rep.peak2, "GFLOP/s", "measured"});

  // 1. Per-op overhead: an 8-element add recorded for autodiff (and without recording).
  omp_set_num_threads(1);
  {
    Graph inputs;
    Tensor a = inputs.zeros(Shape{8}, DType::f32, true), b = inputs.zeros(Shape{8}, DType::f32, true);
    Graph g;
    const int inner = 10000;
    auto run = [&](bool record) {
      g.set_grad_enabled(record);
      const double s = time_calls(opt.repeats, 1, [&] {
        for (int i = 0; i < inner; ++i) ops::add(g, a, b);
        g.reset();
      }).best;
      return s / inner * 1e6;
    };
    const double rec = run(true), plain = run(false);
    const double t_rec = torch_value(torch, "add8_autograd_us");
    rep.rows.push_back({"add [8]+[8], recorded for autodiff", "1 thread", rec, "us/op",
                        fmt::format("target < 0.2; {}", ratio_note(rec, t_rec, false))});
    rep.rows.push_back({"add [8]+[8], no recording", "1 thread", plain, "us/op",
                        ratio_note(plain, torch_value(torch, "add8_us"), false)});
  }

  // 2. fp32 matmul 512³ on one thread: the engine's kernel, and oneDNN's for comparison.
  const int64_t n = 512;
  const std::vector<float> A = random_vector(size_t(n * n), 1), B = random_vector(size_t(n * n), 2);
  std::vector<float> C(size_t(n * n));
  const double flops512 = 2.0 * n * n * n;
  double fp32_gflops = 0;
  for (int threads : {1, 2}) {
    if (threads > max_threads) continue;
    omp_set_num_threads(threads);
    const double peak = threads == 1 ? rep.peak1 : rep.peak2;
    const Seconds s = time_calls(opt.repeats, 10, [&] {
      gemm(n, n, n, 1.0f, {A.data(), n, 1}, {B.data(), n, 1}, 0.0f, {C.data(), n, 1});
    });
    const double gf = flops512 / s.best / 1e9;
    if (threads == 1) fp32_gflops = gf;
    const double tg = torch_value(torch, threads == 1 ? "mm512_t1_gflops" : "mm512_t2_gflops");
    rep.rows.push_back({"fp32 matmul 512^3 (engine kernel)", fmt::format("{} thread(s)", threads), gf,
                        "GFLOP/s",
                        fmt::format("{:.0f}% of peak{}; median {:.1f}; {}", 100 * gf / peak,
                                    threads == 1 ? " (target >= 70%)" : "", flops512 / s.median / 1e9,
                                    ratio_note(gf, tg, true))});
    const double sd = time_calls(opt.repeats, 10, [&] {
      dnnl_matmul(DType::f32, 1, n, n, n, {A.data(), 0, n, 1}, {B.data(), 0, n, 1}, C.data(), n, 0,
                  false);
    }).best;
    rep.rows.push_back({"fp32 matmul 512^3 (oneDNN primitive)", fmt::format("{} thread(s)", threads),
                        flops512 / sd / 1e9, "GFLOP/s",
                        fmt::format("{:.0f}% of peak", 100 * flops512 / sd / 1e9 / peak)});
  }

  // 3. Batched 1024 × 64³ on two threads (parallel over the batch).
  {
    const int threads = std::min(2, max_threads);
    omp_set_num_threads(threads);
    const int64_t batch = 1024, m = 64;
    const std::vector<float> X = random_vector(size_t(batch * m * m), 3), Y = random_vector(size_t(batch * m * m), 4);
    std::vector<float> Z(size_t(batch * m * m));
    const Seconds s = time_calls(opt.repeats, 5, [&] {
      gemm_batched(batch, m, m, m, 1.0f, {X.data(), m, 1}, m * m, {Y.data(), m, 1}, m * m, 0.0f,
                   {Z.data(), m, 1}, m * m);
    });
    const double flops = 2.0 * batch * m * m * m;
    const double gf = flops / s.best / 1e9;
    rep.rows.push_back({"fp32 batched matmul 1024 x 64^3 (engine kernel)",
                        fmt::format("{} threads", threads), gf, "GFLOP/s",
                        fmt::format("{:.0f}% of peak (target >= 50%); median {:.1f}; {}",
                                    100 * gf / rep.peak2, flops / s.median / 1e9, ratio_note(gf, torch_value(torch, "bmm64_t2_gflops"), true))});
  }

  // 4. bf16 inputs (oneDNN; AMX where present) against the fp32 kernel, one thread. Where oneDNN
  // has no bf16 matmul for this CPU there is nothing to time: the row says so.
  if (const std::string impl = dnnl_matmul_impl(DType::bf16, n, n, n); impl == "unsupported") {
    rep.rows.push_back({"bf16 matmul 512^3 (oneDNN: unsupported)", "1 thread", 0.0, "n/a",
                        "not run: oneDNN has no bf16 matmul on this CPU"});
  } else {
    omp_set_num_threads(1);
    std::vector<bf16> Ah(A.size()), Bh(B.size());
    for (size_t i = 0; i < A.size(); ++i) Ah[i] = to_bf16(A[i]), Bh[i] = to_bf16(B[i]);
    const double s = time_calls(opt.repeats, 10, [&] {
      dnnl_matmul(DType::bf16, 1, n, n, n, {Ah.data(), 0, n, 1}, {Bh.data(), 0, n, 1}, C.data(), n,
                  0, false);
    }).best;
    const double gf = flops512 / s / 1e9;
    rep.rows.push_back({"bf16 matmul 512^3 (oneDNN: " + impl + ")",
                        "1 thread", gf, "GFLOP/s",
                        fmt::format("{:.2f}x the fp32 kernel (target >= 4x)", gf / fp32_gflops)});
  }

  // 5. The op table's perf mode: every registered op, every test case, float32.
  if (opt.op_table) {
    omp_set_num_threads(1);
    for (const OpInfo& info : OpRegistry::global().ops())
      for (const OpTest& t : info.tests()) {
        const OpTiming tm = time_op(t, std::max(3, opt.repeats / 2));
        rep.op_table.push_back({info.name, t.label, tm.forward_us, "us fwd",
                                fmt::format("{:.3f} us bwd", tm.backward_us)});
      }
  }
  omp_set_num_threads(max_threads);
  return rep;
}

}  // namespace titans
