// NeuralMemoryConfig: every [choice] of ../shared/spec/neural-memory.md is a field, defaults are
// the spec's. Names follow reference/neural_memory.py (MemoryConfig).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace titans {

enum class MemoryActivation { gelu, silu };  // φ of the memory MLP (gelu = tanh form)

struct NeuralMemoryConfig {
  int64_t d_model = 0;
  int64_t n_heads = 1;   // H [choice: heads = n_heads]
  int64_t head_dim = 0;  // d_h; 0 → d_model / n_heads
  int depth = 2;         // L_M, weight matrices of the memory MLP (1..4)
  int64_t expansion = 2;  // hidden width = expansion · d_h
  MemoryActivation activation = MemoryActivation::gelu;
  bool residual = false;     // M(u) = u + MLP(u)
  int64_t conv_kernel = 4;   // causal depthwise conv on q, k, v (§4.4)
  int64_t chunk = 16;        // b: tokens per chunk of frozen inner gradients (§3.2)
  double theta_max = 1.0;    // θ_t = theta_max · sigmoid(.)
  bool momentum = true;      // false: η ≡ 0 (Table 5 ablation)
  bool decay = true;         // false: α ≡ 0 (Table 5 ablation)
  // Gate values at init, sigmoid(b) = these. The spec's θ ≈ 0.1 makes a fresh memory diverge at
  // d_h 64 (loss summed over features; reference/README.md "Finding"): kept, but a field. The
  // titans_* presets use 0.005 / 0.5 / 0.0005 (docs/MODELS.md §13 item 9).
  double theta_init = 0.1;  // θ / theta_max
  double eta_init = 0.9;
  double alpha_init = 0.01;
  // The inner loop as the fused op (memory_fused_op.h) in inference (nothing needs a gradient) and
  // in training (its hand-written backward); false keeps the op-composed path there (benchmarks,
  // tests: the composed path is the reference).
  bool fused_inference = true;
  bool fused_training = true;
  double l2_eps = 1e-6;   // q, k: u / sqrt(|u|² + eps)
  double rms_eps = 1e-6;  // output RMSNorm

  int64_t dh() const { return head_dim > 0 ? head_dim : d_model / n_heads; }
  int64_t inner_dim() const { return n_heads * dh(); }
  int64_t hidden_dim() const { return expansion * dh(); }
  // (out_l, in_l) of W^l, l = 1..depth: W^l acts on column vectors a^{l-1}.
  std::vector<std::pair<int64_t, int64_t>> layer_shapes() const {
    const int64_t d = dh(), h = hidden_dim();
    if (depth == 1) return {{d, d}};
    std::vector<std::pair<int64_t, int64_t>> s{{h, d}};
    for (int l = 2; l < depth; ++l) s.push_back({h, h});
    s.push_back({d, h});
    return s;
  }

  Status validate() const {
    if (d_model <= 0 || n_heads <= 0) return Status::error("memory: d_model and n_heads must be > 0");
    if (head_dim <= 0 && d_model % n_heads != 0)
      return Status::error("memory: head_dim not given and d_model not divisible by n_heads");
    if (depth < 1 || depth > 4) return Status::error("memory: depth must be in 1..4");
    if (conv_kernel < 1 || chunk < 1 || expansion < 1)
      return Status::error("memory: conv_kernel, chunk and expansion must be >= 1");
    for (double v : {theta_init, eta_init, alpha_init})
      if (!(v > 0.0 && v < 1.0)) return Status::error("memory: gate init values must be in (0, 1)");
    return {};
  }
};

}  // namespace titans
