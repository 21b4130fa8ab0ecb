// Small pieces shared by the Titans mixers (memory_mixer.h, mag_mixer.h, mac_mixer.h) beyond the
// framework's (models/layers.h, models/attention_mixer.h): the persistent tokens and state slicing.
#pragma once

#include <string>

#include "models/layers.h"

namespace titans {

// `layers.<layer>.persistent` [N_p, d] ~ normal(0, 1) (MODELS.md item 11); undefined when N_p = 0.
// No weight decay [choice]: the tokens are input-like (as an embedding row), decay would shrink the
// prefix towards zero.
Tensor add_persistent(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng);
// N_p of a tensor from add_persistent (0 when undefined).
inline int64_t persistent_rows(const Tensor& p) { return p.ndim() == 2 ? p.shape[0] : 0; }
// p [N, d] (a parameter) → [B, N, d], the gradient flowing back to p.
Tensor repeat_batch(Graph& g, const Tensor& p, int64_t batch);
// The last min(n, rows) rows of x along axis 1.
Tensor last_rows(Graph& g, const Tensor& x, int64_t n);

}  // namespace titans
