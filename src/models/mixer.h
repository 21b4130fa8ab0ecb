// The pieces a block is made of (architectures.md §1): sublayers `x ← x + Mixer(RMSNorm(x, norm))`
// followed by the SwiGLU FFN sublayer. An architecture is the list of sublayers of each layer
// (models/architectures.h); LanguageModel does the rest (embedding, residuals, FFN, head).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/model.h"

namespace titans {

// A token mixer: n [B, T, d] (already RMS-normalised) → [B, T, d]. `pos0` is the global position
// of n's first token (0 at the sequence start); `st` is the layer's state (empty at the start),
// read and updated in place — shared by the sublayers of one layer, each using its own fields.
// Causal: the output at t depends on n's rows ≤ t and the state only.
class Mixer {
 public:
  virtual ~Mixer() = default;
  virtual Result<Tensor> forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const = 0;
};

struct Sublayer {
  std::string norm_name;  // e.g. "layers.0.norm_mix"
  Tensor norm;            // [d] RMSNorm weight
  std::unique_ptr<Mixer> mixer;
};

// Adds layer `layer`'s sublayers (their parameters named "layers.<layer>.…" in `store`) to `out`.
using BuildLayerFn = Status (*)(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                                std::vector<Sublayer>& out);

}  // namespace titans
