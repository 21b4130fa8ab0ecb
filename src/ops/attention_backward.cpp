// Attention backward (FlashAttention-2, Dao 2023, Algorithm 2). The probabilities are recomputed
// tile by tile from q, k and the saved logsumexp, P = e^(scale·q kᵀ − lse), and with
// D = rowsum(dO ⊙ O):
//   dV += Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP − D),  dK += scale·dSᵀ Q,  dQ += scale·dS K.
// Work is split by key tile: the task owning key tile j loops over the query blocks that see it and
// owns dK, dV of those keys outright. dQ rows receive a term from every key tile, so:
//   - heads are dealt to threads whole while at least one head per thread is left; a thread then
//     accumulates its heads' dQ in key-tile order, alone;
//   - the remaining heads (fewer than the threads) have their key tiles dealt round-robin, each
//     thread accumulating into a private dQ copy; the copies are summed in thread order.
// Every sum is thus in a fixed order for a given thread count (no atomics): bit-reproducible.
// dQ is added into q's gradient after the parallel part, so q may share storage with k or v.
#include <cmath>

#include "ops/attention_kernel.h"
#include "ops/attention_tile.h"
#include "ops/vmath.h"
#include "util/parallel.h"

namespace titans::ops {

namespace attn {
namespace {

int64_t round_up16(int64_t n) { return (n + 15) / 16 * 16; }

template <class T>
struct BackwardArgs {
  const Geometry* G;
  Rows<const T> Q, K, V, dO;
  Rows<T> dK, dV;  // base null: no gradient wanted
  const T* lse;
  const T* qt_all;   // [BH][nqb][d][kBq]: Qᵀ per query block, zero beyond the last query
  const T* dot_all;  // the same for dO
  const T* D;        // [BH][tq_pad]: rowsum(dO ⊙ O), 0 beyond the last query
  bool need_dq;
};

// Pass 0, per (head, query block): Qᵀ and dOᵀ tiles (the B operand of the Sᵀ and dPᵀ products)
// and D.
template <class T>
void prepare_block(const BackwardArgs<T>& a, const Rows<const T>& O, int64_t bh, int64_t qb,
                   T* qt, T* dot, T* D) {
  const Geometry& G = *a.G;
  const int64_t d = G.d, i0 = qb * kBq, nr = std::min(kBq, G.Tq - i0);
  const T* qh = a.Q.head(bh) + i0 * a.Q.st;
  const T* gh = a.dO.head(bh) + i0 * a.dO.st;
  const T* oh = O.head(bh) + i0 * O.st;
  transpose_block(qh, a.Q.st, nr, d, qt);
  transpose_block(gh, a.dO.st, nr, d, dot);
  for (int64_t i = 0; i < kBq; ++i) {
    T s = 0;
    if (i < nr) {
      const T* dy = gh + i * a.dO.st;
      const T* y = oh + i * O.st;
#pragma omp simd reduction(+ : s)
      for (int64_t c = 0; c < d; ++c) s += dy[c] * y[c];
    }
    D[i] = s;
  }
}

// One key tile of one head against every query block that sees it. st, dst: kBk×kBq tiles;
// dk, dv: kBk×dp accumulators; dq: this head's [tq_pad][dp] accumulator (or a private copy).
template <class T>
void key_tile_backward(const BackwardArgs<T>& a, int64_t bh, int64_t kt, T* st, T* dst, T* dk,
                       T* dv, T* dq) {
  const Geometry& G = *a.G;
  const int64_t d = G.d, dp = round_up16(d);
  const T scale = T(G.scale);
  const KeyTile tile = G.key_tile(kt);
  const int64_t nk = tile.nk;
  const T* kh = a.K.head(bh) + tile.k0 * a.K.st;
  const T* vh = a.V.head(bh) + tile.k0 * a.V.st;
  std::fill(dk, dk + nk * dp, T(0));
  std::fill(dv, dv + nk * dp, T(0));
  bool any = false;
  const auto [qb_first, qb_end] = G.query_blocks(tile);
  for (int64_t qb = qb_first; qb < qb_end; ++qb) {
    const int64_t i0 = qb * kBq, nr = std::min(kBq, G.Tq - i0);
    const Visibility vis = G.classify(i0, nr, tile);
    if (vis == Visibility::none) continue;
    any = true;
    const int64_t blk = bh * G.nqb + qb;
    const T* lse = a.lse + bh * G.tq_pad + i0;
    const T* D = a.D + bh * G.tq_pad + i0;
    tile_mm(nk, kBq, d, scale, kh, a.K.st, 1, a.qt_all + blk * d * kBq, kBq, st, kBq, false);
    if (vis == Visibility::partial) G.apply_mask(i0, tile, st);
    for (int64_t j = 0; j < nk; ++j) {  // Pᵀ; lse = +inf (no visible key, padding) gives 0
      T* row = st + j * kBq;
      vmath::for_each_lane<T, true>(0, kBq, [=](auto lane, int64_t i) {
        using V = decltype(lane);
        vmath::put(row + i, vmath::exp(vmath::get<V>(row + i) - vmath::get<V>(lse + i)));
      });
    }
    if (a.dV.base)
      tile_mm(nk, d, nr, T(1), st, kBq, 1, a.dO.head(bh) + i0 * a.dO.st, a.dO.st, dv, dp, true);
    if (!a.dK.base && !a.need_dq) continue;
    tile_mm(nk, kBq, d, T(1), vh, a.V.st, 1, a.dot_all + blk * d * kBq, kBq, dst, kBq, false);
    for (int64_t j = 0; j < nk; ++j) {  // dSᵀ = Pᵀ ⊙ (dPᵀ − D)
      T* ds = dst + j * kBq;
      const T* p = st + j * kBq;
#pragma omp simd
      for (int64_t i = 0; i < kBq; ++i) ds[i] = p[i] * (ds[i] - D[i]);
    }
    if (a.dK.base)
      tile_mm(nk, d, nr, scale, dst, kBq, 1, a.Q.head(bh) + i0 * a.Q.st, a.Q.st, dk, dp, true);
    if (a.need_dq) tile_mm(nr, d, nk, scale, dst, 1, kBq, kh, a.K.st, dq + i0 * dp, dp, true);
  }
  if (!any) return;
  for (const auto& [acc, rows] : {std::pair{dk, a.dK}, std::pair{dv, a.dV}}) {
    if (!rows.base) continue;
    T* g = rows.head(bh) + tile.k0 * rows.st;
    for (int64_t j = 0; j < nk; ++j) {
      T* gr = g + j * rows.st;
      const T* ar = acc + j * dp;
#pragma omp simd
      for (int64_t c = 0; c < d; ++c) gr[c] += ar[c];
    }
  }
}

template <class T>
void backward(Graph& g, const Geometry& G, const Tensor& q, const Tensor& k, const Tensor& v,
              const Tensor& out, const T* lse) {
  const int64_t d = G.d, dp = round_up16(d), BH = G.B * G.H, nqb = G.nqb;
  const int nt = attention_threads(10.0 * double(BH) * double(G.Tq) * double(G.Tk) * double(d));
  const bool need_dq = q.grad != nullptr;
  T* qt_all = g.scratch<T>(BH * nqb * d * kBq);
  T* dot_all = g.scratch<T>(BH * nqb * d * kBq);
  T* D = g.scratch<T>(BH * G.tq_pad);
  const BackwardArgs<T> a{&G,
                          Rows<const T>(q.ptr<T>(), q),
                          Rows<const T>(k.ptr<T>(), k),
                          Rows<const T>(v.ptr<T>(), v),
                          Rows<const T>(out.gptr<T>(), out),
                          Rows<T>(k.gptr<T>(), k),
                          Rows<T>(v.gptr<T>(), v),
                          lse,
                          qt_all,
                          dot_all,
                          D,
                          need_dq};
  const Rows<const T> O(out.ptr<T>(), out);
  parallel_for(BH * nqb, nt > 1, [=](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk)
      prepare_block(a, O, blk / nqb, blk % nqb, qt_all + blk * d * kBq, dot_all + blk * d * kBq,
                    D + blk * kBq);
  });

