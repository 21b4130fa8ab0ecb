// Model files: ONE safetensors file (docs/FORMAT.md) holding every parameter as F32 under its
// docs/FORMAT.md name, and the metadata {"format": "titans.cpp", "format_version": "1",
// "config": <the config JSON>} — everything needed to rebuild the model, nothing else.
#pragma once

#include <memory>
#include <string>

#include "models/model.h"

namespace titans {

// Writes `model` to `path` atomically (the old file survives any failure). Float64 models are
// stored rounded to F32.
Status save_model(const std::string& path, const Model& model);

// Reads a model file: its config (which must parse and name a registered architecture), then
// every parameter, checked by name and shape; a file with tensors the model does not have is
// refused too. Errors are one line naming the file and the problem (missing tensor, wrong shape,
// invalid config JSON, unknown architecture, not a model file).
Result<std::unique_ptr<Model>> load_model(const std::string& path, DType dtype = DType::f32);

// A fingerprint of the model: FNV-1a 64 (util/hash.h) over its config JSON and every parameter's
// name, shape and values rounded to float32 (as a model file stores them, so a file loaded as
// float64 keeps its hash). Memory-state snapshots carry it: a state only fits the model that made it.
uint64_t model_hash(const Model& model);
// model_hash as 16 lowercase hex digits, as snapshots and messages show it.
std::string model_hash_string(const Model& model);

}  // namespace titans
