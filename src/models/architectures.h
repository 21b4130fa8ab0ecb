// The layer builders of each architecture (docs/MODELS.md), listed in registry.cpp.
#pragma once

#include "models/mixer.h"

namespace titans {

// arch_baselines.cpp
Status build_transformer_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&);
Status build_swa_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&);
Status build_infini_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&);
// arch_titans.cpp
Status build_titans_lmm_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&);
Status build_titans_mac_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&);
Status build_titans_mag_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&);
Status build_titans_mal_layer(const ModelConfig&, int, ParamStore&, Rng&, std::vector<Sublayer>&);

}  // namespace titans
