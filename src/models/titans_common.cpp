#include "models/titans_common.h"

#include <algorithm>

#include "ops/ops.h"

namespace titans {

Tensor add_persistent(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng) {
  if (cfg.n_persistent <= 0) return Tensor{};
  const Tensor p = store.add(layer_name(layer, "persistent"), Shape{cfg.n_persistent, cfg.d_model},
                             ParamOptions{false, 1.0});
  init_normal(p, rng, 1.0);
  return p;
}

Tensor repeat_batch(Graph& g, const Tensor& p, int64_t batch) {
  return ops::add(g, g.zeros(Shape{batch, 1, 1}, p.dtype, false), p);
}

Tensor last_rows(Graph& g, const Tensor& x, int64_t n) {
  const int64_t r = x.shape[1], keep = std::min(n, r);
  return keep == r ? x : ops::slice(g, x, 1, r - keep, r);
}

}  // namespace titans
