// The hand-written backward of the fused memory forward (memory_kernel.cpp; spec §4–§5, §7).
// One problem = one (batch, head); its chunks run in reverse. Each chunk is recomputed from its
// saved chunk-start W, S (memory_chunk.h: coefficients, key path, reads), then differentiated in
// the reverse order of its forward:
//   (A) chunk-end update W_b = a_b W + f_b S − Dᵀ diag(G_b) X, S_b = e_b S − Dᵀ diag(n_b) X
//       (per layer, D = δ rows, X = key-path activation rows), given dW_b, dS_b flowing back from
//       the next chunk (or from the gradient of the returned state);
//   (B) reads O = diag(a) H Wᵀ + diag(f) H Sᵀ − (G ⊙ H Xᵀ) D, layers in reverse;
//   (C) the key path: first the δ chain D[l−1] = (D[l] W^l) ⊙ φ'(Z[l−1]) (hence φ''), then
//       Z[l] = X[l] W^lᵀ, X[l+1] = φ(Z[l]);
//   (D) the coefficient recurrences of spec §4 in reverse, giving dθ, dη, dα.
// What remains in dW, dS is the gradient of the chunk-start state: the previous chunk's dW_b, dS_b.
#include <algorithm>
#include <cstring>

#include "memory/memory_chunk.h"
#include "memory/memory_kernel.h"
#include "util/parallel.h"

namespace titans {

namespace {

using namespace memory_chunk;

template <class T>
T dot(const T* x, const T* y, int64_t n) {
  T s = T(0);
#pragma omp simd reduction(+ : s)
  for (int64_t e = 0; e < n; ++e) s += x[e] * y[e];
  return s;
}

template <class T>
void add_to(T* dst, const T* src, int64_t n) {
#pragma omp simd
  for (int64_t e = 0; e < n; ++e) dst[e] += src[e];
}

template <class T>
class ProblemBackward {
 public:
  ProblemBackward(const MemoryKernelArgs<T>& a, const MemoryKernelGrads<T>& g, int64_t p)
      : a_(a), g_(g), p_(p), dm_(a.chunk, a.d, a.hidden, a.depth, a.act, a.residual) {}

  static size_t workspace_size(const MemoryKernelArgs<T>& a) {
    const int64_t m = a.chunk, w = std::max(a.d, a.hidden);
    return size_t(8 * m + 5 * m * m + 11 * a.depth * m * w + 2 * a.depth * m * m + 6 * m * w +
                  3 * m * a.d + 4 * memory_kernel_state_size(a));
  }

  void run() {
    const MemoryKernelArgs<T>& a = a_;
    const int L = a.depth;
    const int64_t m = a.chunk, w = dm_.width, d = a.d, P = memory_kernel_state_size(a);
    T* ws = workspace<T>(workspace_size(a));
    const auto take = [&ws](int64_t n) {
      T* p = ws;
      ws += n;
      return p;
    };
    ca_ = take(m), ce_ = take(m), cf_ = take(m), cn_ = take(m * m), cG_ = take(m * m);
    dca_ = take(m), dce_ = take(m), dcf_ = take(m), dcn_ = take(m * m), dcG_ = take(m * m);
    deta_ = take(m), dalpha_ = take(m), E_ = take(m * m);
    for (int l = 0; l < L; ++l) {
      X_[l] = take(m * w), Z_[l] = take(m * w), D_[l] = take(m * w), Tp_[l] = take(m * w);
      H_[l] = take(m * w), O_[l] = take(m * w), dX_[l] = take(m * w), dD_[l] = take(m * w);
      dZ_[l] = take(m * w), R_[l] = take(m * m), Rm_[l] = take(m * m), P_[l] = take(2 * m * w);
    }
    dO_ = take(m * w), dH_ = take(m * w), s1_ = take(2 * m * w), s2_ = take(2 * m * w);
    dQ_ = take(m * d), dK_ = take(m * d), dV_ = take(m * d);
    T* returned = take(2 * P);  // the returned state stacked [W; S]: the partial chunk's start
    const auto copy = [](T* dst, const T* src, int64_t n) {
      if (src) std::memcpy(dst, src, size_t(n) * sizeof(T));
      else std::memset(dst, 0, size_t(n) * sizeof(T));
    };
    int64_t off = 0;
    for (int l = 0; l < L; ++l) {  // the gradient of the returned state (chunk end), or 0
      const int64_t sz = dm_.out[l] * dm_.in[l];
      off_[l] = 2 * off, off += sz;
      dWS_[l] = take(2 * sz);
      copy(dWS_[l], g_.dw_out[l] ? g_.dw_out[l] + p_ * sz : nullptr, sz);
      copy(dWS_[l] + sz, g_.ds_out[l] ? g_.ds_out[l] + p_ * sz : nullptr, sz);
      copy(returned + off_[l], a.w_out[l] + p_ * sz, sz);
      copy(returned + off_[l] + sz, a.s_out[l] + p_ * sz, sz);
    }
    const int64_t nc = (a.N + m - 1) / m, nfull = a.N / m;
    for (int64_t c = nc - 1; c >= 0; --c) {
      // The chunk-start state: saved, or (the partial last chunk) the returned state.
      const T* state = c < nfull ? a.save + (p_ * nfull + c) * 2 * P : returned;
      for (int l = 0; l < L; ++l) WS_[l] = state + off_[l];
      chunk(c * m, std::min(m, a.N - c * m));
    }
    for (int l = 0; l < L; ++l) {
      const int64_t sz = dm_.out[l] * dm_.in[l];
      if (g_.dw_in[l]) std::memcpy(g_.dw_in[l] + p_ * sz, dWS_[l], size_t(sz) * sizeof(T));
      if (a.s_in[l] && g_.ds_in[l])
        std::memcpy(g_.ds_in[l] + p_ * sz, dWS_[l] + sz, size_t(sz) * sizeof(T));
    }
  }

