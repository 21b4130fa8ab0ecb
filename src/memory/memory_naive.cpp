#include "memory/memory_naive.h"

#include <cmath>

namespace titans {

namespace {

using Vec = std::vector<double>;

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

double phi(double z, MemoryActivation act) {
  if (act == MemoryActivation::silu) return z * sigmoid(z);
  const double c = std::sqrt(2.0 / M_PI);
  return 0.5 * z * (1.0 + std::tanh(c * (z + 0.044715 * z * z * z)));
}

double phi_prime(double z, MemoryActivation act) {
  if (act == MemoryActivation::silu) {
    const double s = sigmoid(z);
    return s * (1.0 + z * (1.0 - s));
  }
  const double c = std::sqrt(2.0 / M_PI), t = std::tanh(c * (z + 0.044715 * z * z * z));
  return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * z * z);
}

// y = W a, W [out, in] row-major.
Vec matvec(const Vec& W, const Vec& a, size_t out) {
  const size_t in = a.size();
  Vec y(out, 0.0);
  for (size_t o = 0; o < out; ++o)
    for (size_t i = 0; i < in; ++i) y[o] += W[o * in + i] * a[i];
  return y;
}

// One head's memory MLP (spec §3): weights per layer, with their output sizes.
struct Mlp {
  std::vector<Vec> w;
  std::vector<size_t> out;
};

Vec mlp_forward(const Mlp& m, const Vec& u, const NeuralMemoryConfig& c) {
  Vec h = u;
  for (size_t l = 0; l < m.w.size(); ++l) {
    h = matvec(m.w[l], h, m.out[l]);
    if (l + 1 < m.w.size())
      for (double& z : h) z = phi(z, c.activation);
  }
  if (c.residual)
    for (size_t i = 0; i < h.size(); ++i) h[i] += u[i];
  return h;
}

// u^l = ∇_{W^l} ‖M(k) − v‖² (Eq. 12, no ½): forward, then backward by hand.
std::vector<Vec> inner_grad(const Mlp& m, const Vec& k, const Vec& v, const NeuralMemoryConfig& c) {
  const size_t L = m.w.size();
  std::vector<Vec> acts{k}, zs;
  for (size_t l = 0; l < L; ++l) {
    Vec z = matvec(m.w[l], acts.back(), m.out[l]);
    zs.push_back(z);
    if (l + 1 < L) {
      for (double& e : z) e = phi(e, c.activation);
      acts.push_back(z);
    }
  }
  Vec delta(v.size());
  for (size_t i = 0; i < v.size(); ++i) delta[i] = 2.0 * (zs.back()[i] + (c.residual ? k[i] : 0.0) - v[i]);
  std::vector<Vec> u(L);
  for (size_t l = L; l-- > 0;) {
    const Vec& a = acts[l];
    u[l].assign(m.out[l] * a.size(), 0.0);
    for (size_t o = 0; o < m.out[l]; ++o)
      for (size_t i = 0; i < a.size(); ++i) u[l][o * a.size() + i] = delta[o] * a[i];
    if (l > 0) {
      Vec prev(a.size(), 0.0);
      for (size_t o = 0; o < m.out[l]; ++o)
        for (size_t i = 0; i < a.size(); ++i) prev[i] += m.w[l][o * a.size() + i] * delta[o];
      for (size_t i = 0; i < prev.size(); ++i) prev[i] *= phi_prime(zs[l - 1][i], c.activation);
      delta = prev;
    }
  }
  return u;
}

}  // namespace

