// The optimiser groups of a model's parameters, decided by name in one place (docs/TRAINING.md,
// "Parameter groups"). The trainer applies them to the store before it builds AdamW, so whatever
// options a builder passed to ParamStore::add are replaced by these rules during training.
#pragma once

#include <string>

#include "models/model_config.h"
#include "optim/params.h"

namespace titans {

// The group of the parameter `name` (docs/FORMAT.md names):
//   no weight decay — RMSNorm weights (any name with "norm"), the memory's gate biases (a last
//     component "b_…": b_theta, b_eta, b_alpha), the token embedding "embed", the persistent
//     memory tokens "…persistent", and Infini's "….attn.beta";
//   Infini's β also gets lr_mult = cfg.beta_lr_mult;
//   everything else (projection matrices, convolution kernels, the memory's initial weights, an
//   untied "lm_head") decays, with lr_mult 1.
ParamOptions param_group(const std::string& name, const ModelConfig& cfg);

// Sets every parameter's options from param_group.
void apply_param_groups(ParamStore& store, const ModelConfig& cfg);

}  // namespace titans
