// Fused chunked memory forward (spec §4–§5). One problem = one (batch, head); its chunks run in
// order with W, S in the per-thread workspace (hot in cache; stacked [W^l; S^l] per layer so that
// the reads' W and S terms and the chunk-end update are one product each). Per chunk of m tokens,
// at the chunk-start weights W_0, S_0 (memory_chunk.h):
//   coefficients a, e, f, n, G by the spec §4 recurrences (no divisions);
//   key path Z^l = A^{l−1} W^lᵀ, A^l = φ(Z^l); δ^L = 2 (M_0(k) − v),
//     δ^{l−1} = (δ^l W^l) ⊙ φ'(Z^{l−1});
//   reads O = diag(a) H W_0ᵀ + diag(f) H S_0ᵀ − (G ⊙ H A^{l−1}ᵀ) δ^l (spec §4 "W_i h", §5);
//   a full chunk ends with W_b = a_b W_0 + f_b S_0 − Σ_j G_bj δ_j a_jᵀ,
//     S_b = e_b S_0 − Σ_j n_bj δ_j a_jᵀ.
#include "memory/memory_kernel.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "memory/memory_chunk.h"
#include "util/parallel.h"

namespace titans {

namespace {

using namespace memory_chunk;

// A fault's place in the composed path's checking order: chunk, then the reads (phase 0) before
// the chunk-end update (phase 1), layer, weights before momentum, problem.
struct FaultKey {
  int64_t chunk, phase, layer, what, problem;
  bool operator<(const FaultKey& o) const {
    const int64_t a[5] = {chunk, phase, layer, what, problem},
                  b[5] = {o.chunk, o.phase, o.layer, o.what, o.problem};
    for (int i = 0; i < 5; ++i)
      if (a[i] != b[i]) return a[i] < b[i];
    return false;
  }
};

template <class T>
class Problem {
 public:
  Problem(const MemoryKernelArgs<T>& a, int64_t p)
      : a_(a), p_(p), dm_(a.chunk, a.d, a.hidden, a.depth, a.act, a.residual) {}

  static size_t workspace_size(const MemoryKernelArgs<T>& a) {
    const int64_t m = a.chunk, w = std::max(a.d, a.hidden);
    return size_t(3 * m + 3 * m * m + (3 * a.depth + 6) * m * w +
                  2 * memory_kernel_state_size(a));
  }

  // Runs every chunk; false with *key, *fault set at the first non-finite value.
  bool run(FaultKey* key, MemoryKernelFault* fault) {
    const MemoryKernelArgs<T>& a = a_;
    const int L = a.depth;
    const int64_t m = a.chunk, w = dm_.width, bi = p_ / a.H, hi = p_ % a.H;
    const int64_t P = memory_kernel_state_size(a);
    T* ws = workspace<T>(workspace_size(a));
    ca_ = ws, ce_ = ca_ + m, cf_ = ce_ + m, cn_ = cf_ + m, cG_ = cn_ + m * m, sc_ = cG_ + m * m;
    T* rest = sc_ + m * m;
    for (int l = 0; l < L; ++l)
      act_[l] = rest, z_[l] = act_[l] + m * w, dl_[l] = z_[l] + m * w, rest = dl_[l] + m * w;
    h_[0] = nullptr, h_[1] = h_[3] = rest, h_[2] = rest + m * w, o_ = h_[2] + m * w;
    tmp_ = o_ + m * w;  // m × 2w
    // The chunk-start state, [W^l; S^l] stacked per layer: in the workspace, or — when the
    // backward's states are saved — in the save slot of each chunk, so that the chunk-end update
    // writes the next chunk's slot and nothing is copied.
    T* const in_place = tmp_ + 2 * m * w;
    const int64_t nc = (a.N + m - 1) / m, nfull = a.N / m;
    const auto slot = [&](int64_t c) {
      return a.save && c < nfull ? a.save + (p_ * nfull + c) * 2 * P : in_place;
    };
    T* state = slot(0);
    for (int l = 1; l < L; ++l) off_[l] = off_[l - 1] + 2 * dm_.out[l - 1] * dm_.in[l - 1];
    for (int l = 0; l < L; ++l) {
      const int64_t sz = dm_.out[l] * dm_.in[l];
      T* ws_l = state + off_[l];
      std::memcpy(ws_l, a.w_in[l] + bi * a.w_in_bstride[l] + hi * sz, size_t(sz) * sizeof(T));
      if (a.s_in[l])
        std::memcpy(ws_l + sz, a.s_in[l] + bi * a.s_in_bstride[l] + hi * sz,
                    size_t(sz) * sizeof(T));
      else
        std::memset(ws_l + sz, 0, size_t(sz) * sizeof(T));
    }
    T* const O[4] = {o_, o_, o_, o_};
    T* const Pr[4] = {tmp_, tmp_, tmp_, tmp_};
    T* const R[4] = {sc_, sc_, sc_, sc_};
    for (int64_t c = 0; c < nc; ++c) {
      for (int l = 0; l < L; ++l) WS_[l] = state + off_[l];
      const int64_t t0 = c * m, mc = std::min(m, a.N - t0), row = p_ * a.N + t0;
      const bool f_zero = coefficients(a.theta + p_ * a.N + t0, a.eta + p_ * a.N + t0,
                                       a.alpha + p_ * a.N + t0, mc, m, ca_, ce_, cf_, cn_, cG_);
      key_path<T>(dm_, WS_, a.k + row * a.d, a.v + row * a.d, mc, act_, z_, dl_, nullptr);
      int layer = 0;
      const T* q = a.q + row * a.d;
      if (const int64_t r = reads<T>(dm_, WS_, ca_, cf_, cG_, f_zero, q, mc, act_, dl_, h_, O, Pr,
                                     R, R, true, &layer);
          r >= 0) {
        *key = {c, 0, layer, 0, p_};
        *fault = {true, "memory read", layer + 1, bi, hi, t0 + r};
        return false;
      }
      T* y = a.y + row * a.d;
      for (int64_t e = 0; e < mc * a.d; ++e) y[e] = o_[e] + (a.residual ? q[e] : T(0));
      if (mc < m) break;  // a partial last chunk leaves the state at its start (pending tokens)
      T* const next = slot(c + 1);
      for (int l = 0; l < L; ++l) {
        const int bad = update(l, mc, next + off_[l]);
        if (bad < 0) continue;
        *key = {c, 1, l, bad, p_};
        *fault = {true, bad == 0 ? "memory weights" : "momentum", l + 1, bi, hi, t0 + mc - 1};
        return false;
      }
      state = next;
    }
    for (int l = 0; l < L; ++l) {  // the state after the last full chunk
      const int64_t sz = dm_.out[l] * dm_.in[l];
      std::memcpy(a.w_out[l] + p_ * sz, state + off_[l], size_t(sz) * sizeof(T));
      std::memcpy(a.s_out[l] + p_ * sz, state + off_[l] + sz, size_t(sz) * sizeof(T));
    }
    return true;
  }

