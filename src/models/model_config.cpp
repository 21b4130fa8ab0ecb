// ModelConfig ⇄ JSON, validation, presets. One list of fields (visit_fields) drives both the reader
// and the writer, so a field added to ModelConfig is added to the JSON in one place.
#include "models/model_config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

#include "models/registry.h"

#ifndef TITANS_SOURCE_DIR
#define TITANS_SOURCE_DIR ""
#endif

namespace titans {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// The JSON names of the enums.
template <class E> struct EnumNames;
template <> struct EnumNames<GateKind> {
  static constexpr std::pair<GateKind, const char*> list[] = {{GateKind::sigmoid, "sigmoid"}, {GateKind::sum, "sum"}};
};
template <> struct EnumNames<MemoryActivation> {
  static constexpr std::pair<MemoryActivation, const char*> list[] = {{MemoryActivation::gelu, "gelu"},
                                                                     {MemoryActivation::silu, "silu"}};
};
template <> struct EnumNames<InfiniUpdate> {
  static constexpr std::pair<InfiniUpdate, const char*> list[] = {{InfiniUpdate::linear, "linear"},
                                                                 {InfiniUpdate::delta, "delta"}};
};
template <class E> const char* enum_name(E e) {
  for (const auto& [v, name] : EnumNames<E>::list)
    if (v == e) return name;
  return "?";
}
template <class E> std::string enum_choices() {
  std::string s;
  for (const auto& [v, name] : EnumNames<E>::list) s += std::string(s.empty() ? "" : " or ") + "\"" + name + "\"";
  return s;
}

// Every JSON field, in the file's order. `v(key, field)` for values, `v.object(key, fn)` for a
// nested object whose fields fn visits.
template <class V> void visit_memory_fields(V& v, NeuralMemoryConfig& m) {
  v("depth", m.depth);
  v("expansion", m.expansion);
  v("activation", m.activation);
  v("residual", m.residual);
  v("conv_kernel", m.conv_kernel);
  v("chunk", m.chunk);
  v("theta_max", m.theta_max);
  v("momentum", m.momentum);
  v("decay", m.decay);
  v("theta_init", m.theta_init);
  v("eta_init", m.eta_init);
  v("alpha_init", m.alpha_init);
  v("head_dim", m.head_dim);  // 0: the model's head_dim
}

template <class V> void visit_fields(V& v, ModelConfig& c) {
  v("arch", c.arch);
  v("vocab_size", c.vocab_size);
  v("d_model", c.d_model);
  v("n_layers", c.n_layers);
  v("n_heads", c.n_heads);
  v("head_dim", c.head_dim);
  v("ffn_hidden", c.ffn_hidden);
  v("tie_embeddings", c.tie_embeddings);
  v("rope_theta", c.rope_theta);
  v("norm_eps", c.norm_eps);
  v("window", c.window);
  v("segment", c.segment);
  v("n_persistent", c.n_persistent);
  v("gate", c.gate);
  v.object("memory", [&](V& m) { visit_memory_fields(m, c.memory); });
  v.object("infini", [&](V& m) {
    m("update", c.infini_update);
    m("bptt_segments", c.infini_bptt_segments);
  });
  v("beta_lr_mult", c.beta_lr_mult);
  v("embed_std", c.embed_std);
}

// Reads fields from a JSON object; the first problem is kept in `error`.
class Reader {
 public:
  Reader(const json& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

  template <class T> void operator()(const char* key, T& field) {
    known_.insert(key);
    const auto it = obj_.find(key);
    if (it == obj_.end() || !error_.ok()) return;
    read(prefix_ + key, *it, field);
  }
  void object(const char* key, const std::function<void(Reader&)>& fn) {
    known_.insert(key);
    const auto it = obj_.find(key);
    if (it == obj_.end() || !error_.ok()) return;
    if (!it->is_object()) return fail(prefix_ + key, "expected an object");
    Reader sub(*it, prefix_ + key + ".");
    fn(sub);
    if (Status s = sub.finish(); !s) error_ = s;
  }
  // Unknown keys first: a misspelt key must never fall back silently to a default.
  Status finish() const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it)
      if (!known_.count(it.key())) return Status::error("config: unknown key '" + prefix_ + it.key() + "'");
    return error_;
  }

