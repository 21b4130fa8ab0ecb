// Memory-state snapshots (infer/state_file.h). Every LayerState / MemoryState field has a name in
// slots() below: a new state field must be added there (CONTRIBUTING.md, "Adding a model"), or
// snapshots silently lose it — tests/state_file_test.cpp's round trips would then fail.
#include "infer/state_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <tuple>

#include "io/safetensors.h"
#include "io/text.h"
#include "models/model_file.h"
#include "tensor/index_iter.h"

namespace titans {

namespace {

// How a tensor's presence and token count are checked on load (the other dimensions are fixed by
// the model's config: they must equal those of a reference state the model makes itself).
enum class Kind {
  fixed,    // present whenever the reference state has it
  cache,    // attention keys/values [B, n, ...]: n tokens, at most the position
  memory,   // a memory's weights and conv tails: all present or (segment-start memory only) none
  pending,  // a memory's unfinished chunk [B, H, n, ...]: n = the memory's position mod chunk
};

struct Slot {
  std::string name;
  Tensor* t;
  Kind kind;
  size_t layer;
  std::string memory;  // kind memory / pending: "layers.3.memory" (its metadata key + ".pos")
};

void memory_slots(size_t layer, const std::string& prefix, MemoryState& m, std::vector<Slot>& out) {
  const std::string mem = prefix.substr(0, prefix.size() - 1);
  for (size_t l = 0; l < m.w.size(); ++l)
    out.push_back({prefix + "w." + std::to_string(l + 1), &m.w[l], Kind::memory, layer, mem});
  for (size_t l = 0; l < m.s.size(); ++l)
    out.push_back({prefix + "s." + std::to_string(l + 1), &m.s[l], Kind::memory, layer, mem});
  for (auto [name, t] :
       {std::pair{"tail_q", &m.tail_q}, {"tail_k", &m.tail_k}, {"tail_v", &m.tail_v}})
    out.push_back({prefix + name, t, Kind::memory, layer, mem});
  for (auto [name, t] : {std::pair{"pend_k", &m.pend_k},
                         {"pend_v", &m.pend_v},
                         {"pend_theta", &m.pend_theta},
                         {"pend_eta", &m.pend_eta},
                         {"pend_alpha", &m.pend_alpha}})
    out.push_back({prefix + name, t, Kind::pending, layer, mem});
}

// Every tensor field of `st`, named as in docs/FORMAT.md. The memories' w / s lists must already
// have their length (one entry per memory MLP layer).
std::vector<Slot> slots(ModelState& st) {
  std::vector<Slot> out;
  for (size_t i = 0; i < st.layers.size(); ++i) {
    LayerState& l = st.layers[i];
    const std::string p = "layers." + std::to_string(i) + ".";
    for (auto [name, t] : {std::pair{"k", &l.k},
                           {"v", &l.v},
                           {"k_raw", &l.k_raw},
                           {"k_mem", &l.k_mem},
                           {"v_mem", &l.v_mem}})
      out.push_back({p + name, t, Kind::cache, i, ""});
    for (auto [name, t] :
         {std::pair{"q_tail", &l.q_tail}, {"infini_m", &l.infini_m}, {"infini_z", &l.infini_z}})
      out.push_back({p + name, t, Kind::fixed, i, ""});
    memory_slots(i, p + "memory.", l.memory, out);
    memory_slots(i, p + "memory_segment_start.", l.memory_segment_start, out);
  }
  return out;
}

bool present(const Tensor& t) { return t.ndim() > 0 && t.defined(); }

// The memories of `st` with their metadata key ("layers.3.memory.pos").
std::vector<std::pair<std::string, MemoryState*>> memories(ModelState& st) {
  std::vector<std::pair<std::string, MemoryState*>> out;
  for (size_t i = 0; i < st.layers.size(); ++i) {
    const std::string p = "layers." + std::to_string(i) + ".";
    out.push_back({p + "memory.pos", &st.layers[i].memory});
    out.push_back({p + "memory_segment_start.pos", &st.layers[i].memory_segment_start});
  }
  return out;
}

// A contiguous copy of t's bytes (state tensors usually are contiguous already).
std::vector<uint8_t> contiguous_bytes(const Tensor& t) {
  std::vector<uint8_t> out(size_t(t.numel()) * dtype_size(t.dtype));
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    T* dst = reinterpret_cast<T*>(out.data());
    for_each_index(t.shape, [&](const int64_t* idx, int64_t i) {
      dst[i] = t.ptr<T>()[element_offset(t, idx)];
    });
  });
  return out;
}

