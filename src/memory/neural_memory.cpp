// The chunked form of the Titans memory update (paper §3.2, Eq. 12–14; spec §4) as engine ops.
// Per chunk, everything is a matmul: the key path at the chunk-start weights and its backward give
// the inner gradients as outer products u_j^l = δ_j^l (a_j^{l−1})ᵀ; the in-chunk momentum/forgetting
// recurrences fold into coefficients a, e, f, n, G; per-token reads are b×b masked products.
#include "memory/neural_memory.h"

#include <cmath>

#include "memory/memory_fused_op.h"
#include "ops/ops.h"
#include "tensor/index_iter.h"

namespace titans {

using namespace ops;

namespace {

constexpr double kGeluC = 0.7978845608028654;  // √(2/π)
constexpr double kGeluA = 0.044715;

void init_uniform(const Tensor& t, Rng& rng, double bound) {
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<T>()[i] = T(bound * (2.0 * rng.uniform() - 1.0));
  });
}

Tensor scalar(Graph& g, double v, DType dt) {
  Tensor t = g.new_tensor(Shape{}, dt, false);
  dispatch_float(dt, [&](auto zero) { *t.ptr<decltype(zero)>() = decltype(zero)(v); });
  return t;
}

// x [..., in] · Wᵀ with W [out, in] (PyTorch Linear layout).
Tensor linear(Graph& g, const Tensor& x, const Tensor& w) { return matmul(g, x, transpose(g, w, 0, 1)); }

Tensor tr(Graph& g, const Tensor& x) { return transpose(g, x, -2, -1); }

// Concatenation of any number of parts (concat takes at most kMaxOpInputs at a time).
Tensor concat_all(Graph& g, std::vector<Tensor> parts, int axis) {
  while (parts.size() > 1) {
    std::vector<Tensor> next;
    for (size_t i = 0; i < parts.size(); i += 4) {
      const size_t n = std::min<size_t>(4, parts.size() - i);
      if (n == 1) next.push_back(parts[i]);
      else if (n == 2) next.push_back(concat(g, {parts[i], parts[i + 1]}, axis));
      else if (n == 3) next.push_back(concat(g, {parts[i], parts[i + 1], parts[i + 2]}, axis));
      else next.push_back(concat(g, {parts[i], parts[i + 1], parts[i + 2], parts[i + 3]}, axis));
    }
    parts = std::move(next);
  }
  return parts[0];
}

// [B, H, n, ...] a, then b along axis 2 (either may be empty/undefined).
Tensor append(Graph& g, const Tensor& a, const Tensor& b) {
  if (!a.data || a.shape[2] == 0) return b;
  return concat(g, {a, b}, 2);
}

}  // namespace

NeuralMemory::NeuralMemory(const NeuralMemoryConfig& cfg, ParamStore& store, Rng& rng,
                           const std::string& prefix)
    : cfg_(cfg), dtype_(store.dtype()) {
  TITANS_CHECK(cfg.validate().ok(), "NeuralMemory: invalid config (call validate() first)");
  const int64_t D = cfg.d_model, H = cfg.n_heads, HD = cfg.inner_dim(), K = cfg.conv_kernel;
  const ParamOptions no_decay{false, 1.0};
  const auto lin = [&](const char* name, int64_t out, int64_t in) {
    Tensor t = store.add(prefix + name, Shape{out, in});
    init_uniform(t, rng, 1.0 / std::sqrt(double(in)));
    return t;
  };
  p_.w_q = lin("w_q", HD, D);
  p_.w_k = lin("w_k", HD, D);
  p_.w_v = lin("w_v", HD, D);
  p_.conv_q = lin("conv_q", HD, K);
  p_.conv_k = lin("conv_k", HD, K);
  p_.conv_v = lin("conv_v", HD, K);
  Tensor* gw[3] = {&p_.w_theta, &p_.w_eta, &p_.w_alpha};
  Tensor* gb[3] = {&p_.b_theta, &p_.b_eta, &p_.b_alpha};
  const char* gname[3] = {"theta", "eta", "alpha"};
  const double ginit[3] = {cfg.theta_init, cfg.eta_init, cfg.alpha_init};
  for (int i = 0; i < 3; ++i) {
    *gw[i] = lin((std::string("w_") + gname[i]).c_str(), H, D);
    *gb[i] = store.add(prefix + "b_" + gname[i], Shape{H}, no_decay);
    init_constant(*gb[i], std::log(ginit[i] / (1.0 - ginit[i])));  // sigmoid(b) = init value
  }
  int l = 1;
  for (auto [o, i] : cfg.layer_shapes()) {
    Tensor w = store.add(prefix + "mem_w0." + std::to_string(l++), Shape{H, o, i});
    init_normal(w, rng, 1.0 / std::sqrt(double(i)));
    p_.mem_w0.push_back(w);
  }
  p_.w_gate = lin("w_gate", HD, D);
  p_.norm_out = store.add(prefix + "norm_out", Shape{HD}, no_decay);
  init_constant(p_.norm_out, 1.0);
  p_.w_out = lin("w_out", D, HD);
}

