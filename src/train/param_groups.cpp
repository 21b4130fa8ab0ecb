#include "train/param_groups.h"

namespace titans {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string last_component(const std::string& name) {
  const size_t dot = name.find_last_of('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

}  // namespace

ParamOptions param_group(const std::string& name, const ModelConfig& cfg) {
  // Infini's β is a per-head gate logit: decaying it would pull every gate to ½, and its gradient
  // is a sum over a whole segment, so it gets its own learning rate (Infini-attention §2.1).
  if (name == "attn.beta" || ends_with(name, ".attn.beta")) return {.decay = false, .lr_mult = cfg.beta_lr_mult};
  const std::string last = last_component(name);
  // Scales, biases and lookup tables are not matrices that weight decay regularises: decaying a
  // norm weight or a gate bias shrinks it toward a fixed point (0) that has no special meaning.
  // The persistent tokens are learned input vectors, like embedding rows.
  const bool no_decay = name.find("norm") != std::string::npos || last.rfind("b_", 0) == 0 ||
                        name == "embed" || last == "persistent";
  return {.decay = !no_decay, .lr_mult = 1.0};
}

void apply_param_groups(ParamStore& store, const ModelConfig& cfg) {
  for (size_t i = 0; i < store.params().size(); ++i)
    store.set_options(i, param_group(store.params()[i].name, cfg));
}

}  // namespace titans
