#include "models/attention_mixer.h"

#include <cmath>

#include "ops/ops.h"

namespace titans {

double AttentionParams::scale() const { return 1.0 / std::sqrt(double(head_dim)); }

AttentionParams add_attention_params(const ModelConfig& cfg, ParamStore& store, Rng& rng,
                                     const std::string& prefix) {
  AttentionParams p;
  p.n_heads = cfg.n_heads;
  p.head_dim = cfg.dh();
  p.rope_theta = cfg.rope_theta;
  const int64_t d = cfg.d_model, inner = cfg.inner_dim();
  p.w_q = add_linear(store, rng, prefix + "w_q", inner, d);
  p.w_k = add_linear(store, rng, prefix + "w_k", inner, d);
  p.w_v = add_linear(store, rng, prefix + "w_v", inner, d);
  p.w_o = add_linear(store, rng, prefix + "w_o", d, inner);
  return p;
}

Tensor project_heads(Graph& g, const AttentionParams& p, const Tensor& w, const Tensor& x) {
  const Tensor y = linear(g, x, w);
  Shape s = y.shape.with_last(p.n_heads);
  s.d[s.ndim++] = p.head_dim;
  return ops::reshape(g, y, s);
}

Tensor rope_heads(Graph& g, const AttentionParams& p, const Tensor& heads, int64_t pos0) {
  return ops::rope(g, heads, pos0, p.rope_theta);
}

Tensor merge_heads(Graph& g, const AttentionParams& p, const Tensor& heads) {
  const Tensor flat = ops::reshape(g, heads, Shape{heads.shape[0], heads.shape[1], p.n_heads * p.head_dim});
  return linear(g, flat, p.w_o);
}

std::pair<Tensor, Tensor> prefix_kv(Graph& g, const AttentionParams& p, const Tensor& P, int64_t batch) {
  // [1, N_p, d] projected, then + zeros [B, 1, 1, 1]: the batch copies share P's gradient.
  const Tensor p3 = ops::reshape(g, P, Shape{1, P.shape[0], P.shape[1]});
  const Tensor zero = g.zeros(Shape{batch, 1, 1, 1}, P.dtype, false);
  return {ops::add(g, zero, project_heads(g, p, p.w_k, p3)), ops::add(g, zero, project_heads(g, p, p.w_v, p3))};
}

Tensor concat_tokens(Graph& g, const Tensor& a, const Tensor& b) {
  if (a.ndim() == 0 || a.shape[1] == 0) return b;
  if (b.ndim() == 0 || b.shape[1] == 0) return a;
  return ops::concat(g, {a, b}, 1);
}

Tensor causal_attention(Graph& g, const AttentionParams& p, const Tensor& x, int64_t pos0,
                        int64_t window, Tensor& cache_k, Tensor& cache_v, const Tensor* prefix) {
  const Tensor q = rope_heads(g, p, project_heads(g, p, p.w_q, x), pos0);
  const Tensor k_new = rope_heads(g, p, project_heads(g, p, p.w_k, x), pos0);
  const Tensor v_new = project_heads(g, p, p.w_v, x);
  const Tensor k_seq = concat_tokens(g, cache_k, k_new), v_seq = concat_tokens(g, cache_v, v_new);
  const int64_t cached = k_seq.shape[1] - x.shape[1];

  // Keys [prefix | cache | new]: the mask's block starts at the first cached token (position 0 of
  // the block), so the queries sit at q_pos0 = cached (ops/attention.h).
  ops::AttentionMask mask;
  mask.window = window;
  mask.q_pos0 = cached;
  Tensor k = k_seq, v = v_seq;
  if (prefix) {
    auto [pk, pv] = prefix_kv(g, p, *prefix, x.shape[0]);
    mask.n_prefix = prefix->shape[0];
    k = ops::concat(g, {pk, k_seq}, 1);
    v = ops::concat(g, {pv, v_seq}, 1);
  }
  const Tensor heads = ops::attention(g, q, k, v, mask, p.scale());

  // Keep what a later query can still see: everything (full attention) or the last window − 1.
  const int64_t n = k_seq.shape[1], keep = window == 0 ? n : std::min(n, window - 1);
  cache_k = ops::slice(g, k_seq, 1, n - keep, n);
  cache_v = ops::slice(g, v_seq, 1, n - keep, n);
  return merge_heads(g, p, heads);
}

Result<Tensor> AttentionMixer::forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const {
  return causal_attention(g, p_, n, pos0, window_, st.k, st.v);
}

}  // namespace titans
