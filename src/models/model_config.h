// ModelConfig: one JSON object describes every architecture (../shared/spec/architectures.md);
// every [choice] of the spec is a field with the spec's default. Presets are files
// configs/<arch>-tiny.json and configs/<arch>-small.json; wherever a config is expected, a preset
// name ("titans_mac-tiny") or a path is accepted (resolve_config).
#pragma once

#include <cstdint>
#include <string>

#include "memory/memory_config.h"
#include "util/status.h"

namespace titans {

enum class GateKind { sigmoid, sum };        // architectures.md §7 (MAC, MAG)
enum class InfiniUpdate { linear, delta };    // architectures.md §8

struct ModelConfig {
  std::string arch;          // one of the registry's names (models/registry.h)
  int64_t vocab_size = 256;  // bytes by default
  int64_t d_model = 0;
  int64_t n_layers = 1;
  int64_t n_heads = 1;
  int64_t head_dim = 0;      // 0 → d_model / n_heads
  int64_t ffn_hidden = 0;    // 0 → 8·d_model/3 rounded up to a multiple of 32 [choice]
  bool tie_embeddings = false;  // [choice: untied]
  double rope_theta = 10000.0;
  double norm_eps = 1e-6;
  int64_t window = 64;        // swa, titans_mag, titans_mal: sliding window [choice: 64 tiny, 512 small]
  int64_t segment = 64;       // titans_mac, infini [choice: 64 tiny, 512 small]
  int64_t n_persistent = 4;   // titans_*: persistent memory tokens per layer [choice: 4]
  GateKind gate = GateKind::sigmoid;  // titans_mac, titans_mag
  // The neural memory of titans_* (memory_config() fills in d_model and n_heads from above, and
  // head_dim unless memory.head_dim > 0); JSON object "memory" with these NeuralMemoryConfig
  // fields: depth, expansion, activation ("gelu" / "silu"), residual, conv_kernel, chunk,
  // theta_max, momentum, decay, theta_init, eta_init, alpha_init, head_dim (0: the model's).
  NeuralMemoryConfig memory;
  InfiniUpdate infini_update = InfiniUpdate::linear;  // JSON "infini": {"update": ..., "bptt_segments": ...}
  int64_t infini_bptt_segments = 0;                   // 0: full BPTT through M, z [choice]
  double beta_lr_mult = 1.0;  // infini: learning-rate multiplier of β (no weight decay on it)
  double embed_std = 0.02;    // initialisation of the embedding (and an untied head)

  int64_t dh() const { return head_dim > 0 ? head_dim : d_model / n_heads; }
  int64_t inner_dim() const { return n_heads * dh(); }
  int64_t ffn_dim() const { return ffn_hidden > 0 ? ffn_hidden : (8 * d_model / 3 + 31) / 32 * 32; }
  NeuralMemoryConfig memory_config() const;  // memory with d_model / n_heads / head_dim filled in

  // Every field checked (names the field); the arch must be registered.
  Status validate() const;
};

// JSON ⇄ config. Unknown keys are an error naming the key (a typo must not silently fall back to a
// default); missing keys take the defaults above.
Result<ModelConfig> config_from_json(const std::string& json_text);
std::string config_to_json(const ModelConfig& c);  // every field, stable key order, pretty-printed
// A preset name (configs/<name>.json under the source tree's configs/ or $TITANS_CONFIGS) or a path.
Result<ModelConfig> resolve_config(const std::string& name_or_path);

}  // namespace titans
