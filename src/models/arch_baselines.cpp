// TEMPORARY stubs: replaced by the baselines' implementation (transformer, swa, infini).
#include "models/architectures.h"

namespace titans {

Status build_transformer_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&) {
  return Status::error("transformer: not implemented yet");
}
Status build_swa_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&) {
  return Status::error("swa: not implemented yet");
}
Status build_infini_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&) {
  return Status::error("infini: not implemented yet");
}

}  // namespace titans
