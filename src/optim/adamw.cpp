#include "optim/adamw.h"

#include <algorithm>
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
  // Every parameter's elements as one range [0, total), parameter k holding [start[k], start[k+1]):
  // one parallel region for the whole update instead of one per parameter. Each region ends in a
  // barrier, and on a shared machine a barrier waits for a descheduled sibling thread:
  // per-parameter regions made AdamW take 0.25 s of a 2.8 s step on 2 threads (0.03 s on one).
  int64_t total = 0;
  for (const Parameter& p : ps) total += p.tensor.numel();
  const Parameter* params = ps.data();
  const size_t count = ps.size();
  std::vector<double>* first = m_.data();
  std::vector<double>* second = v_.data();
  // Everything by value: the loop reads its scalars from registers (see util/parallel.h).
  const auto update = [=, cfg = cfg_](size_t k, int64_t i0, int64_t i1) {
    const Parameter& p = params[k];
    const double plr = lr * p.options.lr_mult;
    const double decay = p.options.decay ? plr * cfg.weight_decay : 0.0;
    double* m = first[k].data();
    double* v = second[k].data();
    dispatch_float(p.tensor.dtype, [&](auto zero) {
      using T = decltype(zero);
      T* w = p.tensor.ptr<T>();
      const T* g = p.tensor.gptr<T>();
#pragma omp simd
      for (int64_t i = i0; i < i1; ++i) {
        const double gi = double(g[i]) * clip;
        m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * gi;
        v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * gi * gi;
        const double update = (m[i] / bc1) / (std::sqrt(v[i] / bc2) + cfg.eps);
        w[i] = T(double(w[i]) - decay * double(w[i]) - plr * update);
      }
    });
  };
  parallel_for(total, total >= 65536, [=](int64_t j0, int64_t j1) {
    int64_t start = 0;
    for (size_t k = 0; k < count && start < j1; ++k) {
      const int64_t n = params[k].tensor.numel();
      const int64_t lo = std::max(j0, start), hi = std::min(j1, start + n);
      if (lo < hi) update(k, lo - start, hi - start);
      start += n;
    }
  });
  return norm;
}

}  // namespace titans
