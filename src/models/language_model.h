// LanguageModel: the one Model class of every architecture (architectures.md §1, docs/MODELS.md
// "Contract" 1–2): token embedding → layers → RMSNorm(norm_f) → LM head. A layer is the sublayers
// its architecture's BuildLayerFn returns (x ← x + mixer(RMSNorm(x, norm)) each), then the SwiGLU
// FFN sublayer (x ← x + W_2(SiLU(W_1 n) ⊙ W_3 n), n = RMSNorm(x, norm_ffn)).
#pragma once

#include <memory>
#include <vector>

#include "models/mixer.h"

namespace titans {

class LanguageModel : public Model {
 public:
  // Builds every layer with the registry's BuildLayerFn of cfg.arch (its errors are returned, e.g.
  // an invalid window or segment). cfg must validate.
  static Result<std::unique_ptr<LanguageModel>> create(const ModelConfig& cfg, uint64_t seed, DType dtype);

  Result<Tensor> forward(Graph& g, const Tensor& ids, ModelState* state) const override;

 private:
  LanguageModel(const ModelConfig& cfg, DType dtype) : Model(cfg, dtype) {}

  struct Layer {
    std::vector<Sublayer> sublayers;
    Tensor norm_ffn, w1, w3, w2;
  };
  Status check_input(const Tensor& ids, const ModelState* state) const;
  Tensor ffn(Graph& g, const Layer& layer, const Tensor& x) const;

  Tensor embed_, norm_f_, lm_head_;  // lm_head_ is embed_ when tie_embeddings
  std::vector<Layer> layers_;
};

}  // namespace titans