 private:
  // Chunk-end state of layer l (spec §4): W_b = a_b W_0 + f_b S_0 − Σ_j G_bj δ_j a_jᵀ,
  // S_b = e_b S_0 − Σ_j n_bj δ_j a_jᵀ into `next` ([W; S] of the next chunk; may be the current
  // one): one pass for the old-state terms, then one product [W; S] −= [G_b ⊙ δ | n_b ⊙ δ]ᵀ A.
  // −1, or 0 / 1 when W / S became non-finite.
  int update(int l, int64_t m, T* next) {
    const int64_t i = dm_.in[l], o = dm_.out[l], sz = o * i, last = (m - 1) * a_.chunk;
    const T ab = ca_[m - 1], eb = ce_[m - 1], fb = cf_[m - 1];
    const T *W0 = WS_[l], *S0 = W0 + sz;
    T *W = next, *S = next + sz;
#pragma omp simd
    for (int64_t e = 0; e < sz; ++e) {
      const T w0 = W0[e], s0 = S0[e];
      W[e] = ab * w0 + fb * s0;
      S[e] = eb * s0;
    }
    for (int64_t j = 0; j < m; ++j)  // row j: G_bj δ_j | n_bj δ_j
      for (int64_t c = 0; c < o; ++c) {
        tmp_[j * 2 * o + c] = cG_[last + j] * dl_[l][j * o + c];
        tmp_[j * 2 * o + o + c] = cn_[last + j] * dl_[l][j * o + c];
      }
    gemm(2 * o, i, m, T(-1), ref<T>(tmp_, 1, 2 * o), ref<T>(act_[l], i, 1), T(1), mut(W, i, 1));
    if (first_bad_row(W, o, i) >= 0) return 0;
    if (first_bad_row(S, o, i) >= 0) return 1;
    return -1;
  }

  const MemoryKernelArgs<T>& a_;
  int64_t p_;
  Dims dm_;
  int64_t off_[4] = {};  // layer l's [W; S] in a stacked state
  T* WS_[4] = {};        // per layer the chunk-start [W; S], 2·out × in
  T *act_[4] = {}, *z_[4] = {}, *dl_[4] = {}, *h_[4] = {};
  T *ca_ = nullptr, *ce_ = nullptr, *cf_ = nullptr, *cn_ = nullptr, *cG_ = nullptr, *sc_ = nullptr;
  T *o_ = nullptr, *tmp_ = nullptr;
};

}  // namespace

template <class T>
MemoryKernelFault memory_forward_fused(const MemoryKernelArgs<T>& a) {
  MemoryKernelFault best;
  FaultKey best_key{};
  std::mutex mu;
  parallel_for(a.B * a.H, memory_kernel_worth_threads(a), [&a, &best, &best_key, &mu](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      Problem<T> pr(a, p);
      FaultKey key{};
      MemoryKernelFault f;
      if (pr.run(&key, &f)) continue;
      const std::lock_guard<std::mutex> lock(mu);
      if (!best.found || key < best_key) best = f, best_key = key;
    }
  });
  return best;
}

template MemoryKernelFault memory_forward_fused<float>(const MemoryKernelArgs<float>&);
template MemoryKernelFault memory_forward_fused<double>(const MemoryKernelArgs<double>&);

}  // namespace titans
