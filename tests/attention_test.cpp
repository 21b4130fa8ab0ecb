// The attention kernel (src/ops/attention*.cpp) beyond the op table's small cases: what a KV cache
// relies on (queries processed a chunk at a time against the key prefix give the rows of the full
// sequence), the sliding window's meaning (only the last `window` keys matter), a backward that is
// bit-reproducible and splits heads across threads correctly, and no heap allocation per call.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "alloc_hook.h"
#include "autodiff/graph.h"
#include "bench/attention_flops.h"
#include "ops/attention.h"
#include "ops/ops.h"
#include "util/rng.h"

namespace titans {
namespace {

using ops::AttentionMask;

Tensor random_bthd(Graph& g, int64_t B, int64_t T, int64_t H, int64_t d, DType dt, uint64_t seed,
                   bool grad = false) {
  Rng rng(seed);
  Tensor t = g.new_tensor(Shape{B, T, H, d}, dt, grad);
  dispatch_float(dt, [&](auto zero) {
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<decltype(zero)>()[i] = decltype(zero)(rng.normal());
  });
  return t;
}

// Element (b, t, h, c) of a [B, T, H, d] tensor (any strides), as double.
double at(const Tensor& x, int64_t b, int64_t t, int64_t h, int64_t c, bool grad = false) {
  const int64_t off = b * x.strides[0] + t * x.strides[1] + h * x.strides[2] + c * x.strides[3];
  return dispatch_float(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    return double((grad ? x.gptr<T>() : x.ptr<T>())[off]);
  });
}

// max |a[rows] − b| / max(1, max |b|), where a's rows [t0, t0 + b's T) are compared with b.
double rows_diff(const Tensor& a, int64_t t0, const Tensor& b) {
  double m = 0, s = 1;
  for (int64_t bb = 0; bb < b.shape[0]; ++bb)
    for (int64_t t = 0; t < b.shape[1]; ++t)
      for (int64_t h = 0; h < b.shape[2]; ++h)
        for (int64_t c = 0; c < b.shape[3]; ++c) {
          const double x = at(a, bb, t0 + t, h, c), y = at(b, bb, t, h, c);
          m = std::max(m, std::fabs(x - y));
          s = std::max(s, std::fabs(y));
        }
  return m / s;
}

struct Qkv {
  Tensor q, k, v;
};

Qkv random_qkv(Graph& g, int64_t B, int64_t T, int64_t H, int64_t d, DType dt, bool grad = false) {
  return {random_bthd(g, B, T, H, d, dt, 1, grad), random_bthd(g, B, T, H, d, dt, 2, grad),
          random_bthd(g, B, T, H, d, dt, 3, grad)};
}

// Random q, k, v of one sequence and its attention under a causal mask with `window`; part()
// runs the op on a slice of the queries against a slice of the keys.
struct Sequence {
  Graph g;
  NoGradScope no_grad{g};
  int64_t T;
  Qkv x;
  AttentionMask mask;
  double scale;
  Tensor full;

