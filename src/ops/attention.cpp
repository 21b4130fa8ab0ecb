// Block-wise online-softmax attention, forward (FlashAttention-2, Dao 2023, Algorithm 1): for each
// (batch, head, block of kBq queries) the key tiles are visited in order, tiles the mask hides are
// skipped, and the output is accumulated with a running max m and sum l per query,
//   m' = max(m, max_j s_j),  l' = e^(m − m')·l + Σ_j e^(s_j − m'),  O' = e^(m − m')·O + P·V,
// so no score matrix larger than one kBk×kBq tile exists. The per-row logsumexp m + log l is saved
// for the backward (attention_backward.cpp), which recomputes the tiles from it.
#include <omp.h>

#include <cmath>
#include <limits>

#include "ops/attention_kernel.h"
#include "ops/attention_tile.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "ops/vmath.h"
#include "util/parallel.h"

namespace titans::ops {

namespace attn {

int attention_threads(double flops) {
  constexpr double kParallelMinFlops = 1 << 20;  // a few µs of work: less than a region costs
  return flops >= kParallelMinFlops && can_parallelize() ? omp_get_max_threads() : 1;
}

namespace {

int64_t round_up16(int64_t n) { return (n + 15) / 16 * 16; }

// Per-thread working set of the forward: Qᵀ tile, score/probability tile, output accumulator, and
// five per-query vectors.
int64_t forward_scratch(int64_t d) { return d * kBq + kBk * kBq + kBq * round_up16(d) + 5 * kBq; }

// One key tile of the online softmax: st holds the tile's scores Sᵀ[nk][kBq] on entry and
// P = e^(S − m') on exit; m and l are updated and corr receives e^(m − m') per query. A query that
// has seen no visible key yet keeps m = −inf; its exponents use 0 instead of m' so that no
// −inf − (−inf) appears, which makes its P and corr exactly 0.
template <class T>
void softmax_tile(int64_t nk, T* st, T* m, T* l, T* mu, T* corr, T* part) {
  const T ninf = -std::numeric_limits<T>::infinity();
#pragma omp simd
  for (int64_t i = 0; i < kBq; ++i) part[i] = ninf;
  for (int64_t j = 0; j < nk; ++j) {
    const T* row = st + j * kBq;
#pragma omp simd
    for (int64_t i = 0; i < kBq; ++i) part[i] = row[i] > part[i] ? row[i] : part[i];
  }
#pragma omp simd
  for (int64_t i = 0; i < kBq; ++i) {
    const T mn = part[i] > m[i] ? part[i] : m[i];
    mu[i] = mn == ninf ? T(0) : mn;
    corr[i] = vmath::exp(m[i] - mu[i]);
    m[i] = mn;
    part[i] = 0;
  }
  for (int64_t j = 0; j < nk; ++j) {  // explicit vectors: GCC keeps a loop over vmath::exp scalar
    T* row = st + j * kBq;
    vmath::for_each_lane<T, true>(0, kBq, [=](auto lane, int64_t i) {
      using V = decltype(lane);
      const V p = vmath::exp(vmath::get<V>(row + i) - vmath::get<V>(mu + i));
      vmath::put(row + i, p);
      vmath::put(part + i, vmath::get<V>(part + i) + p);
    });
  }
#pragma omp simd
  for (int64_t i = 0; i < kBq; ++i) l[i] = l[i] * corr[i] + part[i];
}

template <class T>
void forward(Graph& g, const Geometry& G, const Tensor& q, const Tensor& k, const Tensor& v,
             T* out, T* lse) {
  const int64_t d = G.d, dp = round_up16(d), BH = G.B * G.H, items = BH * G.nqb;
  const int nt = attention_threads(4.0 * double(BH) * double(G.Tq) * double(G.Tk) * double(d));
  const int64_t per_thread = forward_scratch(d);
  T* scratch = g.scratch<T>(nt * per_thread);
  const Rows<const T> Q(q.ptr<T>(), q), K(k.ptr<T>(), k), V(v.ptr<T>(), v);
  const T scale = T(G.scale);
  const Geometry* geo = &G;
  // Thread t takes items t, t + nt, …: neighbouring query blocks of a causal mask differ in work,
  // so interleaving balances the threads where contiguous ranges would not.
  parallel_for(nt, nt > 1, [=](int64_t t0, int64_t t1) {
    const Geometry& G = *geo;
    const T ninf = -std::numeric_limits<T>::infinity();
    for (int64_t t = t0; t < t1; ++t) {
      T* qt = scratch + t * per_thread;
      T* st = qt + d * kBq;
      T* acc = st + kBk * kBq;
      T* m = acc + kBq * dp;
      T* l = m + kBq;
      T* mu = l + kBq;
      T* corr = mu + kBq;
      T* part = corr + kBq;
      for (int64_t item = t; item < items; item += nt) {
        const int64_t bh = item / G.nqb, i0 = (item % G.nqb) * kBq;
        const int64_t nr = std::min(kBq, G.Tq - i0);
        const T* qh = Q.head(bh) + i0 * Q.st;
        transpose_block(qh, Q.st, nr, d, qt);
        for (int64_t i = 0; i < kBq; ++i) m[i] = ninf, l[i] = 0;
        std::fill(acc, acc + kBq * dp, T(0));
        G.for_each_key_tile(i0, nr, [&](int64_t kt) {
          const KeyTile tile = G.key_tile(kt);
          const Visibility vis = G.classify(i0, nr, tile);
          if (vis == Visibility::none) return;
          const T* kh = K.head(bh) + tile.k0 * K.st;
          const T* vh = V.head(bh) + tile.k0 * V.st;
          attn::tile_mm(tile.nk, kBq, d, scale, kh, K.st, 1, qt, kBq, st, kBq, false);  // Sᵀ = K Qᵀ
          if (vis == Visibility::partial) G.apply_mask(i0, tile, st);
          softmax_tile(tile.nk, st, m, l, mu, corr, part);
          for (int64_t i = 0; i < kBq; ++i)
            if (corr[i] != T(1)) {
              T* row = acc + i * dp;
              const T c = corr[i];
#pragma omp simd
              for (int64_t e = 0; e < d; ++e) row[e] *= c;
            }
          attn::tile_mm(kBq, d, tile.nk, T(1), st, 1, kBq, vh, V.st, acc, dp, true);  // O += P V
        });
        const int64_t b = bh / G.H, h = bh % G.H;
        T* lse_row = lse + bh * G.tq_pad + i0;
        for (int64_t i = 0; i < kBq; ++i) {
          const bool seen = i < nr && m[i] != ninf;
          lse_row[i] = seen ? m[i] + std::log(l[i]) : std::numeric_limits<T>::infinity();
          if (i >= nr) continue;
          T* o = out + ((b * G.Tq + i0 + i) * G.H + h) * d;
          const T inv = seen ? T(1) / l[i] : T(0);
          const T* a = acc + i * dp;
#pragma omp simd
          for (int64_t e = 0; e < d; ++e) o[e] = a[e] * inv;
        }
      }
    }
  });
}

}  // namespace
}  // namespace attn

namespace {

void check_args(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMask& m) {
  TITANS_CHECK(q.ndim() == 4 && k.ndim() == 4 && v.ndim() == 4,
               "attention: q, k, v must be [B, T, H, d]");
  TITANS_CHECK(q.dtype == k.dtype && q.dtype == v.dtype &&
                   (q.dtype == DType::f32 || q.dtype == DType::f64),
               "attention: q, k, v must all be f32 or all f64");
  TITANS_CHECK(k.shape == v.shape, "attention: k and v shapes differ");
  TITANS_CHECK(q.shape[0] == k.shape[0] && q.shape[2] == k.shape[2] && q.shape[3] == k.shape[3],
               "attention: q and k differ in batch, heads or head size");
  TITANS_CHECK(q.shape[3] >= 1 && q.shape[3] <= 256, "attention: head size must be in [1, 256]");
  TITANS_CHECK(m.n_blocks >= 1 && m.n_prefix >= 0 && m.n_prefix <= k.shape[1] && m.window >= 0,
               "attention: invalid mask");
  TITANS_CHECK((k.shape[1] - m.n_prefix) % m.n_blocks == 0,
               "attention: keys after the prefix must form n_blocks equal blocks");
}

// The kernels read rows as vectors: a tensor whose last axis is strided is copied first (through
// the contiguous op, which passes the gradient back).
Tensor unit_last_stride(Graph& g, const Tensor& x) {
  return x.shape[3] == 1 || x.strides[3] == 1 ? x : contiguous(g, x);
}

}  // namespace

Tensor attention(Graph& g, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                 const AttentionMask& mask, double scale) {
  check_args(q_in, k_in, v_in, mask);
  const Tensor q = unit_last_stride(g, q_in), k = unit_last_stride(g, k_in),
               v = unit_last_stride(g, v_in);
  const attn::Geometry geo(q.shape, k.shape, mask, scale);
  const bool grad = g.needs_grad({&q, &k, &v});
  Tensor out = g.new_tensor(q.shape, q.dtype, grad);
  const void* lse = nullptr;
  dispatch_float(q.dtype, [&](auto zero) {
    using T = decltype(zero);
    T* l = g.scratch<T>(q.shape[0] * q.shape[2] * geo.tq_pad);
    attn::forward<T>(g, geo, q, k, v, out.ptr<T>(), l);
    lse = l;
  });
  if (grad) g.record<AttentionOp>(out, {q, k, v}, AttentionOp::Attrs{mask, scale, lse});
  return out;
}

Status register_attention_ops(OpRegistry& r) { return r.add<AttentionOp>(); }

}  // namespace titans::ops