 private:
  const T* hin(int l) const { return l == 0 ? q_ : H_[l]; }

  void chunk(int64_t t0, int64_t mc) {
    const MemoryKernelArgs<T>& a = a_;
    const int L = a.depth;
    const int64_t m = a.chunk, d = a.d, row = p_ * a.N + t0;
    const T *th = a.theta + p_ * a.N + t0, *et = a.eta + p_ * a.N + t0,
            *al = a.alpha + p_ * a.N + t0;
    const T *k = a.k + row * d, *v = a.v + row * d;
    q_ = a.q + row * d, row_ = row;
    // The forward of this chunk again, keeping every intermediate.
    const bool f_zero = coefficients(th, et, al, mc, m, ca_, ce_, cf_, cn_, cG_);
    key_path<T>(dm_, WS_, k, v, mc, X_, Z_, D_, Tp_);
    T* Hr[4] = {nullptr, H_[1], H_[2], H_[3]};
    reads<T>(dm_, WS_, ca_, cf_, cG_, f_zero, q_, mc, X_, D_, Hr, O_, P_, R_, Rm_, false, nullptr);

    std::memset(dca_, 0, size_t(3 * m) * sizeof(T));  // dca, dce, dcf are adjacent
    std::memset(dcn_, 0, size_t(2 * m * m) * sizeof(T));  // dcn, dcG
    for (int l = 0; l < L; ++l) {
      std::memset(dX_[l], 0, size_t(mc * dm_.in[l]) * sizeof(T));
      std::memset(dD_[l], 0, size_t(mc * dm_.out[l]) * sizeof(T));
      std::memset(dZ_[l], 0, size_t(mc * dm_.out[l]) * sizeof(T));
    }
    if (mc == m) update_backward();
    reads_backward(mc, f_zero);
    key_path_backward(mc);
    coefficients_backward(mc, et, al);

    const auto accumulate = [](T* dst, const T* src, int64_t n) {
      if (dst) add_to(dst, src, n);
    };
    accumulate(g_.dq ? g_.dq + row * d : nullptr, dQ_, mc * d);
    accumulate(g_.dk ? g_.dk + row * d : nullptr, dK_, mc * d);
    accumulate(g_.dv ? g_.dv + row * d : nullptr, dV_, mc * d);
    const int64_t gi = p_ * a.N + t0;
    if (g_.dtheta)
      for (int64_t i = 0; i < mc; ++i) g_.dtheta[gi + i] += dcn_[i * m + i];  // dθ_i = dn_ii
    if (g_.deta) add_to(g_.deta + gi, deta_, mc);
    if (g_.dalpha) add_to(g_.dalpha + gi, dalpha_, mc);
  }

