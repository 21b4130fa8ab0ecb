#include "train/checkpoint.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "io/atomic_file.h"
#include "util/hash.h"  // fnv1a64: the marker's fingerprint of the checkpoint's bytes

namespace titans {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kKind = "checkpoint";

// Test hook (tests/checkpoint_test.cpp's kill test): microseconds to sleep between a checkpoint's
// rename and its marker, and after the marker, so that SIGKILLs land in those windows often.
void pause_for_tests() {
  static const long us = [] {
    const char* v = std::getenv("TITANS_TEST_CHECKPOINT_PAUSE_US");
    return v ? std::atol(v) : 0L;
  }();
  if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
}

// "step-<N><suffix>" → N, or -1 for any other name.
int64_t step_of(const std::string& name, const std::string& suffix) {
  if (name.rfind("step-", 0) != 0 || name.size() <= 5 + suffix.size()) return -1;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return -1;
  const std::string digits = name.substr(5, name.size() - 5 - suffix.size());
  if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoll(digits);
}

Result<std::vector<uint8_t>> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::error(path + ": cannot be read");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Status::error(path + ": read error");
  return bytes;
}

const std::string* meta(const io::SafetensorsFile& f, const char* key) {
  const auto it = f.metadata().find(key);
  return it == f.metadata().end() ? nullptr : &it->second;
}

// The metadata of a checkpoint file into `c` (everything but the tensors).
Status parse_metadata(Checkpoint& c) {
  const io::SafetensorsFile& f = c.file;
  const std::string* kind = meta(f, "kind");
  if (!kind || *kind != kKind) return Status::error(c.path + ": not a titans.cpp checkpoint (no \"kind\": \"checkpoint\")");
  const char* keys[] = {"step", "adam_t", "rng", "data_position", "threads", io::kConfigKey, "train_options"};
  for (const char* k : keys)
    if (!meta(f, k)) return Status::error(fmt::format("{}: metadata \"{}\" is missing", c.path, k));
  Result<ModelConfig> cfg = config_from_json(*meta(f, io::kConfigKey));
  if (!cfg) return Status::error(c.path + ": " + cfg.message());
  c.config = *cfg;
  try {
    Result<TrainOptions> opts = options_from_json(json::parse(*meta(f, "train_options")));
    if (!opts) return Status::error(c.path + ": " + opts.message());
    c.options = *opts;
    Result<data::SamplerPosition> pos = data::position_from_json(json::parse(*meta(f, "data_position")));
    if (!pos) return Status::error(c.path + ": " + pos.message());
    c.state.data = *pos;
    c.state.step = std::stoll(*meta(f, "step"));
    c.state.threads = std::stoi(*meta(f, "threads"));
    c.adam_t = std::stoll(*meta(f, "adam_t"));
    const json rng = json::parse(*meta(f, "rng"));
    if (!rng.is_array() || rng.size() != 4) return Status::error(c.path + ": metadata \"rng\" is not 4 numbers");
    for (int i = 0; i < 4; ++i) c.state.rng[i] = std::stoull(rng[size_t(i)].get<std::string>());
  } catch (const std::exception& e) {
    return Status::error(fmt::format("{}: bad checkpoint metadata: {}", c.path, e.what()));
  }
  return {};
}

}  // namespace

std::string checkpoint_file(const std::string& dir, int64_t step) {
  return fmt::format("{}/step-{}.safetensors", dir, step);
}
std::string marker_file(const std::string& dir, int64_t step) { return fmt::format("{}/step-{}.done", dir, step); }

Status write_checkpoint(const std::string& dir, const Model& model, AdamW& opt, const TrainState& state,
                        const TrainOptions& options) {
  const std::vector<Parameter>& params = model.params().params();
  std::vector<io::TensorToWrite> tensors;
  tensors.reserve(3 * params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Parameter& p = params[i];
    tensors.push_back(io::tensor_to_write("param." + p.name, p.tensor));
    const std::vector<int64_t> shape = tensors.back().shape;
    tensors.push_back({"adam_m." + p.name, io::FileDType::F64, shape, opt.first_moment(i).data()});
    tensors.push_back({"adam_v." + p.name, io::FileDType::F64, shape, opt.second_moment(i).data()});
  }
  json rng = json::array();
  for (uint64_t w : state.rng) rng.push_back(std::to_string(w));
  const std::map<std::string, std::string> metadata = {
      {"kind", kKind},
      {"step", std::to_string(state.step)},
      {"adam_t", std::to_string(opt.steps())},
      {"rng", rng.dump()},
      {"data_position", json(state.data).dump()},
      {"threads", std::to_string(state.threads)},
      {io::kConfigKey, config_to_json(model.config())},
      {"train_options", options_to_json(options).dump()},
  };
  Result<std::vector<uint8_t>> bytes = io::encode_safetensors(tensors, metadata);
  if (!bytes) return bytes.status();
  const std::string file = checkpoint_file(dir, state.step);
  const io::ByteRange body[] = {{bytes->data(), bytes->size()}};
  if (Status s = io::write_file_atomically(file, body); !s) return s;
  pause_for_tests();
  // The marker is written only once the checkpoint is durable under its final name.
  const std::string marker =
      json{{"step", state.step},
           {"file", fs::path(file).filename().string()},
           {"bytes", bytes->size()},
           {"fnv1a64", fmt::format("{:016x}", fnv1a64(bytes->data(), bytes->size()))}}
          .dump() +
      "\n";
  const io::ByteRange mark[] = {{marker.data(), marker.size()}};
  if (Status s = io::write_file_atomically(marker_file(dir, state.step), mark); !s) return s;
  pause_for_tests();
  return {};
}

