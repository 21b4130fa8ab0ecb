#include "models/memory_mixer.h"

#include "models/titans_common.h"
#include "ops/ops.h"

namespace titans {

PersistentMemory::PersistentMemory(const Tensor& persistent, const NeuralMemoryConfig& mem_cfg, int layer,
                                   ParamStore& store, Rng& rng)
    : persistent_(persistent),
      memory_(mem_cfg, store, rng, layer_name(layer, "memory.")) {}

Result<Tensor> PersistentMemory::forward(Graph& g, const Tensor& n, int64_t pos0, MemoryState& st) const {
  const int64_t n_p = persistent_rows(persistent_);
  if (n_p == 0 || pos0 != 0 || st.started()) return memory_.forward(g, n, &st);
  // The sequence starts here: P ‖ n through the memory (NeuralMemory::forward commits st only on
  // success), then P's outputs dropped.
  const int64_t T = n.shape[1];
  Result<Tensor> out = memory_.forward(g, ops::concat(g, {repeat_batch(g, persistent_, n.shape[0]), n}, 1), &st);
  if (!out.ok()) return out;
  return ops::slice(g, *out, 1, n_p, n_p + T);
}

}  // namespace titans