  // (A) for a full chunk: the terms of the chunk-end update, then dW ← a_b dW,
  // dS ← e_b dS + f_b dW (the gradient reaching the chunk-start state through the update).
  // With [P; Q] = [dW_b; dS_b] and C = X [P; Q]ᵀ = [X Pᵀ | X Qᵀ]:
  //   dD −= diag(G_b) X Pᵀ + diag(n_b) X Qᵀ, dG_bj −= D_j · (X Pᵀ)_j, dn_bj −= D_j · (X Qᵀ)_j,
  //   dX −= [diag(G_b) D | diag(n_b) D] [P; Q].
  void update_backward() {
    const int64_t m = a_.chunk, last = (m - 1) * m;
    const T ab = ca_[m - 1], eb = ce_[m - 1], fb = cf_[m - 1];
    for (int l = 0; l < a_.depth; ++l) {
      const int64_t i = dm_.in[l], o = dm_.out[l], o2 = 2 * o, sz = o * i;
      T *PQ = dWS_[l], *X = X_[l], *D = D_[l], *dD = dD_[l];
      gemm(m, o2, i, T(1), ref<T>(X, i, 1), ref<T>(PQ, 1, i), T(0), mut(s1_, o2, 1));
      for (int64_t j = 0; j < m; ++j) {
        const T gb = cG_[last + j], nb = cn_[last + j];
        const T *cp = s1_ + j * o2, *cq = cp + o, *dj = D + j * o;
        dcG_[last + j] -= dot(dj, cp, o);
        dcn_[last + j] -= dot(dj, cq, o);
        T *dd = dD + j * o, *y = s2_ + j * o2;
#pragma omp simd
        for (int64_t c = 0; c < o; ++c) {
          dd[c] -= gb * cp[c] + nb * cq[c];
          y[c] = gb * dj[c];
          y[o + c] = nb * dj[c];
        }
      }
      gemm(m, i, o2, T(-1), ref<T>(s2_, o2, 1), ref<T>(PQ, i, 1), T(1), mut(dX_[l], i, 1));
      const T *W = WS_[l], *S = W + sz;
      T* Q = PQ + sz;
      dca_[m - 1] += dot(PQ, W, sz);
      dcf_[m - 1] += dot(PQ, S, sz);
      dce_[m - 1] += dot(Q, S, sz);
#pragma omp simd
      for (int64_t e = 0; e < sz; ++e) {
        Q[e] = eb * Q[e] + fb * PQ[e];
        PQ[e] *= ab;
      }
    }
  }