std::vector<std::pair<std::string, Tensor>> NeuralMemory::named_params() const {
  std::vector<std::pair<std::string, Tensor>> v = {
      {"w_q", p_.w_q},         {"w_k", p_.w_k},         {"w_v", p_.w_v},
      {"conv_q", p_.conv_q},   {"conv_k", p_.conv_k},   {"conv_v", p_.conv_v},
      {"w_theta", p_.w_theta}, {"b_theta", p_.b_theta}, {"w_eta", p_.w_eta},
      {"b_eta", p_.b_eta},     {"w_alpha", p_.w_alpha}, {"b_alpha", p_.b_alpha}};
  for (size_t l = 0; l < p_.mem_w0.size(); ++l)
    v.push_back({"mem_w0." + std::to_string(l + 1), p_.mem_w0[l]});
  v.push_back({"w_gate", p_.w_gate});
  v.push_back({"norm_out", p_.norm_out});
  v.push_back({"w_out", p_.w_out});
  return v;
}

MemoryState copy_state(Graph& g, const MemoryState& s) {
  const auto copy = [&](const Tensor& t) {
    if (t.ndim() == 0) return Tensor{};
    Tensor c = g.new_tensor(t.shape, t.dtype, false);
    dispatch_float(t.dtype, [&](auto zero) {
      using T = decltype(zero);
      for_each_index(t.shape, [&](const int64_t* idx, int64_t i) { c.ptr<T>()[i] = t.ptr<T>()[element_offset(t, idx)]; });
    });
    return c;
  };
  MemoryState out;
  for (const Tensor& t : s.w) out.w.push_back(copy(t));
  for (const Tensor& t : s.s) out.s.push_back(copy(t));
  out.tail_q = copy(s.tail_q), out.tail_k = copy(s.tail_k), out.tail_v = copy(s.tail_v);
  out.pend_k = copy(s.pend_k), out.pend_v = copy(s.pend_v);
  out.pend_theta = copy(s.pend_theta), out.pend_eta = copy(s.pend_eta), out.pend_alpha = copy(s.pend_alpha);
  out.pos = s.pos;
  return out;
}

bool NeuralMemory::needs_grad(const Graph& g, const Tensor& x, const MemoryState& st) const {
  if (!g.grad_enabled()) return false;
  bool any = x.grad != nullptr;
  for (const auto& [name, t] : named_params()) any = any || t.grad != nullptr;
  for (const auto* list : {&st.w, &st.s})
    for (const Tensor& t : *list) any = any || t.grad != nullptr;
  for (const Tensor* t : {&st.tail_q, &st.tail_k, &st.tail_v, &st.pend_k, &st.pend_v,
                          &st.pend_theta, &st.pend_eta, &st.pend_alpha})
    any = any || t->grad != nullptr;
  return any;
}