Result<int64_t> parse_count(const std::string& path, const std::map<std::string, std::string>& meta,
                            const std::string& key) {
  const auto it = meta.find(key);
  if (it == meta.end())
    return Status::error(fmt::format("{}: metadata \"{}\" is missing", path, key));
  int64_t v = -1;
  const char* end = it->second.data() + it->second.size();
  const auto [p, ec] = std::from_chars(it->second.data(), end, v);
  if (ec != std::errc() || p != end || v < 0)
    return Status::error(fmt::format("{}: metadata \"{}\" is {}, not a count", path, key,
                                     io::single_quoted(it->second, 40)));
  return v;
}

// The state `model` has after `tokens` tokens (batch 1): which fields exist, their dtypes and
// fixed dimensions. Enough tokens that every field appears (MAC's segment-start memory needs a
// second segment).
Result<ModelState> reference_state(const Model& model, Graph& g) {
  const ModelConfig& c = model.config();
  const int64_t tokens = std::max(c.segment, c.memory_config().chunk) + 1;
  NoGradScope no_grad(g);
  Tensor ids = g.new_tensor(Shape{1, tokens}, DType::i32, false);
  std::memset(ids.data, 0, size_t(tokens) * sizeof(int32_t));
  ModelState st;
  Result<Tensor> y = model.forward(g, ids, &st);
  if (!y) return y.status();
  return st;
}

Status check_finite(const std::string& path, const std::string& name, const Tensor& t) {
  bool ok = true;
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < t.numel() && ok; ++i) ok = std::isfinite(double(t.ptr<T>()[i]));
  });
  return ok ? Status()
            : Status::error(fmt::format("{}: tensor {} holds a non-finite value", path,
                                        io::single_quoted(name)));
}

