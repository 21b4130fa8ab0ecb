// Causal softmax attention as a mixer (docs/MODELS.md §3): the transformer's full attention, the
// sliding window of swa / titans_mal / titans_mag, and the pieces other mixers build on (Infini's
// local attention, MAC's segment attention, MAG's persistent prefix).
//
// Layouts: activations [B, T, d]; heads [B, T, H, d_h] (the view a [B, T, H·d_h] projection
// reshapes to, the layout ops::attention takes). RoPE is applied to q and k at the tokens' global
// positions (0 = first token of the sequence), never to persistent-memory keys (§4).
//
// For the Titans mixers:
//   AttentionParams p = add_attention_params(cfg, store, rng, layer_name(i, "attn."));
//   // MAG / MAL: sliding-window attention with an always-visible persistent prefix P [N_p, d]
//   Tensor y = causal_attention(g, p, n, pos0, cfg.window, st.k, st.v, &P);
//   // MAC: build the keys yourself and call ops::attention with n_blocks = 2:
//   Tensor q = rope_heads(g, p, project_heads(g, p, p.w_q, n_s), pos0);
//   auto [pk, pv] = prefix_kv(g, p, P, B);   ...   merge_heads(g, p, ops::attention(...))
#pragma once

#include <string>
#include <utility>

#include "models/layers.h"
#include "ops/attention.h"

namespace titans {

// The projections of one attention sublayer: w_q, w_k, w_v [H·d_h, d], w_o [d, H·d_h].
struct AttentionParams {
  Tensor w_q, w_k, w_v, w_o;
  int64_t n_heads = 1, head_dim = 0;
  double rope_theta = 10000.0;
  double scale() const;  // 1 / sqrt(d_h)
};

// Adds prefix + "w_q", "w_k", "w_v", "w_o" (e.g. prefix "layers.3.attn.") with cfg's heads.
AttentionParams add_attention_params(const ModelConfig& cfg, ParamStore& store, Rng& rng,
                                     const std::string& prefix);

// Linear(x, w) [B, T, H·d_h] viewed as heads [B, T, H, d_h].
Tensor project_heads(Graph& g, const AttentionParams& p, const Tensor& w, const Tensor& x);
// RoPE of heads [B, T, H, d_h] at global positions pos0 … pos0+T−1.
Tensor rope_heads(Graph& g, const AttentionParams& p, const Tensor& heads, int64_t pos0);
// Heads [B, T, H, d_h] concatenated and projected by w_o → [B, T, d].
Tensor merge_heads(Graph& g, const AttentionParams& p, const Tensor& heads);
// Keys and values of a persistent prefix P [N_p, d]: Linear(P, w_k / w_v), no RoPE (P has no
// position), broadcast over the batch → two [B, N_p, H, d_h].
std::pair<Tensor, Tensor> prefix_kv(Graph& g, const AttentionParams& p, const Tensor& P, int64_t batch);
// Keys [a | b] along the token axis (either may be undefined or empty).
Tensor concat_tokens(Graph& g, const Tensor& a, const Tensor& b);

// One call of causal attention over x [B, T, d] (the normalised sublayer input), the tokens at
// global positions pos0 … pos0+T−1 → [B, T, d] (after w_o).
//   cache_k, cache_v [B, C, H, d_h]: keys (after RoPE) and values of earlier tokens, read and
//     replaced: every token is kept when window == 0, else the last window − 1 (all a later query
//     can see). Undefined (a default Tensor) = no earlier tokens.
//   window: 0 = full causal; W = each query sees itself and the W − 1 tokens before it.
//   prefix: optional persistent memory P [N_p, d], visible to every query (n_prefix of the mask).
Tensor causal_attention(Graph& g, const AttentionParams& p, const Tensor& x, int64_t pos0,
                        int64_t window, Tensor& cache_k, Tensor& cache_v, const Tensor* prefix = nullptr);

// The mixer of transformer (window 0) and swa (window = cfg.window): causal_attention with the
// layer's KV cache in LayerState::k / v.
class AttentionMixer : public Mixer {
 public:
  AttentionMixer(const AttentionParams& p, int64_t window) : p_(p), window_(window) {}
  Result<Tensor> forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const override;

 private:
  AttentionParams p_;
  int64_t window_;
};

}  // namespace titans
