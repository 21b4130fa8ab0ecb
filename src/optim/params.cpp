#include "optim/params.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace titans {

ParamStore::~ParamStore() {
  for (void* p : buffers_) backend_.deallocate(p);
}

Tensor ParamStore::add(const std::string& name, const Shape& shape, ParamOptions options) {
  const size_t bytes = size_t(shape.numel()) * dtype_size(dtype_);
  const size_t padded = (bytes + 63) / 64 * 64 + 64;
  char* mem = static_cast<char*>(backend_.allocate(2 * padded));
  if (!mem) throw std::bad_alloc();
  backend_.zero(mem, 2 * padded);
  buffers_.push_back(mem);
  Tensor t = wrap(mem, shape, dtype_, mem + padded);
  t.device = backend_.device();
  params_.push_back(Parameter{name, t, options});
  return t;
}

void ParamStore::zero_grad() {
  for (const Parameter& p : params_)
    backend_.zero(p.tensor.grad, size_t(p.tensor.numel()) * dtype_size(dtype_));
}

int64_t ParamStore::numel() const {
  int64_t n = 0;
  for (const Parameter& p : params_) n += p.tensor.numel();
  return n;
}

void init_normal(const Tensor& t, Rng& rng, double stddev) {
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<T>()[i] = T(stddev * rng.normal());
  });
}

void init_constant(const Tensor& t, double value) {
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<T>()[i] = T(value);
  });
}

}  // namespace titans
