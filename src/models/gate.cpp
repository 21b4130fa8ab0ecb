#include "models/gate.h"

#include "models/layers.h"
#include "ops/ops.h"

namespace titans {

Gate::Gate(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng)
    : kind_(cfg.gate), eps_(cfg.norm_eps) {
  norm_y_ = add_norm(store, layer_name(layer, "gate.norm_y"), cfg.d_model);
  norm_m_ = add_norm(store, layer_name(layer, "gate.norm_m"), cfg.d_model);
  w_o_ = add_linear(store, rng, layer_name(layer, "gate.w_o"), cfg.d_model, cfg.d_model);
}

Tensor Gate::forward(Graph& g, const Tensor& y, const Tensor& m) const {
  // Both branches are RMS-normalised first: their scales differ (attention output vs the memory's
  // W_O path), and the normalisation's learned weights let the model set their balance (Eq. 25/28).
  const Tensor ny = ops::rmsnorm(g, y, norm_y_, eps_);
  const Tensor nm = ops::rmsnorm(g, m, norm_m_, eps_);
  const Tensor mixed = kind_ == GateKind::sigmoid ? ops::mul(g, ny, ops::sigmoid(g, nm)) : ops::add(g, ny, nm);
  return linear(g, mixed, w_o_);
}

}  // namespace titans