MemoryState NeuralMemory::initial_state(Graph& g, int64_t B, bool shared_w0) const {
  MemoryState st;
  const Tensor zero_b = g.zeros(Shape{B, 1, 1, 1}, dtype_, false);
  for (const Tensor& w0 : p_.mem_w0) {
    if (shared_w0) {  // the fused loop reads W_0 with batch stride 0, S = 0 from nothing
      st.w.push_back(w0);
      st.s.push_back(Tensor{});
      continue;
    }
    st.w.push_back(add(g, zero_b, w0));  // W_0 broadcast over the batch, gradient to the parameter
    st.s.push_back(g.zeros(Shape{B, w0.shape[0], w0.shape[1], w0.shape[2]}, dtype_, false));
  }
  const Shape tail{B, cfg_.conv_kernel - 1, cfg_.inner_dim()};
  st.tail_q = g.zeros(tail, dtype_, false);
  st.tail_k = g.zeros(tail, dtype_, false);
  st.tail_v = g.zeros(tail, dtype_, false);
  return st;
}

namespace {

// φ of the memory MLP and its derivative, written with engine ops so it is differentiable again
// (outer gradients flow through the inner backward, spec §7).
Tensor phi(Graph& g, const Tensor& z, MemoryActivation act) {
  return act == MemoryActivation::gelu ? gelu(g, z) : silu(g, z);
}

Tensor phi_prime(Graph& g, const Tensor& z, MemoryActivation act) {
  const Tensor one = scalar(g, 1.0, z.dtype);
  if (act == MemoryActivation::silu) {  // s (1 + z (1 − s))
    const Tensor s = sigmoid(g, z);
    return mul(g, s, add(g, one, mul(g, z, sub(g, one, s))));
  }
  // GELU (tanh form) with tanh(u) = 2σ(2u) − 1: φ' = s + 2c z s (1 − s)(1 + 3A z²), s = σ(2u).
  const Tensor z2 = mul(g, z, z);
  const Tensor u = scale(g, add(g, z, scale(g, mul(g, z2, z), kGeluA)), 2.0 * kGeluC);
  const Tensor s = sigmoid(g, u);
  const Tensor t = mul(g, mul(g, z, mul(g, s, sub(g, one, s))), add(g, one, scale(g, z2, 3 * kGeluA)));
  return add(g, s, scale(g, t, 2.0 * kGeluC));
}

// [B, H, 1] slice of a [B, H, b] row at index i, as [B, H, 1, 1].
Tensor at4(Graph& g, const Tensor& v, int64_t i) {
  const Tensor s = slice(g, v, 2, i, i + 1);
  return reshape(g, s, Shape{s.shape[0], s.shape[1], 1, 1});
}

// Spec §8: where the first non-finite value of t [B, H, n, ...] is (batch, head, index n), if any.
bool find_nonfinite(const Tensor& t, int64_t where[3]) {
  bool found = false;
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    if (t.is_contiguous()) {  // the common case: a plain scan, the index only when something is bad
      const T* p = t.ptr<T>();
      T acc = T(0);
      for (int64_t i = 0; i < t.numel(); ++i) acc += p[i] * T(0);  // NaN·0 and ±inf·0 are NaN
      if (std::isfinite(double(acc))) return;
    }
    for_each_index(t.shape, [&](const int64_t* idx, int64_t) {
      if (found || std::isfinite(double(t.ptr<T>()[element_offset(t, idx)]))) return;
      found = true;
      for (int i = 0; i < 3; ++i) where[i] = i < t.ndim() ? idx[i] : 0;
    });
  });
  return found;
}

// An error naming what, layer (0: none), batch, head and the global position (pos0 + index).
Status check_finite(const Tensor& t, const char* what, int layer, int64_t pos0, bool fixed_pos = false) {
  int64_t w[3];
  if (!find_nonfinite(t, w)) return {};
  const std::string at = layer > 0 ? "layer " + std::to_string(layer) + ", " : "";
  return Status::error("memory: non-finite " + std::string(what) + ": " + at + "batch " +
                       std::to_string(w[0]) + ", head " + std::to_string(w[1]) + ", position " +
                       std::to_string(fixed_pos ? pos0 : pos0 + w[2]));
}