// Fills every tensor of `out` (a copy of the model's reference state `ref`) from the file, checking
// each against the reference (dtype, fixed dimensions) and the positions (token counts); the names
// it read go to `used`.
Status read_tensors(const io::SafetensorsFile& file, int64_t pos, int64_t batch, const Model& model,
                    ModelState& ref, ModelState& out, Graph& g, std::vector<std::string>& used) {
  const std::string& path = file.label();
  const ModelConfig& c = model.config();
  const auto fail = [&](const std::string& what) { return Status::error(path + ": " + what); };
  const std::vector<Slot> want = slots(out), have = slots(ref);

  // The memories the file holds (any of their tensors) and their positions.
  std::map<std::string, int64_t> mem_pos;
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i].kind == Kind::memory && present(*have[i].t) && file.find(want[i].name))
      mem_pos[want[i].memory] = 0;
  for (auto& [mem, mp] : mem_pos) {
    Result<int64_t> v = parse_count(path, file.metadata(), mem + ".pos");
    if (!v) return v.status();
    if (*v > pos + c.n_persistent)
      return fail(fmt::format("metadata \"{}.pos\" is {}, beyond position {}", mem, *v, pos));
    mp = *v;
  }
  std::vector<std::string> absent_memories;
  for (auto& [key, m] : memories(out)) {
    const std::string mem = key.substr(0, key.size() - 4);
    if (!m->started()) continue;
    if (mem_pos.count(mem))
      m->pos = mem_pos[mem];
    else
      absent_memories.push_back(mem);
  }

  const int64_t chunk = c.memory_config().chunk;
  for (size_t i = 0; i < want.size(); ++i) {
    const Slot& s = want[i];
    const Tensor r = *have[i].t;
    *s.t = Tensor{};
    if (!present(r)) continue;  // the model has no such field: a tensor of that name is unexpected
    const bool infini_layer = present(ref.layers[s.layer].infini_m);
    bool required = true;
    int64_t tokens = -1;  // the token count it must have; -1: any up to the position
    std::string why;      // why it must be absent (tokens == 0)
    if (s.kind == Kind::cache && infini_layer) {  // Infini's segment cache empties at segment ends
      tokens = pos % c.segment;
      why = fmt::format("position {} ends a segment", pos);
    } else if (s.kind == Kind::memory) {
      required = mem_pos.count(s.memory) > 0;
      // Only MAC's segment-start memory is absent (its first segment); a model's memory never is.
      if (!required && s.memory.find("segment_start") == std::string::npos)
        return fail(fmt::format("tensor {} is missing", io::single_quoted(s.name)));
    } else if (s.kind == Kind::pending) {
      tokens = mem_pos.count(s.memory) && chunk > 0 ? mem_pos[s.memory] % chunk : 0;
      why = mem_pos.count(s.memory)
                ? fmt::format("its memory's position {} ends a chunk", mem_pos[s.memory])
                : std::string("its memory is absent");
    }
    if (tokens == 0) required = false;
    const io::TensorEntry* e = file.find(s.name);
    if (!e) {
      if (required) return fail(fmt::format("tensor {} is missing", io::single_quoted(s.name)));
      continue;
    }
    if (tokens == 0)
      return fail(fmt::format("tensor {} is unexpected: {}", io::single_quoted(s.name), why));
    Shape shape = r.shape;
    shape[0] = batch;
    if (s.kind == Kind::cache || s.kind == Kind::pending) {
      const int td = s.kind == Kind::cache ? 1 : 2;
      if (tokens < 0 && int(e->shape.size()) == shape.ndim) {
        if (e->shape[size_t(td)] > pos)
          return fail(fmt::format("tensor {} holds {} tokens, more than the position {}",
                                  io::single_quoted(s.name), e->shape[size_t(td)], pos));
        tokens = e->shape[size_t(td)];
      }
      if (tokens >= 0) shape[td] = tokens;
    }
    Result<const io::TensorEntry*> checked = file.get(s.name, r.dtype, shape);
    if (!checked) return checked.status();
    Tensor t = g.new_tensor(shape, r.dtype, false);
    const std::span<const uint8_t> bytes = file.data(**checked);
    if (!bytes.empty()) std::memcpy(t.data, bytes.data(), bytes.size());
    if (Status st = check_finite(path, s.name, t); !st) return st;
    *s.t = t;
    used.push_back(s.name);
  }

  // Keys and values of one cache hold the same tokens.
  for (size_t i = 0; i < out.layers.size(); ++i) {
    const LayerState& l = out.layers[i];
    for (auto [a, b, na, nb] : {std::tuple{&l.k, &l.v, "k", "v"},
                                {&l.k, &l.k_raw, "k", "k_raw"},
                                {&l.k_mem, &l.v_mem, "k_mem", "v_mem"}})
      if (present(*a) && present(*b) && a->shape[1] != b->shape[1])
        return fail(fmt::format("tensors layers.{}.{} and layers.{}.{} hold {} and {} tokens", i,
                                na, i, nb, a->shape[1], b->shape[1]));
  }
  for (auto& [key, m] : memories(out))
    if (std::find(absent_memories.begin(), absent_memories.end(), key.substr(0, key.size() - 4)) !=
        absent_memories.end())
      *m = MemoryState{};
  return {};
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> state_tensors(const ModelState& state) {
  ModelState st = state;  // slots() points into its argument; the tensors are handles
  std::vector<std::pair<std::string, Tensor>> out;
  for (const Slot& s : slots(st))
    if (present(*s.t)) out.push_back({s.name, *s.t});
  return out;
}

Status save_state(const std::string& path, const Model& model, const ModelState& state,
                  std::span<const float> last_logits) {
  const ModelConfig& c = model.config();
  if (!last_logits.empty() && int64_t(last_logits.size()) != state.batch * c.vocab_size)
    return Status::error(fmt::format("{}: {} last logits for batch {} and vocabulary {}", path,
                                     last_logits.size(), state.batch, c.vocab_size));
  std::map<std::string, std::string> meta = {{io::kFormatKey, kStateFormatName},
                                             {io::kFormatVersionKey, kStateFormatVersion},
                                             {"arch", c.arch},
                                             {"model_hash", model_hash_string(model)},
                                             {"position", std::to_string(state.pos)},
                                             {"batch", std::to_string(state.batch)}};
  ModelState st = state;
  for (auto& [key, m] : memories(st))
    if (m->started()) meta[key] = std::to_string(m->pos);
  std::vector<io::TensorToWrite> tensors;
  std::vector<std::vector<uint8_t>> copies;  // non-contiguous tensors, made contiguous
  copies.reserve(slots(st).size());
  for (const auto& [name, t] : state_tensors(st)) {
    if (t.is_contiguous()) {
      tensors.push_back(io::tensor_to_write(name, t));
    } else {
      copies.push_back(contiguous_bytes(t));
      tensors.push_back({name, io::to_file_dtype(t.dtype),
                         std::vector<int64_t>(t.shape.d, t.shape.d + t.ndim()),
                         copies.back().data()});
    }
  }
  if (!last_logits.empty())
    tensors.push_back(
        {"last_logits", io::FileDType::F32, {state.batch, c.vocab_size}, last_logits.data()});
  return io::write_safetensors(path, tensors, std::move(meta));
}

