// Fused chunked memory forward (spec §4–§5). One problem = one (batch, head); its chunks run in
// order with W, S kept in the output buffers (hot in cache). Per chunk of m tokens, at the
// chunk-start weights W_0, S_0:
//   coefficients a, e, f, n, G by the spec §4 recurrences (no divisions);
//   key path Z^l = A^{l−1} W^lᵀ, A^l = φ(Z^l); δ^L = 2 (M_0(k) − v),
//     δ^{l−1} = (δ^l W^l) ⊙ φ'(Z^{l−1});
//   reads O = diag(a) H W_0ᵀ + diag(f) H S_0ᵀ − (G ⊙ H A^{l−1}ᵀ) δ^l (spec §4 "W_i h", §5);
//   a full chunk ends with W_b = a_b W_0 + f_b S_0 − Σ_j G_bj δ_j a_jᵀ,
//     S_b = e_b S_0 − Σ_j n_bj δ_j a_jᵀ.
#include "memory/memory_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include "ops/vmath.h"
#include "tensor/gemm.h"
#include "util/parallel.h"

namespace titans {

namespace {

constexpr double kGeluC = 0.7978845608028654;  // √(2/π)
constexpr double kGeluA = 0.044715;

// φ and φ' as the engine's gelu (tanh form) / silu ops compute them.
template <class T>
[[gnu::always_inline]] inline T phi(T z, MemoryActivation act) {
  if (act == MemoryActivation::silu) return z * vmath::sigmoid(z);
  return T(0.5) * z * (T(1) + vmath::tanh(T(kGeluC) * (z + T(kGeluA) * z * z * z)));
}

template <class T>
[[gnu::always_inline]] inline T phi_prime(T z, MemoryActivation act) {
  if (act == MemoryActivation::silu) {
    const T s = vmath::sigmoid(z);
    return s * (T(1) + z * (T(1) - s));
  }
  const T t = vmath::tanh(T(kGeluC) * (z + T(kGeluA) * z * z * z));
  return T(0.5) * (T(1) + t) +
         T(0.5) * z * (T(1) - t * t) * T(kGeluC) * (T(1) + T(3 * kGeluA) * z * z);
}

// Index of the first row of x [rows × cols] holding a non-finite value, or −1.
template <class T>
int64_t first_bad_row(const T* x, int64_t rows, int64_t cols) {
  T acc = T(0);
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < rows * cols; ++i) acc += x[i] * T(0);  // NaN·0 and ±inf·0 are NaN
  if (std::isfinite(double(acc))) return -1;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      if (!std::isfinite(double(x[r * cols + c]))) return r;
  return -1;
}

template <class T>
MatRef<T> ref(const T* p, int64_t rs, int64_t cs) {
  return {p, rs, cs};
}
template <class T>
MatMut<T> mut(T* p, int64_t rs, int64_t cs) {
  return {p, rs, cs};
}

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

// The per-thread workspace: sized on first use, reused after (no allocation per call).
template <class T>
T* workspace(size_t n) {
  thread_local std::vector<T> ws;
  if (ws.size() < n) ws.resize(n);
  return ws.data();
}

template <class T>
class Problem {
 public:
  Problem(const MemoryKernelArgs<T>& a, int64_t p) : a_(a), p_(p) {
    const int L = a.depth;
    for (int l = 0; l < L; ++l) {
      in_[l] = l == 0 ? a.d : a.hidden;
      out_[l] = l == L - 1 ? a.d : a.hidden;
    }
  }

  static size_t workspace_size(const MemoryKernelArgs<T>& a) {
    const int64_t m = a.chunk, w = std::max(a.d, a.hidden);
    return size_t(3 * m + 3 * m * m + (3 * a.depth + 4) * m * w);
  }