// Spec §2 for one stream: projection, causal depthwise conv continued from `tail` (replaced by the
// last K−1 pre-conv projections), SiLU, heads, optional L2-norm. x [B, T, D] → [B, H, T, d].
Tensor project(Graph& g, const NeuralMemoryConfig& c, const Tensor& x, const Tensor& w,
               const Tensor& conv, Tensor& tail, bool normalise) {
  const int64_t B = x.shape[0], T = x.shape[1], K = c.conv_kernel;
  Tensor full = linear(g, x, w);  // [B, T, HD]
  if (K > 1) full = concat(g, {tail, full}, 1);
  const Tensor y = slice(g, causal_conv1d(g, full, conv), 1, K - 1, K - 1 + T);
  if (K > 1) tail = slice(g, full, 1, T, T + K - 1);
  Tensor f = reshape(g, silu(g, y), Shape{B, T, c.n_heads, c.dh()});
  if (normalise) f = l2norm(g, f, c.l2_eps);
  return contiguous(g, transpose(g, f, 1, 2));
}

// Coefficients of one chunk (spec §4) from its gates θ, η, α [B, H, m]; products of numbers in
// [0, 1] only: P(η)_ij = Π_{k=j+1..i} η_k, e_i = Π_{k≤i} η_k, a_i = Π_{k≤i} γ_k (γ = 1 − α),
// n_ij = θ_j P(η)_ij, and f_i = γ_i f_{i−1} + e_i, G_ij = γ_i G_{i−1,j} + n_ij unrolled as f = Γ e,
// G = Γ n with Γ = P(γ).
struct Coeffs {
  Tensor a, e, f;  // [B, H, m, 1]
  Tensor n, G;     // [B, H, m, m], lower triangular
};

Coeffs coefficients(Graph& g, const Tensor& th, const Tensor& et, const Tensor& al) {
  const int64_t B = th.shape[0], H = th.shape[1], m = th.shape[2];
  const Tensor gam = sub(g, scalar(g, 1.0, th.dtype), al);
  const Tensor Pe = tri_cumprod(g, et), Gam = tri_cumprod(g, gam);
  Coeffs co;
  co.e = mul(g, slice(g, Pe, 3, 0, 1), at4(g, et, 0));
  co.a = mul(g, slice(g, Gam, 3, 0, 1), at4(g, gam, 0));
  co.n = mul(g, Pe, reshape(g, th, Shape{B, H, 1, m}));
  co.f = matmul(g, Gam, co.e);
  co.G = matmul(g, Gam, co.n);
  return co;
}

// The key path at the chunk-start weights W0 and its backward from 2 (M_0(k_j) − v_j) (Eq. 12, no ½):
// the inner gradient of layer l at token j is the outer product δ_j^l (a_j^{l−1})ᵀ.
struct KeyPath {
  std::vector<Tensor> acts, deltas;  // per layer: [B, H, m, in_l], [B, H, m, out_l]
};

KeyPath key_path(Graph& g, const NeuralMemoryConfig& c, const std::vector<Tensor>& W0, const Tensor& k,
                 const Tensor& v) {
  const int L = c.depth;
  KeyPath kp;
  kp.deltas.resize(static_cast<size_t>(L));
  std::vector<Tensor> zs;
  Tensor h = k;
  for (int l = 0; l < L; ++l) {
    kp.acts.push_back(h);
    zs.push_back(matmul(g, h, tr(g, W0[l])));
    h = l < L - 1 ? phi(g, zs.back(), c.activation) : zs.back();
  }
  Tensor delta = scale(g, sub(g, c.residual ? add(g, h, k) : h, v), 2.0);
  for (int l = L - 1; l >= 0; --l) {
    kp.deltas[l] = delta;
    if (l > 0) delta = mul(g, matmul(g, delta, W0[l]), phi_prime(g, zs[l - 1], c.activation));
  }
  return kp;
}

