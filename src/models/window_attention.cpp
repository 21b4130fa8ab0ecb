#include "models/window_attention.h"

#include <string>

#include "ops/attention.h"
#include "ops/ops.h"

namespace titans {

Tensor window_attention(Graph& g, const AttentionWeights& w, const Tensor& persistent, int64_t window,
                        const Tensor& n, int64_t pos0, Tensor& k_cache, Tensor& v_cache) {
  const int64_t B = n.shape[0], cached = rows(k_cache);
  const Tensor q = w.rotated(g, n, w.w_q, pos0);
  const Tensor k_all = append_rows(g, k_cache, w.rotated(g, n, w.w_k, pos0));
  const Tensor v_all = append_rows(g, v_cache, w.heads(g, n, w.w_v));
  Tensor k = k_all, v = v_all;
  ops::AttentionMask mask;
  mask.window = window;
  mask.q_pos0 = cached;  // the cache's keys sit at block positions 0 … cached−1
  if (persistent.ndim() == 2) {
    mask.n_prefix = persistent.shape[0];
    k = ops::concat(g, {w.persistent_heads(g, persistent, w.w_k, B), k_all}, 1);
    v = ops::concat(g, {w.persistent_heads(g, persistent, w.w_v, B), v_all}, 1);
  }
  // Every query sees at most window−1 earlier tokens: the cache keeps exactly those.
  k_cache = last_rows(g, k_all, window - 1);
  v_cache = last_rows(g, v_all, window - 1);
  return w.output(g, ops::attention(g, q, k, v, mask, w.scale()));
}

WindowAttentionMixer::WindowAttentionMixer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng)
    : attn_(AttentionWeights::add(cfg, "layers." + std::to_string(layer) + ".attn.", store, rng)),
      window_(cfg.window) {}

Result<Tensor> WindowAttentionMixer::forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const {
  return window_attention(g, attn_, Tensor{}, window_, n, pos0, st.k, st.v);
}

}  // namespace titans
