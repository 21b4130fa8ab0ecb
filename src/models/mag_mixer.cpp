#include "models/mag_mixer.h"

#include <string>

#include "models/window_attention.h"

namespace titans {

MagMixer::MagMixer(const ModelConfig& cfg, const NeuralMemoryConfig& mem_cfg, int layer, ParamStore& store,
                   Rng& rng)
    : persistent_(add_persistent(cfg, layer, store, rng)),
      attn_(AttentionWeights::add(cfg, "layers." + std::to_string(layer) + ".attn.", store, rng)),
      memory_(persistent_, mem_cfg, layer, store, rng),
      gate_(cfg, layer, store, rng),
      window_(cfg.window) {}

Result<Tensor> MagMixer::forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const {
  // Both branches see the same P (one parameter); the memory branch may fail (spec §8), so the
  // attention's cache is committed only after it succeeded.
  Tensor k = st.k, v = st.v;
  const Tensor y = window_attention(g, attn_, persistent_, window_, n, pos0, k, v);
  Result<Tensor> m = memory_.forward(g, n, pos0, st.memory);
  if (!m.ok()) return m;
  st.k = k;
  st.v = v;
  return gate_.forward(g, y, *m);
}

}  // namespace titans
