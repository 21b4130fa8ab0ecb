// create_model and copy_state (models/model.h).
#include "models/language_model.h"
#include "tensor/index_iter.h"

namespace titans {

namespace {

// A detached contiguous copy of t in g's arena (an undefined tensor stays undefined).
Tensor copy_detached(Graph& g, const Tensor& t) {
  if (t.ndim() == 0 && !t.data) return Tensor{};
  Tensor c = g.new_tensor(t.shape, t.dtype, false);
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    for_each_index(t.shape, [&](const int64_t* idx, int64_t i) { c.ptr<T>()[i] = t.ptr<T>()[element_offset(t, idx)]; });
  });
  return c;
}

}  // namespace

ModelState copy_state(Graph& g, const ModelState& s) {
  ModelState out;
  out.pos = s.pos;
  out.batch = s.batch;
  for (const LayerState& l : s.layers) {
    LayerState c;
    c.k = copy_detached(g, l.k);
    c.v = copy_detached(g, l.v);
    c.k_mem = copy_detached(g, l.k_mem);
    c.v_mem = copy_detached(g, l.v_mem);
    c.k_raw = copy_detached(g, l.k_raw);
    c.q_tail = copy_detached(g, l.q_tail);
    c.infini_m = copy_detached(g, l.infini_m);
    c.infini_z = copy_detached(g, l.infini_z);
    c.memory = copy_state(g, l.memory);
    c.memory_segment_start = copy_state(g, l.memory_segment_start);
    out.layers.push_back(std::move(c));
  }
  return out;
}

Result<std::unique_ptr<Model>> create_model(const ModelConfig& cfg, uint64_t seed, DType dtype) {
  Result<std::unique_ptr<LanguageModel>> m = LanguageModel::create(cfg, seed, dtype);
  if (!m) return m.status();
  return std::unique_ptr<Model>(std::move(m.value()));
}

}  // namespace titans