// (W, S) after local token i: W_i = a_i W_0 + f_i S_0 − Σ_j G_ij δ_j a_jᵀ, S_i = e_i S_0 − Σ_j n_ij δ_j a_jᵀ.
Status advance(Graph& g, const Coeffs& co, const KeyPath& kp, int64_t i, std::vector<Tensor>& W,
               std::vector<Tensor>& S, int64_t pos) {
  const Tensor Gi = tr(g, slice(g, co.G, 2, i, i + 1)), ni = tr(g, slice(g, co.n, 2, i, i + 1));  // [B,H,m,1]
  const Tensor ai = slice(g, co.a, 2, i, i + 1), ei = slice(g, co.e, 2, i, i + 1);
  const Tensor fi = slice(g, co.f, 2, i, i + 1);
  for (size_t l = 0; l < W.size(); ++l) {
    const Tensor sumG = matmul(g, tr(g, mul(g, kp.deltas[l], Gi)), kp.acts[l]);
    const Tensor sumN = matmul(g, tr(g, mul(g, kp.deltas[l], ni)), kp.acts[l]);
    const Tensor w_new = sub(g, add(g, mul(g, ai, W[l]), mul(g, fi, S[l])), sumG);
    S[l] = sub(g, mul(g, ei, S[l]), sumN);
    W[l] = w_new;
    for (auto [what, t] : {std::pair{"memory weights", &W[l]}, std::pair{"momentum", &S[l]}})
      if (Status s = check_finite(*t, what, int(l) + 1, pos, true); !s.ok()) return s;
  }
  return {};
}

// Spec §5 [choice]: W_O (RMSNorm(y) ⊙ SiLU(W_G x)), RMS over all H·d_h features; y [B, H, T, d].
Tensor output_path(Graph& g, const NeuralMemory::Params& p, const NeuralMemoryConfig& c,
                   const Tensor& y_heads, const Tensor& x) {
  const Tensor y = reshape(g, transpose(g, y_heads, 1, 2), Shape{x.shape[0], x.shape[1], c.inner_dim()});
  const Tensor gated = mul(g, rmsnorm(g, y, p.norm_out, c.rms_eps), silu(g, linear(g, x, p.w_gate)));
  return linear(g, gated, p.w_out);
}

}  // namespace

