// Shared helpers of the model tests (model_test, model_file_test) and tests/model_dump.cpp.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/model.h"
#include "models/model_config.h"
#include "models/registry.h"
#include "tensor/index_iter.h"

namespace titans {

// Every element of t (or of its gradient) as doubles, row-major.
inline std::vector<double> tensor_values(const Tensor& t, bool grad = false) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* p = static_cast<const T*>(grad ? t.grad : t.data);
    for_each_index(t.shape, [&](const int64_t* idx, int64_t i) { v[size_t(i)] = double(p[element_offset(t, idx)]); });
  });
  return v;
}

// Random token ids in [0, vocab), B × T, row-major.
inline std::vector<int32_t> random_ids(int64_t n, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t& id : ids) id = int32_t(rng.below(uint64_t(vocab)));
  return ids;
}

// ids[:, t0:t1] of a row-major B × T list as an i32 tensor [B, t1 − t0] in g's arena.
inline Tensor ids_tensor(Graph& g, const std::vector<int32_t>& ids, int64_t B, int64_t T, int64_t t0, int64_t t1) {
  Tensor t = g.new_tensor(Shape{B, t1 - t0}, DType::i32, false);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = t0; i < t1; ++i) t.ptr<int32_t>()[b * (t1 - t0) + i - t0] = ids[size_t(b * T + i)];
  return t;
}

// A fresh float32 model of `arch`'s tiny preset (configs/<arch>-tiny.json); throws (a test
// failure under GoogleTest) when the preset does not build.
inline std::unique_ptr<Model> tiny_model(const std::string& arch, uint64_t seed) {
  Result<ModelConfig> c = resolve_config(arch + "-tiny");
  if (!c) throw std::runtime_error(c.message());
  Result<std::unique_ptr<Model>> m = create_model(*c, seed);
  if (!m) throw std::runtime_error(m.message());
  return std::move(m.value());
}

}  // namespace titans
