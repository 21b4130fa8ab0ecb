// Model: a language model of one architecture — token embedding, blocks, final RMSNorm, LM head
// (architectures.md §1) — with its parameters and its streaming state. Every architecture is a
// LanguageModel whose blocks differ only in their sublayers ("mixers"); see models/registry.h for
// the list and docs/MODELS.md for the math.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "autodiff/graph.h"
#include "memory/neural_memory.h"
#include "models/model_config.h"
#include "optim/params.h"
#include "util/rng.h"
#include "util/status.h"

namespace titans {

// The streaming state of one layer (architectures.md §10). Each architecture uses the fields its
// mixers need; the others stay empty. Tensors live in the arena of the Graph of the call that made
// them (carry a state between calls on one graph, or copy_state() it into another).
struct LayerState {
  // Attention keys/values already seen, [B, n, H, d_h] (keys after RoPE):
  //   transformer: every earlier token; swa / titans_mag / titans_mal: the last window−1 tokens;
  //   titans_mac: the current segment's tokens (x part); infini: the current segment's tokens.
  Tensor k, v;
  Tensor k_mem, v_mem;  // titans_mac: the current segment's retrieved h rows, projected (h part)
  Tensor k_raw;         // infini: the current segment's keys before RoPE (for σ(K) at segment end)
  MemoryState memory;                 // titans_*: the running neural-memory state
  MemoryState memory_segment_start;   // titans_mac: M_{s−1}, read by every token of segment s
  Tensor q_tail;        // titans_mac: the retrieval path's conv history [B, K−1, H·d_h]
  Tensor infini_m, infini_z;  // infini: M [B, H, d_h, d_h], z [B, H, d_h] (float32 at least)
};

struct ModelState {
  std::vector<LayerState> layers;
  int64_t pos = 0;    // tokens consumed so far
  int64_t batch = 0;  // the batch size the state was made for
  bool started() const { return !layers.empty(); }
};

// A detached copy of `s` in g's arena (streaming across graph resets; truncated BPTT).
ModelState copy_state(Graph& g, const ModelState& s);

class Model {
 public:
  virtual ~Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // ids i32 [B, T] (values in [0, vocab)) → logits [B, T, vocab]. `state` (nullable) is read and
  // replaced by the state after the last token; an empty state starts a sequence. On error the
  // state is unchanged. Causal: logits at t depend on ids ≤ t only.
  virtual Result<Tensor> forward(Graph& g, const Tensor& ids, ModelState* state) const = 0;

  const ModelConfig& config() const { return cfg_; }
  ParamStore& params() { return store_; }
  const ParamStore& params() const { return store_; }

 protected:
  Model(const ModelConfig& cfg, DType dtype) : cfg_(cfg), store_(dtype) {}
  ModelConfig cfg_;
  ParamStore store_;
};

// A model of cfg.arch with freshly initialised parameters (deterministic in seed). cfg must validate.
Result<std::unique_ptr<Model>> create_model(const ModelConfig& cfg, uint64_t seed, DType dtype = DType::f32);

}  // namespace titans
