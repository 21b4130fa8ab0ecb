// The four Titans architectures (Titans §4, docs/MODELS.md items 4–9) as lists of sublayers:
//   titans_lmm: [norm_mix → Memory(P ‖ n)]                                    (memory_mixer.h)
//   titans_mal: [norm_mem → Memory(P ‖ n)], [norm_mix → sliding-window attention]   (Eq. 29–31)
//   titans_mag: [norm_mix → Gate(SWA*(P ‖ n), Memory(P ‖ n))]                 (mag_mixer.h, Eq. 26–28)
//   titans_mac: [norm_mix → per segment: retrieve, attend over [P | h | n], write, gate]
//                                                                             (mac_mixer.h, Eq. 21–25)
#include <memory>
#include <string>
#include <utility>

#include "models/architectures.h"
#include "models/attention_mixer.h"
#include "models/mac_mixer.h"
#include "models/mag_mixer.h"
#include "models/memory_mixer.h"

namespace titans {

namespace {

// The layer's memory config, checked here (NeuralMemory asserts it; a builder reports).
Result<NeuralMemoryConfig> checked_memory_config(const ModelConfig& cfg, const char* arch) {
  const NeuralMemoryConfig m = cfg.memory_config();
  if (Status s = m.validate(); !s.ok()) return Status::error(std::string(arch) + ": " + s.message());
  if (cfg.n_persistent < 0) return Status::error(std::string(arch) + ": n_persistent must be >= 0");
  return m;
}

Status check_positive(int64_t v, const char* arch, const char* field) {
  if (v >= 1) return {};
  return Status::error(std::string(arch) + ": " + field + " must be >= 1");
}

// Its norm `layers.<layer>.<norm>` is added to the store before the mixer's parameters.
template <class MixerT, class... Args>
void add_sublayer(std::vector<Sublayer>& out, ParamStore& store, const ModelConfig& cfg, int layer,
                  const char* norm, Args&&... args) {
  const Tensor w = add_norm(store, layer_name(layer, norm), cfg.d_model);
  out.push_back(make_sublayer(layer_name(layer, norm), w, std::make_unique<MixerT>(std::forward<Args>(args)...)));
}

}  // namespace

Status build_titans_lmm_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                              std::vector<Sublayer>& out) {
  Result<NeuralMemoryConfig> mc = checked_memory_config(cfg, "titans_lmm");
  if (!mc) return mc.status();
  add_sublayer<MemoryMixer>(out, store, cfg, layer, "norm_mix", cfg, *mc, layer, store, rng);
  return {};
}

Status build_titans_mal_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                              std::vector<Sublayer>& out) {
  Result<NeuralMemoryConfig> mc = checked_memory_config(cfg, "titans_mal");
  if (!mc) return mc.status();
  if (Status s = check_positive(cfg.window, "titans_mal", "window"); !s) return s;
  // Eq. 29–31: the memory is a layer of its own, then sliding-window attention (no prefix: P enters
  // through the memory) over its output.
  add_sublayer<MemoryMixer>(out, store, cfg, layer, "norm_mem", cfg, *mc, layer, store, rng);
  const Tensor norm = add_norm(store, layer_name(layer, "norm_mix"), cfg.d_model);
  const AttentionParams p = add_attention_params(cfg, store, rng, layer_name(layer, "attn."));
  out.push_back(make_sublayer(layer_name(layer, "norm_mix"), norm, std::make_unique<AttentionMixer>(p, cfg.window)));
  return {};
}

Status build_titans_mag_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                              std::vector<Sublayer>& out) {
  Result<NeuralMemoryConfig> mc = checked_memory_config(cfg, "titans_mag");
  if (!mc) return mc.status();
  if (Status s = check_positive(cfg.window, "titans_mag", "window"); !s) return s;
  add_sublayer<MagMixer>(out, store, cfg, layer, "norm_mix", cfg, *mc, layer, store, rng);
  return {};
}

Status build_titans_mac_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                              std::vector<Sublayer>& out) {
  Result<NeuralMemoryConfig> mc = checked_memory_config(cfg, "titans_mac");
  if (!mc) return mc.status();
  if (Status s = check_positive(cfg.segment, "titans_mac", "segment"); !s) return s;
  add_sublayer<MacMixer>(out, store, cfg, layer, "norm_mix", cfg, *mc, layer, store, rng);
  return {};
}

}  // namespace titans