  // Heads [0, whole) go to threads whole; heads [whole, BH) are shared (see the file comment).
  const int64_t whole = BH / nt * nt, shared = BH - whole, head_dq = G.tq_pad * dp;
  T* dq_whole = need_dq ? g.scratch<T>(whole * head_dq) : nullptr;
  T* dq_shared = need_dq ? g.scratch<T>(nt * shared * head_dq) : nullptr;
  const int64_t per_thread = 2 * kBk * kBq + 2 * kBk * dp;
  T* scratch = g.scratch<T>(nt * per_thread);
  const int64_t key_tiles = G.key_tiles;
  parallel_for(nt, nt > 1, [=](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      T* st = scratch + t * per_thread;
      T* dst = st + kBk * kBq;
      T* dk = dst + kBk * kBq;
      T* dv = dk + kBk * dp;
      for (int64_t bh = t; bh < whole; bh += nt) {
        T* dq = need_dq ? dq_whole + bh * head_dq : nullptr;
        if (dq) std::fill(dq, dq + head_dq, T(0));
        for (int64_t kt = 0; kt < key_tiles; ++kt) key_tile_backward(a, bh, kt, st, dst, dk, dv, dq);
      }
      for (int64_t e = 0; e < shared; ++e) {
        T* dq = need_dq ? dq_shared + (t * shared + e) * head_dq : nullptr;
        if (dq) std::fill(dq, dq + head_dq, T(0));
        for (int64_t kt = t; kt < key_tiles; kt += nt)
          key_tile_backward(a, whole + e, kt, st, dst, dk, dv, dq);
      }
    }
  });
  if (!need_dq) return;

  const Rows<T> dQ(q.gptr<T>(), q);
  const int64_t Tq = G.Tq;
  parallel_for(BH * Tq, nt > 1, [=](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t bh = r / Tq, i = r % Tq;
      T* gq = dQ.head(bh) + i * dQ.st;
      if (bh < whole) {
        const T* src = dq_whole + bh * head_dq + i * dp;
#pragma omp simd
        for (int64_t c = 0; c < d; ++c) gq[c] += src[c];
        continue;
      }
      for (int64_t c = 0; c < d; ++c) {
        T s = 0;
        for (int64_t t = 0; t < nt; ++t) s += dq_shared[(t * shared + bh - whole) * head_dq + i * dp + c];
        gq[c] += s;
      }
    }
  });
}

}  // namespace
}  // namespace attn

void AttentionOp::backward(Graph& g, const OpRecord& r) {
  const Tensor &q = r.in[0], &k = r.in[1], &v = r.in[2];
  if (!q.grad && !k.grad && !v.grad) return;
  const Attrs& a = r.attr<Attrs>();
  const attn::Geometry geo(q.shape, k.shape, a.mask, a.scale);
  dispatch_float(q.dtype, [&](auto zero) {
    using T = decltype(zero);
    attn::backward<T>(g, geo, q, k, v, r.out, static_cast<const T*>(a.lse));
  });
}

}  // namespace titans::ops
