#include "models/mag_mixer.h"

namespace titans {

MagMixer::MagMixer(const ModelConfig& cfg, const NeuralMemoryConfig& mem_cfg, int layer, ParamStore& store,
                   Rng& rng)
    : persistent_(add_persistent(cfg, layer, store, rng)),
      attn_(add_attention_params(cfg, store, rng, layer_name(layer, "attn."))),
      memory_(persistent_, mem_cfg, layer, store, rng),
      gate_(cfg, layer, store, rng),
      window_(cfg.window) {}

Result<Tensor> MagMixer::forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const {
  // Both branches see the same P (one parameter). The memory branch may fail (spec §8), so the
  // attention's cache is committed only after it succeeded.
  Tensor k = st.k, v = st.v;
  const Tensor y = causal_attention(g, attn_, n, pos0, window_, k, v,
                                    persistent_rows(persistent_) > 0 ? &persistent_ : nullptr);
  Result<Tensor> m = memory_.forward(g, n, pos0, st.memory);
  if (!m.ok()) return m;
  st.k = k;
  st.v = v;
  return gate_.forward(g, y, *m);
}

}  // namespace titans
