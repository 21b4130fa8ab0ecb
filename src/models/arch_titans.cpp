// TEMPORARY stubs: replaced by the Titans variants' implementation.
#include "models/architectures.h"

namespace titans {

Status build_titans_lmm_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&) {
  return Status::error("titans_lmm: not implemented yet");
}
Status build_titans_mac_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&) {
  return Status::error("titans_mac: not implemented yet");
}
Status build_titans_mag_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&) {
  return Status::error("titans_mag: not implemented yet");
}
Status build_titans_mal_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&) {
  return Status::error("titans_mal: not implemented yet");
}

}  // namespace titans