std::vector<double> naive_memory_forward(const NeuralMemoryConfig& c, const NaiveMemoryParams& p,
                                         const std::vector<double>& x, int64_t B, int64_t T) {
  const size_t D = size_t(c.d_model), H = size_t(c.n_heads), d = size_t(c.dh()), HD = H * d;
  const int64_t K = c.conv_kernel;
  const auto shapes = c.layer_shapes();
  const size_t L = shapes.size();
  std::vector<double> out(size_t(B * T) * D, 0.0);
  for (int64_t bi = 0; bi < B; ++bi) {
    // Memories per head: current (M_t, S_t) and at the chunk start (M_{c(t)}).
    std::vector<Mlp> W(H), S(H), W0(H);
    for (size_t h = 0; h < H; ++h)
      for (size_t l = 0; l < L; ++l) {
        const size_t o = size_t(shapes[l].first), i = size_t(shapes[l].second);
        const Vec& w0 = p.at("mem_w0." + std::to_string(l + 1));
        W[h].w.push_back(Vec(w0.begin() + long(h * o * i), w0.begin() + long((h + 1) * o * i)));
        W[h].out.push_back(o);
        S[h].w.push_back(Vec(o * i, 0.0));
        S[h].out.push_back(o);
      }
    W0 = W;
    std::vector<Vec> pre[3];  // pre-conv projections of q, k, v per token
    const char* names[3] = {"q", "k", "v"};
    for (int64_t t = 0; t < T; ++t) {
      const Vec xt(x.begin() + long((bi * T + t) * int64_t(D)), x.begin() + long((bi * T + t + 1) * int64_t(D)));
      Vec feat[3];
      for (int s = 0; s < 3; ++s) {
        pre[s].push_back(matvec(p.at(std::string("w_") + names[s]), xt, HD));
        const Vec& conv = p.at(std::string("conv_") + names[s]);
        feat[s].assign(HD, 0.0);
        for (size_t ch = 0; ch < HD; ++ch) {
          for (int64_t m = 0; m < K; ++m) {
            const int64_t src = t - (K - 1) + m;
            if (src >= 0) feat[s][ch] += conv[ch * size_t(K) + size_t(m)] * pre[s][size_t(src)][ch];
          }
          feat[s][ch] = feat[s][ch] * sigmoid(feat[s][ch]);
        }
      }
      Vec y(HD);
      for (size_t h = 0; h < H; ++h) {
        Vec q(feat[0].begin() + long(h * d), feat[0].begin() + long((h + 1) * d));
        Vec k(feat[1].begin() + long(h * d), feat[1].begin() + long((h + 1) * d));
        const Vec v(feat[2].begin() + long(h * d), feat[2].begin() + long((h + 1) * d));
        for (Vec* u : {&q, &k}) {
          double ss = 0;
          for (double e : *u) ss += e * e;
          for (double& e : *u) e /= std::sqrt(ss + c.l2_eps);
        }
        const auto gate = [&](const char* g) {
          double z = p.at(std::string("b_") + g)[h];
          for (size_t i = 0; i < D; ++i) z += p.at(std::string("w_") + g)[h * D + i] * xt[i];
          return sigmoid(z);
        };
        const double theta = c.theta_max * gate("theta");
        const double eta = c.momentum ? gate("eta") : 0.0, alpha = c.decay ? gate("alpha") : 0.0;
        // Eq. 13–14 with the gradient frozen at the chunk start (§3.2).
        const std::vector<Vec> u = inner_grad(W0[h], k, v, c);
        for (size_t l = 0; l < L; ++l)
          for (size_t e = 0; e < u[l].size(); ++e) {
            S[h].w[l][e] = eta * S[h].w[l][e] - theta * u[l][e];
            W[h].w[l][e] = (1.0 - alpha) * W[h].w[l][e] + S[h].w[l][e];
          }
        const Vec yh = mlp_forward(W[h], q, c);  // read after write: y_t = M_t(q_t)
        for (size_t i = 0; i < d; ++i) y[h * d + i] = yh[i];
      }
      if ((t + 1) % c.chunk == 0) W0 = W;
      // Output path: W_O (RMSNorm(y) ⊙ SiLU(W_G x)).
      double ms = 0;
      for (double e : y) ms += e * e;
      const double r = 1.0 / std::sqrt(ms / double(HD) + c.rms_eps);
      const Vec gx = matvec(p.at("w_gate"), xt, HD);
      Vec gated(HD);
      for (size_t i = 0; i < HD; ++i) gated[i] = y[i] * r * p.at("norm_out")[i] * gx[i] * sigmoid(gx[i]);
      const Vec o = matvec(p.at("w_out"), gated, D);
      for (size_t i = 0; i < D; ++i) out[size_t(bi * T + t) * D + i] = o[i];
    }
  }
  return out;
}

std::vector<double> naive_memory_loop(const NeuralMemoryConfig& c, int64_t B, int64_t N,
                                      const Vec& q, const Vec& k, const Vec& v, const Vec& theta,
                                      const Vec& eta, const Vec& alpha, const std::vector<Vec>& w0) {
  const size_t H = size_t(c.n_heads), d = size_t(c.dh());
  const auto shapes = c.layer_shapes();
  const size_t L = shapes.size();
  std::vector<size_t> off(L + 1, 0);  // layer l of problem p at off[l] · B · H + p · size_l
  for (size_t l = 0; l < L; ++l) off[l + 1] = off[l] + size_t(shapes[l].first * shapes[l].second);
  const size_t P = size_t(B) * H;
  Vec out(P * size_t(N) * d + 2 * P * off[L], 0.0);
  for (size_t p = 0; p < P; ++p) {
    const size_t h = p % H;
    Mlp W, S;
    for (size_t l = 0; l < L; ++l) {
      const size_t o = size_t(shapes[l].first), sz = off[l + 1] - off[l];
      W.w.push_back(Vec(w0[l].begin() + long(h * sz), w0[l].begin() + long((h + 1) * sz)));
      W.out.push_back(o);
      S.w.push_back(Vec(sz, 0.0));
      S.out.push_back(o);
    }
    Mlp W0 = W, S0 = S;  // the chunk-start state
    for (int64_t t = 0; t < N; ++t) {
      const size_t r = p * size_t(N) + size_t(t);
      const Vec qt(q.begin() + long(r * d), q.begin() + long((r + 1) * d));
      const Vec kt(k.begin() + long(r * d), k.begin() + long((r + 1) * d));
      const Vec vt(v.begin() + long(r * d), v.begin() + long((r + 1) * d));
      // Eq. 13–14 with the gradient frozen at the chunk start (§3.2).
      const std::vector<Vec> u = inner_grad(W0, kt, vt, c);
      for (size_t l = 0; l < L; ++l)
        for (size_t e = 0; e < u[l].size(); ++e) {
          S.w[l][e] = eta[r] * S.w[l][e] - theta[r] * u[l][e];
          W.w[l][e] = (1.0 - alpha[r]) * W.w[l][e] + S.w[l][e];
        }
      const Vec y = mlp_forward(W, qt, c);
      std::copy(y.begin(), y.end(), out.begin() + long(r * d));
      if ((t + 1) % c.chunk == 0) W0 = W, S0 = S;
    }
    const size_t base = P * size_t(N) * d;
    for (size_t l = 0; l < L; ++l) {
      const size_t sz = off[l + 1] - off[l];
      std::copy(W0.w[l].begin(), W0.w[l].end(), out.begin() + long(base + off[l] * P + p * sz));
      std::copy(S0.w[l].begin(), S0.w[l].end(),
                out.begin() + long(base + off[L] * P + off[l] * P + p * sz));
    }
  }
  return out;
}

}  // namespace titans