 private:
  void fail(const std::string& key, const std::string& what) {
    if (error_.ok()) error_ = Status::error("config: " + key + ": " + what);
  }
  template <class I> void read_int(const std::string& key, const json& j, I& out) {
    const bool fits = j.is_number_integer() &&
                      (j.is_number_unsigned() ? j.get<uint64_t>() <= uint64_t(std::numeric_limits<I>::max())
                                              : j.get<int64_t>() >= std::numeric_limits<I>::min() &&
                                                    j.get<int64_t>() <= std::numeric_limits<I>::max());
    if (!fits) return fail(key, "expected an integer, got " + j.dump());
    out = I(j.get<int64_t>());
  }
  void read(const std::string& key, const json& j, int64_t& out) { read_int(key, j, out); }
  void read(const std::string& key, const json& j, int& out) { read_int(key, j, out); }
  void read(const std::string& key, const json& j, double& out) {
    if (!j.is_number()) return fail(key, "expected a number, got " + j.dump());
    out = j.get<double>();
  }
  void read(const std::string& key, const json& j, bool& out) {
    if (!j.is_boolean()) return fail(key, "expected true or false, got " + j.dump());
    out = j.get<bool>();
  }
  void read(const std::string& key, const json& j, std::string& out) {
    if (!j.is_string()) return fail(key, "expected a string, got " + j.dump());
    out = j.get<std::string>();
  }
  template <class E> void read(const std::string& key, const json& j, E& out) {
    if (j.is_string())
      for (const auto& [v, name] : EnumNames<E>::list)
        if (j.get<std::string>() == name) {
          out = v;
          return;
        }
    fail(key, "expected " + enum_choices<E>() + ", got " + j.dump());
  }

  const json& obj_;
  std::string prefix_;
  std::set<std::string> known_;
  Status error_;
};

// Writes fields into an ordered JSON object (the visiting order).
class Writer {
 public:
  template <class T> void operator()(const char* key, const T& field) {
    if constexpr (std::is_enum_v<T>) obj[key] = enum_name(field);
    else obj[key] = field;
  }
  void object(const char* key, const std::function<void(Writer&)>& fn) {
    Writer sub;
    fn(sub);
    obj[key] = sub.obj;
  }
  ordered_json obj = ordered_json::object();
};

Status check(bool ok, const std::string& field, const std::string& rule) {
  return ok ? Status{} : Status::error("config: " + field + " " + rule);
}

std::string architecture_list() {
  std::string s;
  for (const ArchInfo& a : architectures()) s += std::string(s.empty() ? "" : ", ") + a.name;
  return s;
}

Status validate_memory(const NeuralMemoryConfig& m) {
  const std::vector<Status> checks = {
      check(m.depth >= 1 && m.depth <= 4, "memory.depth", "must be in 1..4"),
      check(m.expansion >= 1, "memory.expansion", "must be >= 1"),
      check(m.conv_kernel >= 1, "memory.conv_kernel", "must be >= 1"),
      check(m.chunk >= 1, "memory.chunk", "must be >= 1"),
      check(m.theta_max > 0, "memory.theta_max", "must be > 0"),
      check(m.theta_init > 0 && m.theta_init < 1, "memory.theta_init", "must be in (0, 1)"),
      check(m.eta_init > 0 && m.eta_init < 1, "memory.eta_init", "must be in (0, 1)"),
      check(m.alpha_init > 0 && m.alpha_init < 1, "memory.alpha_init", "must be in (0, 1)"),
      check(m.head_dim >= 0, "memory.head_dim", "must be >= 0 (0: the model's head_dim)"),
  };
  for (const Status& s : checks)
    if (!s) return s;
  return m.validate();
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::error(path + ": cannot read the file");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Result<ModelConfig> config_from_file(const std::string& path) {
  Result<std::string> text = read_text(path);
  if (!text) return text.status();
  Result<ModelConfig> c = config_from_json(*text);
  if (!c) return Status::error(path + ": " + c.message());
  return c;
}

// The folders holding presets, in lookup order: $TITANS_CONFIGS, then the source tree's configs/.
std::vector<std::filesystem::path> preset_dirs() {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("TITANS_CONFIGS"); env && *env) dirs.emplace_back(env);
  if (*TITANS_SOURCE_DIR) dirs.push_back(std::filesystem::path(TITANS_SOURCE_DIR) / "configs");
  return dirs;
}

}  // namespace