Result<Tensor> NeuralMemory::forward(Graph& g, const Tensor& x, MemoryState* state) const {
  const NeuralMemoryConfig& c = cfg_;
  if (x.ndim() != 3 || x.shape[2] != c.d_model)
    return Status::error("memory: x must be [B, T, d_model], got " + x.shape.str());
  if (x.dtype != dtype_) return Status::error("memory: x dtype differs from the parameters'");
  const int64_t B = x.shape[0], T = x.shape[1], H = c.n_heads, d = c.dh(), b = c.chunk;
  const int L = c.depth;
  MemoryState st = state ? *state : MemoryState{};  // committed to *state only on success
  const bool fused = needs_grad(g, x, st) ? c.fused_training : c.fused_inference;
  if (!st.started()) st = initial_state(g, B, fused && T > 0);
  else if (st.w[0].shape[0] != B) return Status::error("memory: state batch differs from x's");
  if (T == 0) {
    if (state) *state = st;
    return g.zeros(Shape{B, 0, c.d_model}, dtype_, false);
  }
  const DType dt = dtype_;

  Tensor q = project(g, c, x, p_.w_q, p_.conv_q, st.tail_q, true);
  Tensor k = project(g, c, x, p_.w_k, p_.conv_k, st.tail_k, true);
  Tensor v = project(g, c, x, p_.w_v, p_.conv_v, st.tail_v, false);
  // Gates (§3.2 "functions of tokens"): θ = theta_max σ(w_θ·x + b_θ), η, α likewise or 0 if disabled.
  const auto pre = [&](const Tensor& w, const Tensor& bias) { return add(g, linear(g, x, w), bias); };  // [B, T, H]
  const auto heads = [&](const Tensor& z, double mult) {
    const Tensor s = sigmoid(g, z);
    return contiguous(g, transpose(g, mult == 1.0 ? s : scale(g, s, mult), 1, 2));
  };
  const auto gate = [&](const Tensor& w, const Tensor& bias, bool on) {
    return on ? heads(pre(w, bias), 1.0) : g.zeros(Shape{B, H, T}, dt, false);
  };
  const Tensor z_theta = pre(p_.w_theta, p_.b_theta);
  if (g.collecting_write_gates() && z_theta.grad) g.add_write_gate_logits(z_theta);
  Tensor theta = heads(z_theta, c.theta_max);
  Tensor eta = gate(p_.w_eta, p_.b_eta, c.momentum);
  Tensor alpha = gate(p_.w_alpha, p_.b_alpha, c.decay);
  const int64_t pos0 = st.pos;
  {
    const std::pair<const char*, const Tensor*> inputs[6] = {
        {"query", &q}, {"key", &k}, {"value", &v}, {"gate", &theta}, {"gate", &eta}, {"gate", &alpha}};
    for (auto [what, t] : inputs)
      if (Status s = check_finite(*t, what, 0, pos0); !s.ok()) return s;
  }

  // Chunk boundaries are global: the pending tokens of the unfinished chunk are prepended and their
  // reads recomputed and dropped (simple; costs up to b−1 recomputed tokens per call).
  const int64_t np = st.pending();
  if (np > 0) q = concat(g, {g.zeros(Shape{B, H, np, d}, dt, false), q}, 2);
  k = append(g, st.pend_k, k);
  v = append(g, st.pend_v, v);
  theta = append(g, st.pend_theta, theta);
  eta = append(g, st.pend_eta, eta);
  alpha = append(g, st.pend_alpha, alpha);
  const int64_t N = np + T, nc = (N + b - 1) / b, pad = nc * b - N;
  const auto finish = [&](const Tensor& y_heads, std::vector<Tensor> W, std::vector<Tensor> S) {
    const Tensor out = output_path(g, p_, c, slice(g, y_heads, 2, np, np + T), x);
    st.w = std::move(W);
    st.s = std::move(S);
    const int64_t start = N / b * b;  // first token of the unfinished chunk
    if (start < N) {
      st.pend_k = slice(g, k, 2, start, N), st.pend_v = slice(g, v, 2, start, N);
      st.pend_theta = slice(g, theta, 2, start, N), st.pend_eta = slice(g, eta, 2, start, N);
      st.pend_alpha = slice(g, alpha, 2, start, N);
    } else {
      st.pend_k = st.pend_v = st.pend_theta = st.pend_eta = st.pend_alpha = Tensor{};
    }
    st.pos += T;
    if (state) *state = st;
    return out;
  };
  // The fused inner loop (memory_fused_op.h: forward kernel, and one op with a hand-written
  // backward when a gradient is needed): the same results as the ops below.
  if (fused) {
    Result<MemoryLoopOutputs> r =
        memory_loop(g, c, MemoryLoopInputs{q, k, v, theta, eta, alpha, st.w, st.s}, pos0 - np);
    if (!r.ok()) return r.status();
    return finish(r->y, std::move(r->w), std::move(r->s));
  }
  if (pad > 0) {  // zero tokens after the last real one: they reach no real output
    const Tensor z4 = g.zeros(Shape{B, H, pad, d}, dt, false), z3 = g.zeros(Shape{B, H, pad}, dt, false);
    q = concat(g, {q, z4}, 2), k = concat(g, {k, z4}, 2), v = concat(g, {v, z4}, 2);
    theta = concat(g, {theta, z3}, 2), eta = concat(g, {eta, z3}, 2), alpha = concat(g, {alpha, z3}, 2);
  }

  std::vector<Tensor> W0 = st.w, S0 = st.s, ys;
  for (int64_t ci = 0; ci < nc; ++ci) {
    const int64_t t0 = ci * b, t1 = t0 + b;
    const Tensor qq = slice(g, q, 2, t0, t1);
    const Coeffs co = coefficients(g, slice(g, theta, 2, t0, t1), slice(g, eta, 2, t0, t1),
                                   slice(g, alpha, 2, t0, t1));
    const KeyPath kp = key_path(g, c, W0, slice(g, k, 2, t0, t1), slice(g, v, 2, t0, t1));
    // Reads after the write (spec §5): W_i h_i = a_i W_0 h_i + f_i S_0 h_i − Σ_{j≤i} G_ij (a_j·h_i) δ_j,
    // all i at once as a b×b masked product.
    Tensor h = qq;
    for (int l = 0; l < L; ++l) {
      const Tensor scores = mul(g, matmul(g, h, tr(g, kp.acts[l])), co.G);
      const Tensor o = sub(g, add(g, mul(g, co.a, matmul(g, h, tr(g, W0[l]))),
                                  mul(g, co.f, matmul(g, h, tr(g, S0[l])))),
                           matmul(g, scores, kp.deltas[l]));
      // In a chunk a bad key also reaches earlier reads (0·NaN in the masked product): the position
      // reported is the first bad one of the chunk.
      if (Status s = check_finite(o, "memory read", l + 1, pos0 - np + t0); !s.ok()) return s;
      h = l < L - 1 ? phi(g, o, c.activation) : o;
    }
    ys.push_back(c.residual ? add(g, h, qq) : h);
    if (ci < nc - 1 || pad == 0) {  // a full chunk: its end state starts the next one
      if (Status s = advance(g, co, kp, b - 1, W0, S0, pos0 - np + t1 - 1); !s.ok()) return s;
    }
  }
  return finish(concat_all(g, ys, 2), W0, S0);
}

