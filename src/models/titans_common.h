// Pieces shared by the Titans mixers (docs/MODELS.md items 4–9): parameter creation with the
// contract's initialisation, Linear, the persistent-memory broadcast, attention head projections and
// the KV caches of streaming. The mixers themselves: memory_mixer.h, window_attention.h,
// mag_mixer.h, mac_mixer.h; the gate: gate.h.
#pragma once

#include <string>

#include "autodiff/graph.h"
#include "memory/neural_memory.h"
#include "models/model_config.h"
#include "optim/params.h"
#include "util/rng.h"

namespace titans {

// A Linear weight [out, in], uniform ±1/sqrt(in) (MODELS.md item 11).
Tensor add_linear_weight(ParamStore& store, Rng& rng, const std::string& name, int64_t out, int64_t in);
// An RMSNorm weight [d], ones, no weight decay.
Tensor add_norm_weight(ParamStore& store, const std::string& name, int64_t d);
// `layers.<layer>.persistent` [N_p, d] ~ normal(0, 1) (MODELS.md item 11); undefined when N_p = 0.
// No weight decay [choice]: the tokens are input-like (as an embedding row), decay would shrink the
// prefix towards zero.
Tensor add_persistent(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng);

// The memory of a Titans layer: cfg.memory with d_model / n_heads / head_dim from the model.
// TEMPORARY: the same as ModelConfig::memory_config() (models/model_config.cpp, baselines branch);
// replaced by it once that lands.
NeuralMemoryConfig titans_memory_config(const ModelConfig& cfg);

// x [..., in] → x Wᵀ [..., out] with W [out, in].
Tensor linear(Graph& g, const Tensor& x, const Tensor& w);
// p [N, d] (a parameter) → [B, N, d], the gradient flowing back to p.
Tensor repeat_batch(Graph& g, const Tensor& p, int64_t batch);
// a then b along axis 1 (a may be undefined or empty: b).
Tensor append_rows(Graph& g, const Tensor& a, const Tensor& b);
// The last min(n, rows) rows of x along axis 1; undefined when that is none.
Tensor last_rows(Graph& g, const Tensor& x, int64_t n);
// Rows along axis 1 of a state tensor (0 when undefined).
inline int64_t rows(const Tensor& t) { return t.ndim() >= 2 ? t.shape[1] : 0; }

// The attention projections `<prefix>w_q, w_k, w_v` [H·d_h, d] and `w_o` [d, H·d_h].
struct AttentionWeights {
  Tensor w_q, w_k, w_v, w_o;
  int64_t n_heads = 1, head_dim = 1;
  double rope_theta = 10000.0;

  static AttentionWeights add(const ModelConfig& cfg, const std::string& prefix, ParamStore& store, Rng& rng);
  // x [B, T, d] → Linear(x, w) as heads [B, T, H, d_h].
  Tensor heads(Graph& g, const Tensor& x, const Tensor& w) const;
  // As heads(), then RoPE at global positions pos0 … pos0+T−1 (MODELS.md item 3).
  Tensor rotated(Graph& g, const Tensor& x, const Tensor& w, int64_t pos0) const;
  // Keys or values of the persistent tokens [B, N_p, H, d_h]: no RoPE, they have no position
  // (MODELS.md item 4).
  Tensor persistent_heads(Graph& g, const Tensor& p, const Tensor& w, int64_t batch) const;
  // Attention output [B, T, H, d_h] → heads concatenated → Linear(·, w_o) [B, T, d].
  Tensor output(Graph& g, const Tensor& o) const;
  double scale() const;  // 1 / sqrt(d_h)
};

}  // namespace titans