NeuralMemoryConfig ModelConfig::memory_config() const {
  NeuralMemoryConfig m = memory;
  m.d_model = d_model;
  m.n_heads = n_heads;
  if (m.head_dim <= 0) m.head_dim = dh();
  return m;
}

Status ModelConfig::validate() const {
  if (!find_architecture(arch))
    return Status::error("config: arch: unknown architecture '" + arch + "' (known: " + architecture_list() + ")");
  const std::vector<Status> checks = {
      check(vocab_size >= 1 && vocab_size <= std::numeric_limits<int32_t>::max(), "vocab_size",
            "must be in 1..2^31-1 (ids are int32)"),
      check(d_model >= 1, "d_model", "must be >= 1"),
      check(n_layers >= 1, "n_layers", "must be >= 1"),
      check(n_heads >= 1, "n_heads", "must be >= 1"),
      check(head_dim >= 0, "head_dim", "must be >= 0 (0: d_model / n_heads)"),
      check(head_dim > 0 || d_model % n_heads == 0, "head_dim",
            "is 0 but d_model is not divisible by n_heads"),
      check(dh() % 2 == 0, "head_dim", "must be even (RoPE rotates pairs of features)"),
      check(ffn_hidden >= 0, "ffn_hidden", "must be >= 0 (0: 8·d_model/3 rounded up to 32)"),
      check(rope_theta > 0, "rope_theta", "must be > 0"),
      check(norm_eps > 0, "norm_eps", "must be > 0"),
      check(window >= 1, "window", "must be >= 1"),
      check(segment >= 1, "segment", "must be >= 1"),
      check(n_persistent >= 0, "n_persistent", "must be >= 0"),
      check(infini_bptt_segments >= 0, "infini.bptt_segments", "must be >= 0 (0: full BPTT)"),
      check(beta_lr_mult > 0, "beta_lr_mult", "must be > 0"),
      check(embed_std > 0, "embed_std", "must be > 0"),
  };
  for (const Status& s : checks)
    if (!s) return s;
  return validate_memory(memory_config());
}

Result<ModelConfig> config_from_json(const std::string& json_text) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return Status::error(std::string("config: invalid JSON: ") + e.what());
  }
  if (!j.is_object()) return Status::error("config: expected a JSON object");
  ModelConfig c;
  Reader r(j, "");
  visit_fields(r, c);
  if (Status s = r.finish(); !s) return s;
  if (!j.contains("arch")) return Status::error("config: arch: missing (the architecture's name)");
  if (Status s = c.validate(); !s) return s;
  return c;
}

std::string config_to_json(const ModelConfig& c) {
  ModelConfig copy = c;  // the visitor takes fields by reference
  Writer w;
  visit_fields(w, copy);
  return w.obj.dump(2);
}

Result<ModelConfig> resolve_config(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(name_or_path, ec)) return config_from_file(name_or_path);
  const bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                               (name_or_path.size() > 5 && name_or_path.ends_with(".json"));
  if (looks_like_path) return Status::error(name_or_path + ": cannot read the file");
  std::set<std::string> presets;
  for (const fs::path& dir : preset_dirs()) {
    const fs::path file = dir / (name_or_path + ".json");
    if (fs::is_regular_file(file, ec)) return config_from_file(file.string());
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".json") presets.insert(e.path().stem().string());
  }
  std::string list;
  for (const std::string& p : presets) list += (list.empty() ? "" : ", ") + p;
  return Status::error("config: '" + name_or_path + "' is neither a file nor a preset (presets: " +
                       (list.empty() ? "none found" : list) + ")");
}

}  // namespace titans
