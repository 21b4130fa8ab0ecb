// NeuralMemory: the Titans neural long-term memory (LMM) composed of engine ops, so the graph's
// autodiff gives its backward (outer gradients through every inner update, spec §7).
// Spec: ../shared/spec/neural-memory.md; parameter names, shapes and layouts are those of
// reference/neural_memory.py (the PyTorch oracle).
#pragma once

#include <string>
#include <vector>

#include "autodiff/graph.h"
#include "memory/memory_config.h"
#include "optim/params.h"
#include "util/rng.h"
#include "util/status.h"

namespace titans {

// The streaming state of one memory (spec §6). Chunk boundaries are global (every `chunk` tokens
// from the sequence start), so the state holds the chunk-start weights and momentum plus the pending
// tokens of the unfinished chunk. Its tensors live in the arena of the Graph of the call that produced
// them: carry a state only between calls on the same graph (before its reset()).
struct MemoryState {
  std::vector<Tensor> w, s;                  // per layer [B, H, out_l, in_l] at the chunk start
  Tensor tail_q, tail_k, tail_v;             // [B, K−1, H·d_h] last pre-conv projections, oldest first
  Tensor pend_k, pend_v;                     // [B, H, n, d_h] L2-normalised keys / values, n < chunk
  Tensor pend_theta, pend_eta, pend_alpha;   // [B, H, n] their gates (θ scaled; η, α 0 if disabled)
  int64_t pos = 0;                           // tokens consumed so far

  bool started() const { return !w.empty(); }
  int64_t pending() const { return pend_k.ndim() == 4 ? pend_k.shape[2] : 0; }
};

// A copy of `s` in g's arena, detached (no gradient): carries a state past the reset() of the graph
// that produced it (streaming inference, truncated backpropagation through time), e.g. alternating
// two graphs.
MemoryState copy_state(Graph& g, const MemoryState& s);

class NeuralMemory {
 public:
  struct Params {
    Tensor w_q, w_k, w_v;              // [H·d_h, d_model], y = x Wᵀ
    Tensor conv_q, conv_k, conv_v;     // [H·d_h, K], column K−1 = current token
    Tensor w_theta, w_eta, w_alpha;    // [H, d_model]
    Tensor b_theta, b_eta, b_alpha;    // [H]
    std::vector<Tensor> mem_w0;        // l = 1..L: [H, out_l, in_l], W·a on column vectors
    Tensor w_gate;                     // [H·d_h, d_model]
    Tensor norm_out;                   // [H·d_h]
    Tensor w_out;                      // [d_model, H·d_h]
  };

  // `cfg` must satisfy cfg.validate() (callers check it first). Parameters are added to `store`
  // named prefix + the reference's name ("w_q", ..., "mem_w0.1", ...).
  NeuralMemory(const NeuralMemoryConfig& cfg, ParamStore& store, Rng& rng, const std::string& prefix);

  // x [B, T, d_model] → [B, T, d_model]. `state` (nullable) is read and replaced by the state after
  // the last token; a state that has not started begins at the learned W_0. A non-finite value
  // (spec §8) is an error naming what, layer, batch, head and position; `state` is then unchanged.
  // The inner loop runs as the fused op (memory_fused_op.h): without a gradient (NoGradScope, or no
  // input, parameter or state with one) if cfg.fused_inference, with one if cfg.fused_training;
  // else as recorded engine ops (the reference the fused op is tested against).
  Result<Tensor> forward(Graph& g, const Tensor& x, MemoryState* state) const;

  // M*(q) (spec §5; MAC's retrieval, paper Eq. 21): every token of q_input [B, T, d_model] reads the
  // memory's current weights (after all tokens `state` received; null: the learned W_0) through the
  // query path and the output path, without writing; the state is not changed. q_tail [B, K−1, H·d_h]
  // is the read stream's conv history (pre-conv projections, oldest first); null: zeros [choice, as
  // the reference's read_only].
  Result<Tensor> read_only(Graph& g, const Tensor& q_input, const MemoryState* state,
                           const Tensor* q_tail = nullptr) const;

  const NeuralMemoryConfig& config() const { return cfg_; }
  const Params& params() const { return p_; }
  // (reference name, tensor) for every parameter, in store order.
  std::vector<std::pair<std::string, Tensor>> named_params() const;

 private:
  // shared_w0: W^l = the parameter W_0^l itself ([H, out, in], for the fused loop's batch stride
  // 0) and S^l undefined (0); else [B, H, out, in] tensors.
  MemoryState initial_state(Graph& g, int64_t batch, bool shared_w0 = false) const;
  // True when the forward must record for autodiff: grad enabled and x, a parameter or the state
  // has a gradient.
  bool needs_grad(const Graph& g, const Tensor& x, const MemoryState& st) const;

  NeuralMemoryConfig cfg_;
  DType dtype_;
  Params p_;
};

}  // namespace titans
