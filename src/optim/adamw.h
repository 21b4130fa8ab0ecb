// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", Alg. 2) with parameter
// groups and clipping by global gradient norm.
#pragma once

#include <vector>

#include "optim/params.h"

namespace titans {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;  // applied to parameters whose group has decay on
  double clip_norm = 1.0;     // global-norm clipping threshold; 0 turns clipping off
};

class AdamW {
 public:
  AdamW(ParamStore& params, AdamWConfig config);

  // One update with learning rate `lr` (times each group's multiplier). Gradients are clipped
  // first; returns the global gradient norm before clipping. Gradients are left as they are.
  double step(double lr);

  int64_t steps() const { return t_; }
  // Moments of parameter i (same layout as the parameter), for checkpoints.
  std::vector<double>& first_moment(size_t i) { return m_[i]; }
  std::vector<double>& second_moment(size_t i) { return v_[i]; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  ParamStore& params_;
  AdamWConfig cfg_;
  std::vector<std::vector<double>> m_, v_;  // float64 moments: exact resumes, no drift
  int64_t t_ = 0;
};

// L2 norm of all gradients, accumulated in float64 in a fixed order.
double global_grad_norm(const ParamStore& params);

}  // namespace titans
