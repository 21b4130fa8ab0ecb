#include "models/layers.h"

#include <cmath>

#include "ops/ops.h"

namespace titans {

void init_uniform(const Tensor& t, Rng& rng, double bound) {
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<T>()[i] = T(bound * (2.0 * rng.uniform() - 1.0));
  });
}

Tensor add_linear(ParamStore& store, Rng& rng, const std::string& name, int64_t out, int64_t in) {
  Tensor w = store.add(name, Shape{out, in});
  init_uniform(w, rng, 1.0 / std::sqrt(double(in)));
  return w;
}

Tensor add_norm(ParamStore& store, const std::string& name, int64_t d) {
  Tensor w = store.add(name, Shape{d}, {.decay = false});
  init_constant(w, 1.0);
  return w;
}

Tensor linear(Graph& g, const Tensor& x, const Tensor& w) {
  return ops::matmul(g, x, ops::transpose(g, w, 0, 1));
}

Tensor constant(Graph& g, double value, DType dt) {
  Tensor t = g.new_tensor(Shape{}, dt, false);
  dispatch_float(dt, [&](auto zero) { *t.ptr<decltype(zero)>() = decltype(zero)(value); });
  return t;
}

std::string layer_name(int layer, const std::string& name) {
  return "layers." + std::to_string(layer) + "." + name;
}

}  // namespace titans
