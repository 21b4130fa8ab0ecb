// The baselines' layers (architectures.md §8–9, docs/MODELS.md "Contract" 2, 3, 10): one mixer
// sublayer each, normalised by `layers.i.norm_mix`.
#include "models/architectures.h"
#include "models/attention_mixer.h"
#include "models/infini_mixer.h"

namespace titans {

namespace {

Status add_attention_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                           std::vector<Sublayer>& out, int64_t window) {
  const Tensor norm = add_norm(store, layer_name(layer, "norm_mix"), cfg.d_model);
  const AttentionParams p = add_attention_params(cfg, store, rng, layer_name(layer, "attn."));
  out.push_back(make_sublayer(layer_name(layer, "norm_mix"), norm, std::make_unique<AttentionMixer>(p, window)));
  return {};
}

}  // namespace

// Transformer++: full causal attention; the KV cache keeps every token.
Status build_transformer_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                               std::vector<Sublayer>& out) {
  return add_attention_layer(cfg, layer, store, rng, out, 0);
}

// Sliding-window attention: each query sees itself and the window − 1 tokens before it.
Status build_swa_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                       std::vector<Sublayer>& out) {
  return add_attention_layer(cfg, layer, store, rng, out, cfg.window);
}

Status build_infini_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                          std::vector<Sublayer>& out) {
  const Tensor norm = add_norm(store, layer_name(layer, "norm_mix"), cfg.d_model);
  auto mixer = std::make_unique<InfiniMixer>(cfg, store, rng, layer_name(layer, "attn."));
  out.push_back(make_sublayer(layer_name(layer, "norm_mix"), norm, std::move(mixer)));
  return {};
}

}  // namespace titans