  // (B) the reads, last layer first; dQ gets the query gradient. Per layer, with Y = [diag(a) dO |
  // diag(f) dO] and P = [H Wᵀ | H Sᵀ] kept by the recomputation:
  //   da_r += dO_r · (H Wᵀ)_r, df_r += dO_r · (H Sᵀ)_r, dH = Y [W; S], [dW; dS] += Yᵀ H;
  //   the masked term −(G ⊙ H Xᵀ) D: E = dO Dᵀ, dG −= E ⊙ (H Xᵀ), E ← G ⊙ E,
  //   dH −= E X, dX −= Eᵀ H, dD −= (G ⊙ H Xᵀ)ᵀ dO.
  void reads_backward(int64_t mc, bool f_zero) {
    const int L = a_.depth;
    const int64_t m = a_.chunk, d = a_.d;
    const T* dy = g_.dy + row_ * d;
    std::memcpy(dO_, dy, size_t(mc * d) * sizeof(T));
    if (a_.residual) std::memcpy(dQ_, dy, size_t(mc * d) * sizeof(T));
    else std::memset(dQ_, 0, size_t(mc * d) * sizeof(T));
    for (int l = L - 1; l >= 0; --l) {
      const int64_t i = dm_.in[l], o = dm_.out[l], o2 = 2 * o, ok = f_zero ? o : o2;
      const T* h = hin(l);
      for (int64_t r = 0; r < mc; ++r) {
        const T *dor = dO_ + r * o, *pr = P_[l] + r * o2;
        T* y = s2_ + r * o2;
        dca_[r] += dot(dor, pr, o);
        const T ar = ca_[r];
#pragma omp simd
        for (int64_t c = 0; c < o; ++c) y[c] = ar * dor[c];
        if (f_zero) continue;
        dcf_[r] += dot(dor, pr + o, o);
        const T fr = cf_[r];
#pragma omp simd
        for (int64_t c = 0; c < o; ++c) y[o + c] = fr * dor[c];
      }
      gemm(mc, i, ok, T(1), ref<T>(s2_, o2, 1), ref<T>(WS_[l], i, 1), T(0), mut(dH_, i, 1));
      gemm(ok, i, mc, T(1), ref<T>(s2_, 1, o2), ref<T>(h, i, 1), T(1), mut(dWS_[l], i, 1));
      gemm(mc, mc, o, T(1), ref<T>(dO_, o, 1), ref<T>(D_[l], 1, o), T(0), mut(E_, m, 1));
      for (int64_t r = 0; r < mc; ++r)
        for (int64_t j = 0; j < mc; ++j) {
          dcG_[r * m + j] -= E_[r * m + j] * R_[l][r * m + j];
          E_[r * m + j] *= cG_[r * m + j];
        }
      gemm(mc, i, mc, T(-1), ref<T>(E_, m, 1), ref<T>(X_[l], i, 1), T(1), mut(dH_, i, 1));
      gemm(mc, i, mc, T(-1), ref<T>(E_, 1, m), ref<T>(h, i, 1), T(1), mut(dX_[l], i, 1));
      gemm(mc, o, mc, T(-1), ref<T>(Rm_[l], 1, m), ref<T>(dO_, o, 1), T(1), mut(dD_[l], o, 1));
      if (l > 0) {  // H[l] = φ(O[l−1])
        const T* op = O_[l - 1];
        const MemoryActivation act = dm_.act;
#pragma omp simd
        for (int64_t e = 0; e < mc * i; ++e) dO_[e] = dH_[e] * phi_prime(op[e], act);
      } else {
        add_to(dQ_, dH_, mc * d);
      }
    }
  }

  // (C) the key path: the δ chain (first layer first), then the forward chain (last layer first).
  void key_path_backward(int64_t mc) {
    const int L = a_.depth;
    const int64_t d = a_.d;
    const MemoryActivation act = dm_.act;
    for (int l = 0; l + 1 < L; ++l) {  // D[l] = Tp[l] ⊙ φ'(Z[l]), Tp[l] = D[l+1] W^{l+1}
      const int64_t o = dm_.out[l], o1 = dm_.out[l + 1];
      const T *z = Z_[l], *tp = Tp_[l], *dd = dD_[l];
      T* dz = dZ_[l];
#pragma omp simd
      for (int64_t e = 0; e < mc * o; ++e) {
        dz[e] += dd[e] * tp[e] * phi_second(z[e], act);
        s1_[e] = dd[e] * phi_prime(z[e], act);  // dTp
      }
      gemm(mc, o1, o, T(1), ref<T>(s1_, o, 1), ref<T>(WS_[l + 1], 1, o), T(1),
           mut(dD_[l + 1], o1, 1));
      gemm(o1, o, mc, T(1), ref<T>(D_[l + 1], 1, o1), ref<T>(s1_, o, 1), T(1),
           mut(dWS_[l + 1], o, 1));
    }
    {  // D[L−1] = 2 (Z[L−1] (+ k) − v)
      const T* dd = dD_[L - 1];
      T* dz = dZ_[L - 1];
      for (int64_t e = 0; e < mc * d; ++e) {
        const T g2 = T(2) * dd[e];
        dz[e] += g2;
        dK_[e] = a_.residual ? g2 : T(0);
        dV_[e] = -g2;
      }
    }
    for (int l = L - 1; l >= 0; --l) {  // Z[l] = X[l] W^lᵀ, X[l] = φ(Z[l−1])
      const int64_t i = dm_.in[l], o = dm_.out[l];
      gemm(mc, i, o, T(1), ref<T>(dZ_[l], o, 1), ref<T>(WS_[l], i, 1), T(1), mut(dX_[l], i, 1));
      gemm(o, i, mc, T(1), ref<T>(dZ_[l], 1, o), ref<T>(X_[l], i, 1), T(1), mut(dWS_[l], i, 1));
      if (l > 0) {
        const T *dx = dX_[l], *z = Z_[l - 1];
        T* dz = dZ_[l - 1];
#pragma omp simd
        for (int64_t e = 0; e < mc * i; ++e) dz[e] += dx[e] * phi_prime(z[e], act);
      } else {
        add_to(dK_, dX_[0], mc * d);
      }
    }
  }