  // Runs every chunk; false with *key, *fault set at the first non-finite value.
  bool run(FaultKey* key, MemoryKernelFault* fault) {
    const MemoryKernelArgs<T>& a = a_;
    const int L = a.depth;
    const int64_t m = a.chunk, w = std::max(a.d, a.hidden), bi = p_ / a.H, hi = p_ % a.H;
    T* ws = workspace<T>(workspace_size(a));
    ca_ = ws, ce_ = ca_ + m, cf_ = ce_ + m, cn_ = cf_ + m, cG_ = cn_ + m * m, sc_ = cG_ + m * m;
    T* rest = sc_ + m * m;
    for (int l = 0; l < L; ++l)
      act_[l] = rest, z_[l] = act_[l] + m * w, dl_[l] = z_[l] + m * w, rest = dl_[l] + m * w;
    h0_ = rest, h1_ = h0_ + m * w, o_ = h1_ + m * w, tmp_ = o_ + m * w;
    for (int l = 0; l < L; ++l) {  // the chunk-start state into the output buffers
      const int64_t sz = out_[l] * in_[l];
      W_[l] = a.w_out[l] + p_ * sz, S_[l] = a.s_out[l] + p_ * sz;
      std::memcpy(W_[l], a.w_in[l] + bi * a.w_in_bstride[l] + hi * sz, size_t(sz) * sizeof(T));
      if (a.s_in[l])
        std::memcpy(S_[l], a.s_in[l] + bi * a.s_in_bstride[l] + hi * sz, size_t(sz) * sizeof(T));
      else
        std::memset(S_[l], 0, size_t(sz) * sizeof(T));
    }
    const int64_t nc = (a.N + m - 1) / m;
    for (int64_t c = 0; c < nc; ++c) {
      const int64_t t0 = c * m, mc = std::min(m, a.N - t0);
      coefficients(t0, mc);
      key_path(t0, mc);
      int layer = 0;
      if (const int64_t r = reads(t0, mc, &layer); r >= 0) {
        *key = {c, 0, layer, 0, p_};
        *fault = {true, "memory read", layer + 1, bi, hi, t0 + r};
        return false;
      }
      if (mc < m) break;  // a partial last chunk leaves the state at its start (pending tokens)
      for (int l = 0; l < L; ++l) {
        const int bad = update(l, mc);
        if (bad < 0) continue;
        *key = {c, 1, l, bad, p_};
        *fault = {true, bad == 0 ? "memory weights" : "momentum", l + 1, bi, hi, t0 + mc - 1};
        return false;
      }
    }
    return true;
  }

 private:
  // Spec §4: a_i = Π γ, e_i = Π η, f_i = γ_i f_{i−1} + e_i, n_ij = θ_j Π_{k=j+1..i} η_k,
  // G_ij = γ_i G_{i−1,j} + n_ij (row-major m×m, lower triangular).
  void coefficients(int64_t t0, int64_t mc) {
    const int64_t m = a_.chunk, off = p_ * a_.N + t0;
    const T *th = a_.theta + off, *et = a_.eta + off, *al = a_.alpha + off;
    for (int64_t i = 0; i < mc; ++i) {
      const T g = T(1) - al[i];
      ca_[i] = (i ? ca_[i - 1] : T(1)) * g;
      ce_[i] = (i ? ce_[i - 1] : T(1)) * et[i];
      cf_[i] = g * (i ? cf_[i - 1] : T(0)) + ce_[i];
      T *n = cn_ + i * m, *G = cG_ + i * m;
      for (int64_t j = 0; j < mc; ++j) {
        n[j] = j < i ? n[j - m] * et[i] : (j == i ? th[i] : T(0));
        G[j] = (j < i ? g * G[j - m] : T(0)) + n[j];
      }
    }
    f_zero_ = true;
    for (int64_t i = 0; i < mc; ++i) f_zero_ = f_zero_ && cf_[i] == T(0);
  }

  // Key path at W_0 and its backward from 2 (M_0(k) − v) (Eq. 12, no ½); rows are tokens.
  void key_path(int64_t t0, int64_t mc) {
    const int L = a_.depth;
    const int64_t d = a_.d;
    const T* k = a_.k + (p_ * a_.N + t0) * d;
    const T* v = a_.v + (p_ * a_.N + t0) * d;
    std::memcpy(act_[0], k, size_t(mc * d) * sizeof(T));
    for (int l = 0; l < L; ++l) {
      const int64_t i = in_[l], o = out_[l];
      gemm(mc, o, i, T(1), ref<T>(act_[l], i, 1), ref<T>(W_[l], 1, i), T(0), mut(z_[l], o, 1));
      if (l < L - 1) phi_rows(z_[l], act_[l + 1], mc * o);
    }
    T* dL = dl_[L - 1];
    for (int64_t e = 0; e < mc * d; ++e)
      dL[e] = T(2) * (z_[L - 1][e] + (a_.residual ? k[e] : T(0)) - v[e]);
    for (int l = L - 1; l > 0; --l) {
      const int64_t i = in_[l], o = out_[l];
      gemm(mc, i, o, T(1), ref<T>(dl_[l], o, 1), ref<T>(W_[l], i, 1), T(0), mut(dl_[l - 1], i, 1));
      T *dp = dl_[l - 1], *zp = z_[l - 1];
      const MemoryActivation act = a_.act;
#pragma omp simd
      for (int64_t e = 0; e < mc * i; ++e) dp[e] *= phi_prime(zp[e], act);
    }
  }

