#include "models/model_file.h"

#include <fmt/format.h>

#include <cstring>
#include <span>
#include <vector>

#include "io/safetensors.h"
#include "util/hash.h"

namespace titans {

Status save_model(const std::string& path, const Model& model) {
  const std::vector<Parameter>& params = model.params().params();
  std::vector<std::vector<float>> rounded;  // F32 copies of a float64 model's parameters
  rounded.reserve(params.size());
  std::vector<io::TensorToWrite> tensors;
  for (const Parameter& p : params) {
    io::TensorToWrite t = io::tensor_to_write(p.name, p.tensor);
    if (p.tensor.dtype == DType::f64) {
      const double* src = p.tensor.ptr<double>();
      rounded.emplace_back(src, src + p.tensor.numel());
      t.dtype = io::FileDType::F32;
      t.data = rounded.back().data();
    }
    tensors.push_back(std::move(t));
  }
  return io::write_safetensors(path, tensors, {{io::kConfigKey, config_to_json(model.config())}});
}

namespace {

// Reads the F32 tensor `name` of the file into the parameter (converted for a float64 model).
Status read_parameter(const io::SafetensorsFile& file, const Parameter& p) {
  if (p.tensor.dtype == DType::f32) return file.read_into(p.name, p.tensor);
  Result<const io::TensorEntry*> e = file.get(p.name, DType::f32, p.tensor.shape);
  if (!e) return e.status();
  std::vector<float> buf(size_t(p.tensor.numel()));
  const std::span<const uint8_t> bytes = file.data(**e);
  std::memcpy(buf.data(), bytes.data(), bytes.size());
  for (size_t i = 0; i < buf.size(); ++i) p.tensor.ptr<double>()[i] = buf[i];
  return {};
}

}  // namespace

Result<std::unique_ptr<Model>> load_model(const std::string& path, DType dtype) {
  Result<io::SafetensorsFile> opened = io::SafetensorsFile::open(path);
  if (!opened) return opened.status();
  const io::SafetensorsFile& file = *opened;
  const auto& meta = file.metadata();
  const auto format = meta.find(io::kFormatKey), config = meta.find(io::kConfigKey);
  if (format == meta.end() || format->second != io::kFormatName || config == meta.end())
    return Status::error(path + ": not a titans.cpp model file (no \"format\": \"titans.cpp\" and \"config\" metadata)");
  if (const auto v = meta.find(io::kFormatVersionKey); v == meta.end() || v->second != io::kFormatVersion)
    return Status::error(path + ": unsupported format_version (this build reads \"" + io::kFormatVersion + "\")");
  Result<ModelConfig> cfg = config_from_json(config->second);
  if (!cfg) return Status::error(path + ": " + cfg.message());
  // The seed does not matter: every parameter is overwritten from the file.
  Result<std::unique_ptr<Model>> model = create_model(*cfg, 0, dtype);
  if (!model) return Status::error(path + ": " + model.message());
  std::vector<std::string> used;
  for (const Parameter& p : (*model)->params().params()) {
    if (Status s = read_parameter(file, p); !s) return s;
    used.push_back(p.name);
  }
  if (Status s = file.check_no_extra(used); !s) return s;
  return model;
}

uint64_t model_hash(const Model& model) {
  Fnv1a64 h;
  const std::string config = config_to_json(model.config());
  h.add(config.data(), config.size());
  std::vector<float> f32;
  for (const Parameter& p : model.params().params()) {
    // Lengths first, so that no two different (name, shape) lists give the same bytes.
    const uint64_t name_len = p.name.size(), ndim = uint64_t(p.tensor.ndim());
    h.add(&name_len, sizeof name_len);
    h.add(p.name.data(), p.name.size());
    h.add(&ndim, sizeof ndim);
    h.add(p.tensor.shape.d, sizeof(int64_t) * size_t(ndim));
    const size_t n = size_t(p.tensor.numel());
    if (p.tensor.dtype == DType::f32) {
      h.add(p.tensor.data, n * sizeof(float));
    } else {
      f32.resize(n);
      dispatch_float(p.tensor.dtype, [&](auto zero) {
        using T = decltype(zero);
        for (size_t i = 0; i < n; ++i) f32[i] = float(p.tensor.ptr<T>()[i]);
      });
      h.add(f32.data(), n * sizeof(float));
    }
  }
  return h.value();
}

std::string model_hash_string(const Model& model) { return fmt::format("{:016x}", model_hash(model)); }

}  // namespace titans
