#include "optim/params.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace titans {

void ParamStore::FreeDeleter::operator()(void* p) const { std::free(p); }

Tensor ParamStore::add(const std::string& name, const Shape& shape, ParamOptions options) {
  const size_t bytes = size_t(shape.numel()) * dtype_size(dtype_);
  const size_t padded = (bytes + 63) / 64 * 64 + 64;
  char* mem = static_cast<char*>(std::aligned_alloc(64, 2 * padded));
  if (!mem) throw std::bad_alloc();
  std::memset(mem, 0, 2 * padded);
  buffers_.emplace_back(mem);
  Tensor t = wrap(mem, shape, dtype_, mem + padded);
  params_.push_back(Parameter{name, t, options});
  return t;
}

void ParamStore::zero_grad() {
  for (const Parameter& p : params_)
    std::memset(p.tensor.grad, 0, size_t(p.tensor.numel()) * dtype_size(dtype_));
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
