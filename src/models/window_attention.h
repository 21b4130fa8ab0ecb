// Sliding-window attention with an optional always-visible persistent prefix, streamed through a KV
// cache of the last window−1 tokens: titans_mag's attention branch (MODELS.md item 7, paper Eq. 26–27:
// SW-Attn*(P ‖ x) with P visible to every query) and — until the baselines' attention mixer is merged —
// titans_mal's second sublayer (item 6, Eq. 30, no prefix).
#pragma once

#include "models/mixer.h"
#include "models/titans_common.h"

namespace titans {

// n [B, T, d] at global position pos0 → [B, T, d]. Queries are n's rows only (P's outputs would be
// dropped, so they are never computed); keys/values are [P | cache | n] with P's recomputed from the
// parameter (no RoPE) and the cache the last window−1 tokens' (keys after RoPE), replaced in place by
// the new last window−1. `persistent` may be undefined (no prefix).
Tensor window_attention(Graph& g, const AttentionWeights& w, const Tensor& persistent, int64_t window,
                        const Tensor& n, int64_t pos0, Tensor& k_cache, Tensor& v_cache);

// titans_mal's sliding-window sublayer: state in LayerState::k, v.
class WindowAttentionMixer : public Mixer {
 public:
  WindowAttentionMixer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng);
  Result<Tensor> forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const override;

 private:
  AttentionWeights attn_;
  int64_t window_;
};

}  // namespace titans
