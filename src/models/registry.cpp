#include "models/registry.h"

#include "models/architectures.h"

namespace titans {

const std::vector<ArchInfo>& architectures() {
  static const std::vector<ArchInfo> list = {
      {"transformer", "Transformer++: full causal attention + SwiGLU", build_transformer_layer},
      {"swa", "Transformer++ with sliding-window attention", build_swa_layer},
      {"titans_lmm", "Titans LMM: neural memory only (no attention)", build_titans_lmm_layer},
      {"titans_mac", "Titans MAC: memory as a context (segments)", build_titans_mac_layer},
      {"titans_mag", "Titans MAG: memory as a gate (SWA ⊗ memory)", build_titans_mag_layer},
      {"titans_mal", "Titans MAL: memory as a layer, then SWA", build_titans_mal_layer},
      {"infini", "Infini-attention: compressive memory + local attention", build_infini_layer},
  };
  return list;
}

const ArchInfo* find_architecture(const std::string& name) {
  for (const ArchInfo& a : architectures())
    if (name == a.name) return &a;
  return nullptr;
}

}  // namespace titans
