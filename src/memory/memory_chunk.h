// One chunk of the memory's inner loop on plain row-major buffers (spec §4–§5, chunked form of
// paper Eq. 12–14), shared by the fused forward (memory_kernel.cpp) and the fused backward
// (memory_kernel_backward.cpp), which recomputes a chunk from its saved chunk-start W, S.
// Internal to src/memory: rows are the chunk's tokens, single-threaded gemm calls.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "memory/memory_config.h"
#include "ops/vmath.h"
#include "tensor/gemm.h"

namespace titans::memory_chunk {

constexpr double kGeluC = 0.7978845608028654;  // √(2/π)
constexpr double kGeluA = 0.044715;

// φ, φ' and φ'' as the engine's gelu (tanh form) / silu ops compute them.
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

// silu: s (1 − s)(2 + z (1 − 2s)). gelu: with t = tanh(u), u = c (z + A z³), u' = c (1 + 3A z²),
// u'' = 6cA z: φ'' = (1 − t²)(u' + z (u''/2 − t u'²)).
template <class T>
[[gnu::always_inline]] inline T phi_second(T z, MemoryActivation act) {
  if (act == MemoryActivation::silu) {
    const T s = vmath::sigmoid(z);
    return s * (T(1) - s) * (T(2) + z * (T(1) - T(2) * s));
  }
  const T t = vmath::tanh(T(kGeluC) * (z + T(kGeluA) * z * z * z));
  const T du = T(kGeluC) * (T(1) + T(3 * kGeluA) * z * z);
  return (T(1) - t * t) * (du + z * (T(3 * kGeluC * kGeluA) * z - t * du * du));
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

// The per-thread workspace: sized on first use, reused after (no allocation per call).
template <class T>
T* workspace(size_t n) {
  thread_local std::vector<T> ws;
  if (ws.size() < n) ws.resize(n);
  return ws.data();
}

// Sizes of one problem: chunk m, d = d_h, layers l < L with W^l [out[l] × in[l]].
struct Dims {
  int64_t m = 1, d = 0, width = 0;  // width: max(d, hidden), the widest activation row
  int L = 1;
  int64_t in[4] = {}, out[4] = {};
  MemoryActivation act = MemoryActivation::gelu;
  bool residual = false;

  Dims(int64_t chunk, int64_t d_h, int64_t hidden, int depth, MemoryActivation a, bool res)
      : m(chunk), d(d_h), width(std::max(d_h, hidden)), L(depth), act(a), residual(res) {
    for (int l = 0; l < L; ++l) {
      in[l] = l == 0 ? d : hidden;
      out[l] = l == L - 1 ? d : hidden;
    }
  }
};

// The coefficients of spec §4 for a chunk's first mc tokens: a_i = Π γ, e_i = Π η,
// f_i = γ_i f_{i−1} + e_i, n_ij = θ_j Π_{k=j+1..i} η_k, G_ij = γ_i G_{i−1,j} + n_ij (γ = 1 − α;
// n, G row-major with row stride m, lower triangular). Products of gates only, no divisions.
// Returns whether every f_i is 0 (no S_0 term in the reads).
template <class T>
bool coefficients(const T* th, const T* et, const T* al, int64_t mc, int64_t m, T* ca, T* ce,
                  T* cf, T* cn, T* cG) {
  for (int64_t i = 0; i < mc; ++i) {
    const T g = T(1) - al[i];
    ca[i] = (i ? ca[i - 1] : T(1)) * g;
    ce[i] = (i ? ce[i - 1] : T(1)) * et[i];
    cf[i] = g * (i ? cf[i - 1] : T(0)) + ce[i];
    T *n = cn + i * m, *G = cG + i * m;
    for (int64_t j = 0; j < mc; ++j) {
      n[j] = j < i ? n[j - m] * et[i] : (j == i ? th[i] : T(0));
      G[j] = (j < i ? g * G[j - m] : T(0)) + n[j];
    }
  }
  bool f_zero = true;
  for (int64_t i = 0; i < mc; ++i) f_zero = f_zero && cf[i] == T(0);
  return f_zero;
}

template <class T>
void phi_rows(const T* z, T* out, int64_t n, MemoryActivation act) {
#pragma omp simd
  for (int64_t e = 0; e < n; ++e) out[e] = phi(z[e], act);
}

// The key path at the chunk-start weights W and its backward from 2 (M_0(k) − v) (Eq. 12, no ½),
// rows = the mc keys: X[0] = k, Z[l] = X[l] W^lᵀ, X[l+1] = φ(Z[l]); D[L−1] = 2 (Z[L−1] (+ k) − v),
// Tp[l−1] = D[l] W^l, D[l−1] = Tp[l−1] ⊙ φ'(Z[l−1]). The inner gradient of layer l at token j is
// the outer product D[l]_j X[l]_jᵀ (spec §4). Tp may be null (not kept: D is formed in place).
template <class T>
void key_path(const Dims& dm, const T* const* W, const T* k, const T* v, int64_t mc, T* const* X,
              T* const* Z, T* const* D, T* const* Tp) {
  const int L = dm.L;
  const int64_t d = dm.d;
  std::memcpy(X[0], k, size_t(mc * d) * sizeof(T));
  for (int l = 0; l < L; ++l) {
    const int64_t i = dm.in[l], o = dm.out[l];
    gemm(mc, o, i, T(1), ref<T>(X[l], i, 1), ref<T>(W[l], 1, i), T(0), mut(Z[l], o, 1));
    if (l < L - 1) phi_rows(Z[l], X[l + 1], mc * o, dm.act);
  }
  T* dL = D[L - 1];
  const T* zL = Z[L - 1];
  for (int64_t e = 0; e < mc * d; ++e) dL[e] = T(2) * (zL[e] + (dm.residual ? k[e] : T(0)) - v[e]);
  for (int l = L - 1; l > 0; --l) {
    const int64_t i = dm.in[l], o = dm.out[l];
    T* t = Tp ? Tp[l - 1] : D[l - 1];
    gemm(mc, i, o, T(1), ref<T>(D[l], o, 1), ref<T>(W[l], i, 1), T(0), mut(t, i, 1));
    T* dp = D[l - 1];
    const T* zp = Z[l - 1];
    const MemoryActivation act = dm.act;
#pragma omp simd
    for (int64_t e = 0; e < mc * i; ++e) dp[e] = t[e] * phi_prime(zp[e], act);
  }
}

// Reads after the write (spec §4 "W_i h", §5), all mc tokens at once, per layer l with the
// chunk-start state WS[l] = [W^l; S^l] stacked (2·out × in, S right after W):
//   P[l] = H[l] [W^l; S^l]ᵀ (mc × 2·out: H Wᵀ | H Sᵀ, one product; H Wᵀ only when every f is 0),
//   R[l] = H[l] X[l]ᵀ (m×m, row stride m), Rm[l] = G ⊙ R[l],
//   O[l] = diag(a) H Wᵀ + diag(f) H Sᵀ − Rm[l] D[l], H[l+1] = φ(O[l]);  H[0] = q (row stride d).
// P and Rm may be the same buffer for every layer, Rm[l] may be R[l] (masked in place). With
// `check`, the first row holding a non-finite read is returned (its layer in *bad_layer), else −1.
template <class T>
int64_t reads(const Dims& dm, const T* const* WS, const T* ca, const T* cf, const T* cG,
              bool f_zero, const T* q, int64_t mc, T* const* X, T* const* D, T* const* H,
              T* const* O, T* const* P, T* const* R, T* const* Rm, bool check, int* bad_layer) {
  const int L = dm.L;
  const int64_t m = dm.m;
  const T* h = q;
  for (int l = 0; l < L; ++l) {
    const int64_t i = dm.in[l], o = dm.out[l], o2 = 2 * o;
    T *ol = O[l], *pl = P[l], *sc = R[l], *sm = Rm[l];
    gemm(mc, f_zero ? o : o2, i, T(1), ref(h, i, 1), ref<T>(WS[l], 1, i), T(0), mut(pl, o2, 1));
    for (int64_t r = 0; r < mc; ++r) {
      const T ar = ca[r], fr = f_zero ? T(0) : cf[r];
      const T* pr = pl + r * o2;
      T* orow = ol + r * o;
      if (f_zero) {
#pragma omp simd
        for (int64_t c = 0; c < o; ++c) orow[c] = ar * pr[c];
      } else {
#pragma omp simd
        for (int64_t c = 0; c < o; ++c) orow[c] = ar * pr[c] + fr * pr[o + c];
      }
    }
    gemm(mc, mc, i, T(1), ref(h, i, 1), ref<T>(X[l], 1, i), T(0), mut(sc, m, 1));
    for (int64_t r = 0; r < mc; ++r)
      for (int64_t c = 0; c < mc; ++c) sm[r * m + c] = sc[r * m + c] * cG[r * m + c];
    gemm(mc, o, mc, T(-1), ref<T>(sm, m, 1), ref<T>(D[l], o, 1), T(1), mut(ol, o, 1));
    if (check) {
      if (const int64_t r = first_bad_row(ol, mc, o); r >= 0) {
        *bad_layer = l;
        return r;
      }
    }
    if (l < L - 1) {
      phi_rows(ol, H[l + 1], mc * o, dm.act);
      h = H[l + 1];
    }
  }
  return -1;
}

}  // namespace titans::memory_chunk