  // (D) spec §4's recurrences in reverse: G_ij = γ_i G_{i−1,j} + n_ij, f_i = γ_i f_{i−1} + e_i,
  // a_i = γ_i a_{i−1} (γ = 1 − α), then n_ij = η_i n_{i−1,j} (n_ii = θ_i), e_i = η_i e_{i−1}.
  // dθ_i is left in dn_ii; dη, dα in deta_, dalpha_.
  void coefficients_backward(int64_t mc, const T* et, const T* al) {
    const int64_t m = a_.chunk;
    for (int64_t i = mc - 1; i >= 0; --i) {
      const T g = T(1) - al[i];
      T dg = T(0);
      T *dG = dcG_ + i * m, *dn = dcn_ + i * m;
      const T* Gp = cG_ + (i - 1) * m;
      for (int64_t j = 0; j <= i; ++j) dn[j] += dG[j];
      for (int64_t j = 0; j < i; ++j) {
        dg += dG[j] * Gp[j];
        dG[j - m] += g * dG[j];
      }
      dce_[i] += dcf_[i];
      if (i > 0) {
        dg += dcf_[i] * cf_[i - 1] + dca_[i] * ca_[i - 1];
        dcf_[i - 1] += g * dcf_[i];
        dca_[i - 1] += g * dca_[i];
      } else {
        dg += dca_[i];
      }
      dalpha_[i] = -dg;
    }
    for (int64_t i = mc - 1; i >= 0; --i) {
      T de = T(0);
      T* dn = dcn_ + i * m;
      const T* np = cn_ + (i - 1) * m;
      for (int64_t j = 0; j < i; ++j) {
        de += dn[j] * np[j];
        dn[j - m] += et[i] * dn[j];
      }
      de += dce_[i] * (i > 0 ? ce_[i - 1] : T(1));
      if (i > 0) dce_[i - 1] += et[i] * dce_[i];
      deta_[i] = de;
    }
  }

  const MemoryKernelArgs<T>& a_;
  const MemoryKernelGrads<T>& g_;
  int64_t p_;
  Dims dm_;
  int64_t off_[4] = {}, row_ = 0;  // row_: the chunk's first token in [B·H·N]
  const T* q_ = nullptr;
  const T* WS_[4] = {};  // per layer the chunk-start [W; S] (2·out × in)
  T* dWS_[4] = {};       // and its gradient
  T *X_[4] = {}, *Z_[4] = {}, *D_[4] = {}, *Tp_[4] = {}, *H_[4] = {}, *O_[4] = {};
  T *dX_[4] = {}, *dD_[4] = {}, *dZ_[4] = {}, *R_[4] = {}, *Rm_[4] = {}, *P_[4] = {};
  T *ca_ = nullptr, *ce_ = nullptr, *cf_ = nullptr, *cn_ = nullptr, *cG_ = nullptr;
  T *dca_ = nullptr, *dce_ = nullptr, *dcf_ = nullptr, *dcn_ = nullptr, *dcG_ = nullptr;
  T *E_ = nullptr, *dO_ = nullptr, *dH_ = nullptr, *s1_ = nullptr, *s2_ = nullptr;
  T *dQ_ = nullptr, *dK_ = nullptr, *dV_ = nullptr;
  T *deta_ = nullptr, *dalpha_ = nullptr;
};

}  // namespace

template <class T>
void memory_backward_fused(const MemoryKernelArgs<T>& a, const MemoryKernelGrads<T>& g) {
  parallel_for(a.B * a.H, memory_kernel_worth_threads(a), [&a, &g](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) ProblemBackward<T>(a, g, p).run();
  });
}

template void memory_backward_fused<float>(const MemoryKernelArgs<float>&,
                                           const MemoryKernelGrads<float>&);
template void memory_backward_fused<double>(const MemoryKernelArgs<double>&,
                                            const MemoryKernelGrads<double>&);

}  // namespace titans
