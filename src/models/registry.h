// The one list of architectures (registry.cpp). Adding one: CONTRIBUTING.md ("Adding a model").
#pragma once

#include <vector>

#include "models/mixer.h"

namespace titans {

struct ArchInfo {
  const char* name;     // the config's "arch"
  const char* summary;  // one line for `titans inspect` / help
  BuildLayerFn build_layer;
};

const std::vector<ArchInfo>& architectures();
const ArchInfo* find_architecture(const std::string& name);  // null if unknown

}  // namespace titans