std::vector<int64_t> marked_steps(const std::string& dir) {
  std::vector<int64_t> steps;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
    if (const int64_t s = step_of(e.path().filename().string(), ".done"); s >= 0) steps.push_back(s);
  std::sort(steps.rbegin(), steps.rend());
  return steps;
}

Result<Checkpoint> read_checkpoint(const std::string& dir, int64_t step) {
  const std::string path = checkpoint_file(dir, step), marker_path = marker_file(dir, step);
  Result<std::vector<uint8_t>> marker_bytes = read_all(marker_path);
  if (!marker_bytes) return marker_bytes.status();
  uint64_t want_bytes = 0;
  std::string want_hash;
  try {
    const json m = json::parse(marker_bytes->begin(), marker_bytes->end());
    want_bytes = m.at("bytes").get<uint64_t>();
    want_hash = m.at("fnv1a64").get<std::string>();
  } catch (const std::exception& e) {
    return Status::error(fmt::format("{}: bad completion marker: {}", marker_path, e.what()));
  }
  Result<std::vector<uint8_t>> bytes = read_all(path);
  if (!bytes) return bytes.status();
  if (bytes->size() != want_bytes)
    return Status::error(fmt::format("{}: {} bytes, its marker says {}", path, bytes->size(), want_bytes));
  if (fmt::format("{:016x}", fnv1a64(bytes->data(), bytes->size())) != want_hash)
    return Status::error(path + ": the bytes do not match the hash in its marker (corrupted)");
  Result<io::SafetensorsFile> file = io::SafetensorsFile::parse(path, std::move(bytes.value()));
  if (!file) return file.status();
  Checkpoint c{path, std::move(file.value()), {}, {}, {}, 0};
  if (Status s = parse_metadata(c); !s) return s;
  if (c.state.step != step)
    return Status::error(fmt::format("{}: holds step {}, its name says {}", path, c.state.step, step));
  return c;
}

Result<Checkpoint> latest_checkpoint(const std::string& dir, std::vector<std::string>* notes) {
  if (!fs::is_directory(dir)) return Status::error(dir + ": no checkpoint folder to resume from");
  for (const int64_t step : marked_steps(dir)) {
    Result<Checkpoint> c = read_checkpoint(dir, step);
    if (c) return c;
    if (notes) notes->push_back("skipping checkpoint of step " + std::to_string(step) + ": " + c.message());
  }
  return Status::error(dir + ": no complete checkpoint to resume from");
}

Status restore_checkpoint(const Checkpoint& ckpt, Model& model, AdamW& opt) {
  const std::vector<Parameter>& params = model.params().params();
  std::vector<std::string> used;
  for (size_t i = 0; i < params.size(); ++i) {
    const Parameter& p = params[i];
    if (Status s = ckpt.file.read_into("param." + p.name, p.tensor); !s) return s;
    for (auto [prefix, moments] : {std::pair{"adam_m.", &opt.first_moment(i)}, {"adam_v.", &opt.second_moment(i)}}) {
      Result<const io::TensorEntry*> e = ckpt.file.get(prefix + p.name, DType::f64, p.tensor.shape);
      if (!e) return e.status();
      std::memcpy(moments->data(), ckpt.file.data(**e).data(), (*e)->nbytes());
      used.push_back(prefix + p.name);
    }
    used.push_back("param." + p.name);
  }
  if (Status s = ckpt.file.check_no_extra(used); !s) return s;
  opt.set_steps(ckpt.adam_t);
  return {};
}

Status prune_checkpoints(const std::string& dir, int64_t keep) {
  const std::vector<int64_t> marked = marked_steps(dir);
  if (marked.empty()) return {};
  const int64_t newest = marked.front();
  std::error_code ec;
  // Markers first: once a marker is gone nothing points to the file, so a kill in between leaves
  // only an unmarked file, which the next prune removes.
  if (keep > 0)
    for (size_t i = size_t(keep); i < marked.size(); ++i)
      if (!fs::remove(marker_file(dir, marked[i]), ec) && ec)
        return Status::error(fmt::format("{}: cannot delete: {}", marker_file(dir, marked[i]), ec.message()));
  const std::string own_tmp = ".tmp." + std::to_string(long(::getpid()));
  const std::vector<int64_t> still = marked_steps(dir);
  std::vector<fs::path> doomed;  // collected first: the folder is not changed while it is listed
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const int64_t step = step_of(name, ".safetensors");
    const bool unmarked_old = step >= 0 && step < newest && std::find(still.begin(), still.end(), step) == still.end();
    const size_t tmp = name.find(".tmp.");
    const bool stale_tmp = name.rfind("step-", 0) == 0 && tmp != std::string::npos && name.substr(tmp) != own_tmp;
    if (unmarked_old || stale_tmp) doomed.push_back(e.path());
  }
  for (const fs::path& p : doomed)
    if (!fs::remove(p, ec) && ec) return Status::error(fmt::format("{}: cannot delete: {}", p.string(), ec.message()));
  return {};
}

}  // namespace titans
