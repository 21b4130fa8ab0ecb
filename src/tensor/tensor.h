// Tensor: a strided view of a plain buffer, plus (optionally) a gradient buffer of the same layout.
//
// A Tensor does not own memory: activations live in a Graph's arena, parameters in a ParamStore.
// The gradient pointer follows the data pointer through every view (slice, transpose, reshape),
// so a view's gradient *is* a view of its base's gradient and views need no backward pass.
#pragma once

#include <cstdint>
#include <type_traits>

#include "tensor/backend.h"
#include "tensor/dtype.h"
#include "tensor/shape.h"

namespace titans {

struct Tensor {
  void* data = nullptr;
  void* grad = nullptr;  // null when no gradient flows to this tensor
  Shape shape;
  Strides strides;
  DType dtype = DType::f32;
  Device device = Device::cpu;

  int ndim() const { return shape.ndim; }
  int64_t numel() const { return shape.numel(); }
  int64_t dim(int i) const { return shape[i]; }
  bool defined() const { return data != nullptr || shape.numel() == 0; }
  bool requires_grad() const { return grad != nullptr; }

  template <class T> T* ptr() const { return static_cast<T*>(data); }
  template <class T> T* gptr() const { return static_cast<T*>(grad); }

  bool is_contiguous() const {
    int64_t expect = 1;
    for (int i = shape.ndim - 1; i >= 0; --i) {
      if (shape.d[i] != 1 && strides.s[i] != expect) return false;
      expect *= shape.d[i];
    }
    return true;
  }

  // A view sharing this tensor's storage (and gradient storage), `offset` elements in.
  Tensor view(const Shape& s, const Strides& st, int64_t offset = 0) const {
    Tensor t = *this;
    const int64_t bytes = offset * dtype_size(dtype);
    t.data = data ? static_cast<char*>(data) + bytes : nullptr;
    t.grad = grad ? static_cast<char*>(grad) + bytes : nullptr;
    t.shape = s;
    t.strides = st;
    return t;
  }
  // The same storage without a gradient: reads that must not be differentiated.
  Tensor detach() const {
    Tensor t = *this;
    t.grad = nullptr;
    return t;
  }
};

// A contiguous tensor over memory owned elsewhere (a parameter, an input batch).
inline Tensor wrap(void* data, const Shape& shape, DType dtype, void* grad = nullptr) {
  Tensor t;
  t.data = data;
  t.grad = grad;
  t.shape = shape;
  t.strides = Strides::contiguous(shape);
  t.dtype = dtype;
  return t;
}

// Element offset of a multi-index (row-major over the shape).
inline int64_t element_offset(const Tensor& t, const int64_t* idx) {
  int64_t off = 0;
  for (int i = 0; i < t.shape.ndim; ++i) off += idx[i] * t.strides.s[i];
  return off;
}

static_assert(std::is_trivially_copyable_v<Tensor>, "records copy tensors as bytes");

}  // namespace titans
