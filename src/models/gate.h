// The gate ⊗ that combines the attention branch y and the memory branch m in MAC and MAG
// (architectures.md §7; paper Eq. 25 for MAC, Eq. 28 for MAG: "normalise both branches with
// learnable vector-valued weights, then a non-linearity σ(.)"). MODELS.md item 9:
//   sigmoid: o = Linear(RMSNorm(y, gate.norm_y) ⊙ sigmoid(RMSNorm(m, gate.norm_m)), gate.w_o)
//   sum:     o = Linear(RMSNorm(y, gate.norm_y) + RMSNorm(m, gate.norm_m), gate.w_o)
#pragma once

#include "autodiff/graph.h"
#include "models/model_config.h"
#include "optim/params.h"
#include "util/rng.h"

namespace titans {

class Gate {
 public:
  // Adds `layers.<layer>.gate.norm_y` [d], `gate.norm_m` [d], `gate.w_o` [d, d] to `store`.
  Gate(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng);
  // y, m [B, T, d] → o [B, T, d].
  Tensor forward(Graph& g, const Tensor& y, const Tensor& m) const;

 private:
  GateKind kind_;
  double eps_;
  Tensor norm_y_, norm_m_, w_o_;
};

}  // namespace titans
