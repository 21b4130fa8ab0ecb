// Shapes and strides held inline (no heap): a Tensor is a small value type.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "util/status.h"

namespace titans {

inline constexpr int kMaxDims = 6;

struct Shape {
  int ndim = 0;
  int64_t d[kMaxDims] = {};

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) {
    TITANS_CHECK(dims.size() <= size_t(kMaxDims), "too many dimensions");
    for (int64_t v : dims) d[ndim++] = v;
  }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= d[i];
    return n;
  }
  int64_t operator[](int i) const { return d[i < 0 ? ndim + i : i]; }
  int64_t& operator[](int i) { return d[i < 0 ? ndim + i : i]; }
  int64_t back() const { return d[ndim - 1]; }
  // Product of the dimensions before the last: the number of rows of a row-wise op.
  int64_t rows() const { return ndim == 0 ? 1 : numel() / d[ndim - 1]; }
  bool operator==(const Shape& o) const {
    if (ndim != o.ndim) return false;
    for (int i = 0; i < ndim; ++i)
      if (d[i] != o.d[i]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < ndim; ++i) {
      if (i) s += ',';
      s += std::to_string(d[i]);
    }
    s += ']';
    return s;
  }
  Shape with_last(int64_t v) const {
    Shape s = *this;
    s.d[ndim - 1] = v;
    return s;
  }
};

// Row-major (C-order) strides of a shape, in elements.
struct Strides {
  int64_t s[kMaxDims] = {};
  static Strides contiguous(const Shape& shape) {
    Strides st;
    int64_t acc = 1;
    for (int i = shape.ndim - 1; i >= 0; --i) {
      st.s[i] = acc;
      acc *= shape.d[i];
    }
    return st;
  }
  int64_t operator[](int i) const { return s[i]; }
  int64_t& operator[](int i) { return s[i]; }
};

inline int normalize_axis(int axis, int ndim) { return axis < 0 ? axis + ndim : axis; }

}  // namespace titans
