// The four Titans architectures (Titans §4, docs/MODELS.md items 4–9) as lists of sublayers:
//   titans_lmm: [norm_mix → Memory(P ‖ n)]                                   (memory_mixer.h)
//   titans_mal: [norm_mem → Memory(P ‖ n)], [norm_mix → sliding-window attention] (Eq. 29–31)
//   titans_mag: [norm_mix → Gate(SWA*(P ‖ n), Memory(P ‖ n))]                (mag_mixer.h, Eq. 26–28)
//   titans_mac: [norm_mix → segments: retrieve, attend over [P | h | n], write, gate] (mac_mixer.h, Eq. 21–25)
#include <memory>
#include <string>
#include <utility>

#include "models/architectures.h"
#include "models/mac_mixer.h"
#include "models/mag_mixer.h"
#include "models/memory_mixer.h"
#include "models/titans_common.h"
#include "models/window_attention.h"

namespace titans {

namespace {

std::string layer_name(int layer, const char* what) { return "layers." + std::to_string(layer) + "." + what; }

// The memory config of a Titans layer, checked (library code reports, NeuralMemory asserts).
Result<NeuralMemoryConfig> checked_memory_config(const ModelConfig& cfg, const char* arch) {
  const NeuralMemoryConfig m = titans_memory_config(cfg);
  if (Status s = m.validate(); !s.ok()) return Status::error(std::string(arch) + ": " + s.message());
  if (cfg.n_persistent < 0) return Status::error(std::string(arch) + ": n_persistent must be >= 0");
  return m;
}

// A sublayer whose norm `layers.<layer>.<norm>` is added to the store before the mixer's parameters.
template <class MixerT, class... Args>
void add_sublayer(std::vector<Sublayer>& out, ParamStore& store, const ModelConfig& cfg, int layer,
                  const char* norm, Args&&... args) {
  Sublayer s;
  s.norm_name = layer_name(layer, norm);
  s.norm = add_norm_weight(store, s.norm_name, cfg.d_model);
  s.mixer = std::make_unique<MixerT>(std::forward<Args>(args)...);
  out.push_back(std::move(s));
}

Status check_window(const ModelConfig& cfg, const char* arch) {
  if (cfg.window < 1) return Status::error(std::string(arch) + ": window must be >= 1");
  return {};
}

}  // namespace

Status build_titans_lmm_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                              std::vector<Sublayer>& out) {
  Result<NeuralMemoryConfig> mc = checked_memory_config(cfg, "titans_lmm");
  if (!mc.ok()) return mc.status();
  add_sublayer<MemoryMixer>(out, store, cfg, layer, "norm_mix", cfg, *mc, layer, store, rng);
  return {};
}

Status build_titans_mal_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                              std::vector<Sublayer>& out) {
  Result<NeuralMemoryConfig> mc = checked_memory_config(cfg, "titans_mal");
  if (!mc.ok()) return mc.status();
  if (Status s = check_window(cfg, "titans_mal"); !s.ok()) return s;
  // Eq. 29–31: the memory is a layer of its own, then sliding-window attention over its output.
  add_sublayer<MemoryMixer>(out, store, cfg, layer, "norm_mem", cfg, *mc, layer, store, rng);
  add_sublayer<WindowAttentionMixer>(out, store, cfg, layer, "norm_mix", cfg, layer, store, rng);
  return {};
}

Status build_titans_mag_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                              std::vector<Sublayer>& out) {
  Result<NeuralMemoryConfig> mc = checked_memory_config(cfg, "titans_mag");
  if (!mc.ok()) return mc.status();
  if (Status s = check_window(cfg, "titans_mag"); !s.ok()) return s;
  add_sublayer<MagMixer>(out, store, cfg, layer, "norm_mix", cfg, *mc, layer, store, rng);
  return {};
}

Status build_titans_mac_layer(const ModelConfig& cfg, int layer, ParamStore& store, Rng& rng,
                              std::vector<Sublayer>& out) {
  Result<NeuralMemoryConfig> mc = checked_memory_config(cfg, "titans_mac");
  if (!mc.ok()) return mc.status();
  if (cfg.segment < 1) return Status::error("titans_mac: segment must be >= 1");
  add_sublayer<MacMixer>(out, store, cfg, layer, "norm_mix", cfg, *mc, layer, store, rng);
  return {};
}

}  // namespace titans