Result<Tensor> NeuralMemory::read_only(Graph& g, const Tensor& q_input, const MemoryState* state,
                                       const Tensor* q_tail) const {
  const NeuralMemoryConfig& c = cfg_;
  if (q_input.ndim() != 3 || q_input.shape[2] != c.d_model)
    return Status::error("memory: q_input must be [B, T, d_model], got " + q_input.shape.str());
  if (q_input.dtype != dtype_) return Status::error("memory: q_input dtype differs from the parameters'");
  const int64_t B = q_input.shape[0], T = q_input.shape[1];
  const MemoryState st = state && state->started() ? *state : initial_state(g, B);
  if (st.w[0].shape[0] != B) return Status::error("memory: state batch differs from q_input's");
  const Shape tail_shape{B, c.conv_kernel - 1, c.inner_dim()};
  if (q_tail && q_tail->shape != tail_shape)
    return Status::error("memory: q_tail must be " + tail_shape.str() + ", got " + q_tail->shape.str());
  if (T == 0) return g.zeros(Shape{B, 0, c.d_model}, dtype_, false);
  // The current weights: the chunk-start state advanced over the pending tokens.
  std::vector<Tensor> W = st.w, S = st.s;
  if (const int64_t np = st.pending(); np > 0) {
    const Coeffs co = coefficients(g, st.pend_theta, st.pend_eta, st.pend_alpha);
    const KeyPath kp = key_path(g, c, W, st.pend_k, st.pend_v);
    if (Status s = advance(g, co, kp, np - 1, W, S, st.pos - 1); !s.ok()) return s;
  }
  Tensor tail = q_tail ? *q_tail : g.zeros(tail_shape, dtype_, false);
  const Tensor q = project(g, c, q_input, p_.w_q, p_.conv_q, tail, true);  // [B, H, T, d]
  if (Status s = check_finite(q, "query", 0, 0); !s.ok()) return s;
  Tensor h = q;
  for (int l = 0; l < c.depth; ++l) {  // every token reads the same weights: plain batched matmuls
    h = matmul(g, h, tr(g, W[size_t(l)]));
    if (Status s = check_finite(h, "memory read", l + 1, 0); !s.ok()) return s;
    if (l < c.depth - 1) h = phi(g, h, c.activation);
  }
  return output_path(g, p_, c, c.residual ? add(g, h, q) : h, q_input);
}

}  // namespace titans
