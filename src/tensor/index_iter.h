// Visits every multi-index of a shape in row-major order. For tests, I/O and cold paths; hot
// kernels use contiguous fast paths or the strided loops of ops/elementwise.
#pragma once

#include "tensor/shape.h"

namespace titans {

template <class F>
void for_each_index(const Shape& shape, F&& f) {
  const int64_t n = shape.numel();
  if (n == 0) return;
  int64_t idx[kMaxDims] = {};
  for (int64_t linear = 0; linear < n; ++linear) {
    f(static_cast<const int64_t*>(idx), linear);
    for (int i = shape.ndim - 1; i >= 0; --i) {
      if (++idx[i] < shape.d[i]) break;
      idx[i] = 0;
    }
  }
}

}  // namespace titans
