#include "optim/adamw.h"

#include <cmath>

#include "util/parallel.h"

namespace titans {

double global_grad_norm(const ParamStore& params) {
  double ss = 0;
  for (const Parameter& p : params.params()) {
    dispatch_float(p.tensor.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* g = p.tensor.gptr<T>();
      for (int64_t i = 0; i < p.tensor.numel(); ++i) ss += double(g[i]) * double(g[i]);
    });
  }
  return std::sqrt(ss);
}

AdamW::AdamW(ParamStore& params, AdamWConfig config) : params_(params), cfg_(config) {
  for (const Parameter& p : params.params()) {
    m_.emplace_back(size_t(p.tensor.numel()), 0.0);
    v_.emplace_back(size_t(p.tensor.numel()), 0.0);
  }
}

double AdamW::step(double lr) {
  const double norm = global_grad_norm(params_);
  const double clip = (cfg_.clip_norm > 0 && norm > cfg_.clip_norm) ? cfg_.clip_norm / norm : 1.0;
  ++t_;
  const double bc1 = 1.0 - std::pow(cfg_.beta1, double(t_));
  const double bc2 = 1.0 - std::pow(cfg_.beta2, double(t_));
  const auto& ps = params_.params();
  for (size_t k = 0; k < ps.size(); ++k) {
    const Parameter& p = ps[k];
    const double plr = lr * p.options.lr_mult;
    const double decay = p.options.decay ? plr * cfg_.weight_decay : 0.0;
    double* m = m_[k].data();
    double* v = v_[k].data();
    dispatch_float(p.tensor.dtype, [&](auto zero) {
      using T = decltype(zero);
      T* w = p.tensor.ptr<T>();
      const T* g = p.tensor.gptr<T>();
      const int64_t n = p.tensor.numel();
      parallel_for(n, n >= 65536, [=, cfg = cfg_](int64_t i0, int64_t i1) {
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) {
          const double gi = double(g[i]) * clip;
          m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * gi;
          v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * gi * gi;
          const double update = (m[i] / bc1) / (std::sqrt(v[i] / bc2) + cfg.eps);
          w[i] = T(double(w[i]) - decay * double(w[i]) - plr * update);
        }
      });
    });
  }
  return norm;
}

}  // namespace titans
