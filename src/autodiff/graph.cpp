#include "autodiff/graph.h"

#include <cstring>

#include "tensor/index_iter.h"

namespace titans {

Graph::Graph(size_t arena_bytes, Backend& backend) : arena_(arena_bytes, backend) {}

Tensor Graph::new_tensor(const Shape& shape, DType dtype, bool with_grad) {
  Tensor t;
  t.shape = shape;
  t.strides = Strides::contiguous(shape);
  t.dtype = dtype;
  t.device = arena_.backend().device();
  const size_t bytes = size_t(shape.numel()) * dtype_size(dtype);
  t.data = arena_.alloc(bytes);
  if (with_grad) {
    t.grad = arena_.alloc(bytes);
    arena_.backend().zero(t.grad, bytes);
  }
  return t;
}

Tensor Graph::zeros(const Shape& shape, DType dtype, bool with_grad) {
  Tensor t = new_tensor(shape, dtype, with_grad);
  arena_.backend().zero(t.data, size_t(shape.numel()) * dtype_size(dtype));
  return t;
}

void Graph::backward(const Tensor& out, const void* seed) {
  TITANS_CHECK(out.grad != nullptr, "backward() from a tensor that does not require grad");
  dispatch_float(out.dtype, [&](auto zero) {
    using T = decltype(zero);
    T* g = out.gptr<T>();
    const T* s = static_cast<const T*>(seed);
    if (out.is_contiguous()) {
      for (int64_t i = 0; i < out.numel(); ++i) g[i] += s ? s[i] : T(1);
      return;
    }
    // `out` is a view (its gradient aliases its base's): seed through its strides.
    for_each_index(out.shape, [&](const int64_t* idx, int64_t linear) {
      g[element_offset(out, idx)] += s ? s[linear] : T(1);
    });
  });
  for (const OpRecord* r = tape_.end(); r != tape_.begin();) {
    --r;
    r->backward(*this, *r);
  }
}

void Graph::reset() {
  tape_.clear();
  arena_.reset();
  write_gate_logits_.clear();
}

}  // namespace titans