Result<ModelState> load_state(const std::string& path, const Model& model, Graph& g,
                              std::vector<float>* last_logits) {
  Result<io::SafetensorsFile> opened = io::SafetensorsFile::open(path);
  if (!opened) return opened.status();
  const io::SafetensorsFile& file = *opened;
  const auto& meta = file.metadata();
  const ModelConfig& c = model.config();
  const auto fail = [&](const std::string& what) { return Status::error(path + ": " + what); };
  const auto get = [&](const char* key) {
    const auto it = meta.find(key);
    return it == meta.end() ? std::string() : it->second;
  };

  if (get(io::kFormatKey) != kStateFormatName)
    return fail(get(io::kFormatKey) == io::kFormatName
                    ? "a model file or checkpoint, not a memory-state snapshot"
                    : "not a memory-state snapshot (no \"format\": \"" +
                          std::string(kStateFormatName) + "\")");
  if (get(io::kFormatVersionKey) != kStateFormatVersion)
    return fail(fmt::format("snapshot format_version {}, this build reads \"{}\"",
                            io::single_quoted(get(io::kFormatVersionKey), 40),
                            kStateFormatVersion));
  if (get("arch") != c.arch)
    return fail(fmt::format("a snapshot of a {} model, this model is {}",
                            io::single_quoted(get("arch"), 40), c.arch));
  if (const std::string mine = model_hash_string(model); get("model_hash") != mine)
    return fail(fmt::format("made by another model (hash {}), this model's is {}",
                            io::single_quoted(get("model_hash"), 40), mine));
  Result<int64_t> pos = parse_count(path, meta, "position"),
                  batch = parse_count(path, meta, "batch");
  if (!pos) return pos.status();
  if (!batch) return batch.status();
  if (last_logits) last_logits->clear();

  ModelState out;
  std::vector<std::string> used;
  if (*pos > 0) {
    if (*batch < 1) return fail("batch 0 at position " + std::to_string(*pos));
    Graph rg;
    Result<ModelState> ref = reference_state(model, rg);
    if (!ref) return fail("cannot make the model's reference state: " + ref.message());
    out = *ref;  // the structure: every tensor is replaced by the file's or cleared below
    if (Status s = read_tensors(file, *pos, *batch, model, *ref, out, g, used); !s) return s;
  }
  out.pos = *pos;
  out.batch = *batch;
  if (file.find("last_logits")) {
    Result<const io::TensorEntry*> e =
        file.get("last_logits", DType::f32, Shape{*batch, c.vocab_size});
    if (!e) return e.status();
    std::vector<float> v(size_t(*batch * c.vocab_size));
    const std::span<const uint8_t> bytes = file.data(**e);
    std::memcpy(v.data(), bytes.data(), bytes.size());
    if (Status st = check_finite(path, "last_logits",
                                 wrap(v.data(), Shape{*batch, c.vocab_size}, DType::f32));
        !st)
      return st;
    if (last_logits) *last_logits = std::move(v);
    used.push_back("last_logits");
  }
  if (Status s = file.check_no_extra(used); !s) return s;
  return out;
}

Result<std::vector<float>> restore_state(const std::string& path, Streamer& s) {
  Graph g;
  std::vector<float> last;
  Result<ModelState> st = load_state(path, s.model(), g, &last);
  if (!st) return st.status();
  if (Status set = s.set_state(*st); !set) return Status::error(path + ": " + set.message());
  return last;
}

}  // namespace titans
