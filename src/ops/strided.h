// Loops over N operands that share one iteration shape but have their own strides (0 in a
// broadcast dimension). The innermost dimension runs as a tight loop; a run whose strides are all 1
// takes a separate branch the compiler vectorises.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"
#include "util/status.h"

namespace titans {

// Broadcast shape of a and b (aligned from the right), or an empty optional-like failure flag.
inline bool broadcast_shapes(const Shape& a, const Shape& b, Shape* out) {
  const int nd = a.ndim > b.ndim ? a.ndim : b.ndim;
  out->ndim = nd;
  for (int i = 0; i < nd; ++i) {
    const int ia = a.ndim - nd + i, ib = b.ndim - nd + i;
    const int64_t da = ia >= 0 ? a.d[ia] : 1, db = ib >= 0 ? b.d[ib] : 1;
    if (da != db && da != 1 && db != 1) return false;
    out->d[i] = da == 1 ? db : da;
  }
  return true;
}

// Strides that read `t` as if it had shape `target` (broadcast dimensions get stride 0).
inline Strides broadcast_strides(const Tensor& t, const Shape& target) {
  Strides s;
  for (int i = 0; i < target.ndim; ++i) {
    const int it = t.shape.ndim - target.ndim + i;
    s.s[i] = (it >= 0 && t.shape.d[it] != 1) ? t.strides.s[it] : 0;
  }
  return s;
}

// f(n, p, s): p[k] points at operand k's first element of an innermost run of n elements, s[k] is
// its stride along that run.
template <class T, int N, class F>
void strided_loop(const Shape& shape, T* const (&base)[N], const Strides (&st)[N], F&& f) {
  const int64_t total = shape.numel();
  if (total == 0) return;
  const int nd = shape.ndim;
  if (nd == 0) {
    T* p[N];
    int64_t s[N];
    for (int k = 0; k < N; ++k) p[k] = base[k], s[k] = 1;
    f(int64_t(1), p, s);
    return;
  }
  const int64_t inner = shape.d[nd - 1];
  int64_t s[N];
  for (int k = 0; k < N; ++k) s[k] = st[k].s[nd - 1];
  int64_t idx[kMaxDims] = {};
  for (int64_t o = 0, outer = total / inner; o < outer; ++o) {
    T* p[N];
    for (int k = 0; k < N; ++k) {
      int64_t off = 0;
      for (int i = 0; i < nd - 1; ++i) off += idx[i] * st[k].s[i];
      p[k] = base[k] + off;
    }
    f(inner, p, s);
    for (int i = nd - 2; i >= 0; --i) {
      if (++idx[i] < shape.d[i]) break;
      idx[i] = 0;
    }
  }
}

}  // namespace titans
