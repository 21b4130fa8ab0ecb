#include "models/titans_common.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"

namespace titans {

Tensor add_linear_weight(ParamStore& store, Rng& rng, const std::string& name, int64_t out, int64_t in) {
  const Tensor t = store.add(name, Shape{out, in});
  const double bound = 1.0 / std::sqrt(double(in));
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<T>()[i] = T(bound * (2.0 * rng.uniform() - 1.0));
  });
  return t;
}

Tensor add_norm_weight(ParamStore& store, const std::string& name, int64_t d) {
  const Tensor t = store.add(name, Shape{d}, ParamOptions{false, 1.0});
  init_constant(t, 1.0);
  return t;
}

Tensor add_persistent(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng) {
  if (cfg.n_persistent <= 0) return Tensor{};
  const Tensor p = store.add("layers." + std::to_string(layer) + ".persistent",
                             Shape{cfg.n_persistent, cfg.d_model}, ParamOptions{false, 1.0});
  init_normal(p, rng, 1.0);
  return p;
}

NeuralMemoryConfig titans_memory_config(const ModelConfig& cfg) {
  NeuralMemoryConfig m = cfg.memory;
  m.d_model = cfg.d_model;
  m.n_heads = cfg.n_heads;
  m.head_dim = cfg.head_dim;
  return m;
}

Tensor linear(Graph& g, const Tensor& x, const Tensor& w) {
  return ops::matmul(g, x, ops::transpose(g, w, 0, 1));
}

Tensor repeat_batch(Graph& g, const Tensor& p, int64_t batch) {
  return ops::add(g, g.zeros(Shape{batch, 1, 1}, p.dtype, false), p);
}

Tensor append_rows(Graph& g, const Tensor& a, const Tensor& b) {
  if (rows(a) == 0) return b;
  return ops::concat(g, {a, b}, 1);
}

Tensor last_rows(Graph& g, const Tensor& x, int64_t n) {
  const int64_t r = rows(x), keep = std::min(n, r);
  if (keep <= 0) return Tensor{};
  return keep == r ? x : ops::slice(g, x, 1, r - keep, r);
}

AttentionWeights AttentionWeights::add(const ModelConfig& cfg, const std::string& prefix, ParamStore& store,
                                       Rng& rng) {
  AttentionWeights a;
  const int64_t d = cfg.d_model, hd = cfg.inner_dim();
  a.w_q = add_linear_weight(store, rng, prefix + "w_q", hd, d);
  a.w_k = add_linear_weight(store, rng, prefix + "w_k", hd, d);
  a.w_v = add_linear_weight(store, rng, prefix + "w_v", hd, d);
  a.w_o = add_linear_weight(store, rng, prefix + "w_o", d, hd);
  a.n_heads = cfg.n_heads;
  a.head_dim = cfg.dh();
  a.rope_theta = cfg.rope_theta;
  return a;
}

Tensor AttentionWeights::heads(Graph& g, const Tensor& x, const Tensor& w) const {
  return ops::reshape(g, linear(g, x, w), Shape{x.shape[0], x.shape[1], n_heads, head_dim});
}

Tensor AttentionWeights::rotated(Graph& g, const Tensor& x, const Tensor& w, int64_t pos0) const {
  return ops::rope(g, heads(g, x, w), pos0, rope_theta);
}

Tensor AttentionWeights::persistent_heads(Graph& g, const Tensor& p, const Tensor& w, int64_t batch) const {
  return heads(g, repeat_batch(g, p, batch), w);
}

Tensor AttentionWeights::output(Graph& g, const Tensor& o) const {
  const Tensor flat = ops::reshape(g, o, Shape{o.shape[0], o.shape[1], n_heads * head_dim});
  return linear(g, flat, w_o);
}

double AttentionWeights::scale() const { return 1.0 / std::sqrt(double(head_dim)); }

}  // namespace titans
