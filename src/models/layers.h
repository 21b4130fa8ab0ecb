// Building blocks shared by the architectures' layers (docs/MODELS.md): parameter creation with the
// contract's initialisation (§11), Linear in PyTorch's [out, in] layout, and the sublayer record.
#pragma once

#include <memory>
#include <string>

#include "models/mixer.h"

namespace titans {

// Uniform in ±bound (the Linear initialisation of docs/MODELS.md §11 with bound = 1/sqrt(in)).
void init_uniform(const Tensor& t, Rng& rng, double bound);

// A Linear weight [out, in], uniform ±1/sqrt(in), with weight decay.
Tensor add_linear(ParamStore& store, Rng& rng, const std::string& name, int64_t out, int64_t in);
// An RMSNorm scale [d], ones, without weight decay (decaying a scale towards 0 is not a prior).
Tensor add_norm(ParamStore& store, const std::string& name, int64_t d);

// Linear(x, w) = x wᵀ for w [out, in]: x [..., in] → [..., out].
Tensor linear(Graph& g, const Tensor& x, const Tensor& w);
// A scalar constant (shape []) of dtype `dt`, broadcast by the elementwise ops.
Tensor constant(Graph& g, double value, DType dt);

// `layers.<layer>.<name>`: the parameter names of docs/FORMAT.md.
std::string layer_name(int layer, const std::string& name);

// The sublayer x ← x + mixer(RMSNorm(x, norm)) (norm from add_norm, e.g. "layers.0.norm_mix").
inline Sublayer make_sublayer(const std::string& norm_name, const Tensor& norm, std::unique_ptr<Mixer> mixer) {
  Sublayer s;
  s.norm_name = norm_name;
  s.norm = norm;
  s.mixer = std::move(mixer);
  return s;
}

}  // namespace titans
