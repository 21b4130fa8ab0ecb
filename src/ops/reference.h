// Naive float64 references used by the op tests: plain loops over HostArrays, written for clarity.
#pragma once

#include "autodiff/op_registry.h"
#include "tensor/index_iter.h"

namespace titans::ops {

inline int64_t host_offset(const Shape& s, const int64_t* idx) {
  int64_t off = 0;
  for (int i = 0; i < s.ndim; ++i) off = off * s.d[i] + idx[i];
  return off;
}

// The broadcast of f over a and b (numpy rules), computed index by index.
template <class F>
HostArray reference_broadcast(const HostArray& a, const HostArray& b, F f) {
  const int nd = a.shape.ndim > b.shape.ndim ? a.shape.ndim : b.shape.ndim;
  HostArray out;
  out.shape.ndim = nd;
  for (int i = 0; i < nd; ++i) {
    const int ia = a.shape.ndim - nd + i, ib = b.shape.ndim - nd + i;
    const int64_t da = ia >= 0 ? a.shape.d[ia] : 1, db = ib >= 0 ? b.shape.d[ib] : 1;
    out.shape.d[i] = da > db ? da : db;
  }
  out.v.resize(size_t(out.shape.numel()));
  for_each_index(out.shape, [&](const int64_t* idx, int64_t linear) {
    int64_t ia[kMaxDims], ib[kMaxDims];
    for (int i = 0; i < a.shape.ndim; ++i) {
      const int64_t k = idx[nd - a.shape.ndim + i];
      ia[i] = a.shape.d[i] == 1 ? 0 : k;
    }
    for (int i = 0; i < b.shape.ndim; ++i) {
      const int64_t k = idx[nd - b.shape.ndim + i];
      ib[i] = b.shape.d[i] == 1 ? 0 : k;
    }
    out.v[size_t(linear)] = f(a.v[size_t(host_offset(a.shape, ia))], b.v[size_t(host_offset(b.shape, ib))]);
  });
  return out;
}

inline HostArray reference_transpose2d(const HostArray& a) {
  HostArray out{Shape{a.shape[1], a.shape[0]}, std::vector<double>(a.v.size())};
  for (int64_t i = 0; i < a.shape[0]; ++i)
    for (int64_t j = 0; j < a.shape[1]; ++j)
      out.v[size_t(j * a.shape[0] + i)] = a.v[size_t(i * a.shape[1] + j)];
  return out;
}

}  // namespace titans::ops