  // Reads after the write, all tokens of the chunk at once; the first bad row (layer in *layer) or
  // −1.
  int64_t reads(int64_t t0, int64_t mc, int* layer) {
    const int L = a_.depth;
    const int64_t m = a_.chunk, d = a_.d;
    const T* q = a_.q + (p_ * a_.N + t0) * d;
    const T* h = q;
    int64_t hs = d;
    for (int l = 0; l < L; ++l) {
      const int64_t i = in_[l], o = out_[l];
      gemm(mc, o, i, T(1), ref(h, hs, 1), ref<T>(W_[l], 1, i), T(0), mut(o_, o, 1));
      for (int64_t r = 0; r < mc; ++r)
        for (int64_t c = 0; c < o; ++c) o_[r * o + c] *= ca_[r];
      if (!f_zero_) {  // + diag(f) H S_0ᵀ
        for (int64_t r = 0; r < mc; ++r)
          for (int64_t c = 0; c < i; ++c) tmp_[r * i + c] = cf_[r] * h[r * hs + c];
        gemm(mc, o, i, T(1), ref<T>(tmp_, i, 1), ref<T>(S_[l], 1, i), T(1), mut(o_, o, 1));
      }
      gemm(mc, mc, i, T(1), ref(h, hs, 1), ref<T>(act_[l], 1, i), T(0), mut(sc_, m, 1));
      for (int64_t r = 0; r < mc; ++r)
        for (int64_t c = 0; c < mc; ++c) sc_[r * m + c] *= cG_[r * m + c];
      gemm(mc, o, mc, T(-1), ref<T>(sc_, m, 1), ref<T>(dl_[l], o, 1), T(1), mut(o_, o, 1));
      if (const int64_t r = first_bad_row(o_, mc, o); r >= 0) {
        *layer = l;
        return r;
      }
      if (l < L - 1) {
        T* hn = l % 2 == 0 ? h0_ : h1_;
        phi_rows(o_, hn, mc * o);
        h = hn, hs = o;
      }
    }
    T* y = a_.y + (p_ * a_.N + t0) * d;
    for (int64_t e = 0; e < mc * d; ++e) y[e] = o_[e] + (a_.residual ? q[e] : T(0));
    return -1;
  }

  void phi_rows(const T* z, T* out, int64_t n) const {
    const MemoryActivation act = a_.act;
#pragma omp simd
    for (int64_t e = 0; e < n; ++e) out[e] = phi(z[e], act);
  }

  // Chunk-end state of layer l (spec §4); −1, or 0 / 1 when W / S became non-finite.
  int update(int l, int64_t m) {
    const int64_t i = in_[l], o = out_[l], last = (m - 1) * a_.chunk;
    const T ab = ca_[m - 1], eb = ce_[m - 1], fb = cf_[m - 1];
    T *W = W_[l], *S = S_[l];
    if (fb != T(0)) {
#pragma omp simd
      for (int64_t e = 0; e < o * i; ++e) W[e] = ab * W[e] + fb * S[e];
    }
    for (int64_t j = 0; j < m; ++j)  // rows G_bj δ_j
      for (int64_t c = 0; c < o; ++c) tmp_[j * o + c] = cG_[last + j] * dl_[l][j * o + c];
    gemm(o, i, m, T(-1), ref<T>(tmp_, 1, o), ref<T>(act_[l], i, 1), fb != T(0) ? T(1) : ab,
         mut(W, i, 1));
    for (int64_t j = 0; j < m; ++j)  // rows n_bj δ_j
      for (int64_t c = 0; c < o; ++c) tmp_[j * o + c] = cn_[last + j] * dl_[l][j * o + c];
    gemm(o, i, m, T(-1), ref<T>(tmp_, 1, o), ref<T>(act_[l], i, 1), eb, mut(S, i, 1));
    if (first_bad_row(W, o, i) >= 0) return 0;
    if (first_bad_row(S, o, i) >= 0) return 1;
    return -1;
  }

  const MemoryKernelArgs<T>& a_;
  int64_t p_;
  int64_t in_[4] = {}, out_[4] = {};
  T *W_[4] = {}, *S_[4] = {};
  T *act_[4] = {}, *z_[4] = {}, *dl_[4] = {};
  T *ca_ = nullptr, *ce_ = nullptr, *cf_ = nullptr, *cn_ = nullptr, *cG_ = nullptr, *sc_ = nullptr;
  T *h0_ = nullptr, *h1_ = nullptr, *o_ = nullptr, *tmp_ = nullptr;
  bool f_zero_ = true;
};

}  // namespace

template <class T>
MemoryKernelFault memory_forward_fused(const MemoryKernelArgs<T>& a) {
  MemoryKernelFault best;
  FaultKey best_key{};
  std::mutex mu;
  parallel_for(a.B * a.H, a.B * a.H > 1, [&a, &best, &best_key, &mu](int64_t p0, int64_t p1) {
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