  Sequence(int64_t B, int64_t T_, int64_t H, int64_t d, DType dt, int64_t window)
      : T(T_), x(random_qkv(g, B, T_, H, d, dt)), scale(1 / std::sqrt(double(d))) {
    mask.window = window;
    full = ops::attention(g, x.q, x.k, x.v, mask, scale);
  }
  Tensor part(int64_t q0, int64_t q1, int64_t k0, int64_t k1, const AttentionMask& m) {
    return ops::attention(g, ops::slice(g, x.q, 1, q0, q1), ops::slice(g, x.k, 1, k0, k1),
                          ops::slice(g, x.v, 1, k0, k1), m, scale);
  }
};

// A KV cache: the queries of rows [s, e) with q_pos0 = s against keys [0, e) are rows [s, e) of the
// full sequence. Every sum runs in the same order either way (key tiles start at key 0 in both,
// and a query's sums never mix with its neighbours'), so the rows are bit-identical.
void check_kv_cache_chunks(DType dt, int64_t window) {
  Sequence seq(2, 300, 2, 24, dt, window);
  for (int64_t chunk : {1, 37, 64, 100}) {
    for (int64_t s = 0; s < seq.T; s += chunk) {
      const int64_t e = std::min(seq.T, s + chunk);
      AttentionMask m = seq.mask;
      m.q_pos0 = s;
      ASSERT_EQ(rows_diff(seq.full, s, seq.part(s, e, 0, e, m)), 0.0)
          << "chunk " << chunk << " rows " << s << "…" << e;
    }
  }
}

TEST(Attention, KvCacheChunksEqualTheFullSequence) {
  check_kv_cache_chunks(DType::f32, 0);
  check_kv_cache_chunks(DType::f64, 0);
}

TEST(Attention, KvCacheChunksEqualTheFullSequenceWithAWindow) {
  check_kv_cache_chunks(DType::f32, 50);
  check_kv_cache_chunks(DType::f64, 50);
}

// Sliding window W: row i equals unmasked attention of query i over keys [i − W + 1, i] alone.
void check_window_is_last_keys(DType dt, int64_t window, double tol) {
  Sequence seq(1, 200, 2, 8, dt, window);
  AttentionMask all;
  all.causal = false;
  for (int64_t i = 0; i < seq.T; ++i) {
    const int64_t lo = std::max<int64_t>(0, i - window + 1);
    ASSERT_LE(rows_diff(seq.full, i, seq.part(i, i + 1, lo, i + 1, all)), tol)
        << "window " << window << " row " << i;
  }
}

TEST(Attention, SlidingWindowEqualsAttentionOverTheLastWindowKeys) {
  for (int64_t w : {1, 2, 37, 64, 65, 130}) {
    check_window_is_last_keys(DType::f64, w, 1e-13);
    check_window_is_last_keys(DType::f32, w, 2e-6);
  }
}

// Gradients of ⟨attention(q, k, v), R⟩ for a fixed random R, with `threads` OpenMP threads.
struct Grads {
  std::vector<double> dq, dk, dv;
};

Grads run_backward(DType dt, int threads, const AttentionMask& mask, int64_t H) {
  const int64_t B = 1, T = 200, d = 32;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Graph g;
  const Qkv x = random_qkv(g, B, T, H, d, dt, true);
  const Tensor out = ops::attention(g, x.q, x.k, x.v, mask, 1 / std::sqrt(double(d)));
  Tensor seed = random_bthd(g, B, T, H, d, dt, 4);
  g.backward(out, seed.data);
  omp_set_num_threads(saved);
  Grads r;
  for (auto [t, dst] : {std::pair{&x.q, &r.dq}, std::pair{&x.k, &r.dk}, std::pair{&x.v, &r.dv}})
    for (int64_t tt = 0; tt < T; ++tt)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t c = 0; c < d; ++c) dst->push_back(at(*t, 0, tt, h, c, true));
  return r;
}

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0, s = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    m = std::max(m, std::fabs(a[i] - b[i]));
    s = std::max(s, std::fabs(b[i]));
  }
  return m / s;
}

TEST(Attention, BackwardIsReproducibleAndAgreesAcrossThreadCounts) {
  // Three heads on two threads: two heads go to threads whole, the third has its key tiles split
  // between the threads (private dQ copies summed in thread order).
  for (const int64_t window : {0, 45}) {
    AttentionMask mask;
    mask.window = window;
    const Grads a = run_backward(DType::f64, 2, mask, 3), b = run_backward(DType::f64, 2, mask, 3);
    EXPECT_EQ(a.dq, b.dq);
    EXPECT_EQ(a.dk, b.dk);
    EXPECT_EQ(a.dv, b.dv);
    const Grads one = run_backward(DType::f64, 1, mask, 3);
    EXPECT_LT(max_rel(a.dq, one.dq), 1e-13);
    EXPECT_EQ(a.dk, one.dk);  // dK and dV sums never depend on the split
    EXPECT_EQ(a.dv, one.dv);
    const Grads f = run_backward(DType::f32, 2, mask, 3);
    EXPECT_LT(max_rel(f.dq, one.dq), 1e-5);
    EXPECT_LT(max_rel(f.dk, one.dk), 1e-5);
    EXPECT_LT(max_rel(f.dv, one.dv), 1e-5);
  }
}

template <class F>
long attention_allocations() {
  const int64_t B = 1, T = 300, H = 3, d = 40;
  Graph g;
  AttentionMask mask;
  mask.window = 70;
  mask.n_prefix = 5;
  const DType dt = DTypeOf<F>::value;
  for (int step = 0; step < 3; ++step) {  // warm-up: the arena and the tape reach their size
    if (step == 2) {
      g_allocations = 0;
      g_counting = true;
    }
    const Qkv x = random_qkv(g, B, T, H, d, dt, true);
    const Tensor out = ops::attention(g, x.q, x.k, x.v, mask, 0.2);
    g.backward(out);
    g_counting = false;
    g.reset();
  }
  return g_allocations.load();
}

TEST(Attention, MakesNoHeapAllocationAfterWarmUp) {
  EXPECT_EQ(attention_allocations<float>(), 0);
  EXPECT_EQ(attention_allocations<double>(), 0);
}

// The benchmark's FLOP count: its closed form against counting visible pairs one by one.
TEST(Attention, BenchmarkCountsVisiblePairs) {
  for (int64_t T : {1, 7, 64, 100})
    for (int64_t W : {0, 1, 5, 64, 99, 100, 150}) {
      int64_t n = 0;
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j <= i; ++j) n += W == 0 || i - j < W;
      EXPECT_EQ(attention_visible_pairs(T, W), double(n)) << "T " << T << " W " << W;
      EXPECT_EQ(attention_forward_flops(2, 3, T, 8, W), 4.0 * 8 * 6 * double(n));
    }
}

}  // namespace
}  // namespace titans
