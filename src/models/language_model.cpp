#include "models/language_model.h"

#include "models/layers.h"
#include "models/registry.h"
#include "ops/ops.h"

namespace titans {

Result<std::unique_ptr<LanguageModel>> LanguageModel::create(const ModelConfig& cfg, uint64_t seed, DType dtype) {
  if (Status s = cfg.validate(); !s) return s;
  if (dtype != DType::f32 && dtype != DType::f64) return Status::error("model: dtype must be f32 or f64");
  const ArchInfo* arch = find_architecture(cfg.arch);
  std::unique_ptr<LanguageModel> m(new LanguageModel(cfg, dtype));
  ParamStore& store = m->store_;
  Rng rng(seed);
  const int64_t d = cfg.d_model, F = cfg.ffn_dim(), V = cfg.vocab_size;
  m->embed_ = store.add("embed", Shape{V, d});
  init_normal(m->embed_, rng, cfg.embed_std);
  for (int i = 0; i < cfg.n_layers; ++i) {
    Layer layer;
    if (Status s = arch->build_layer(cfg, i, store, rng, layer.sublayers); !s) return s;
    layer.norm_ffn = add_norm(store, layer_name(i, "norm_ffn"), d);
    layer.w1 = add_linear(store, rng, layer_name(i, "ffn.w1"), F, d);
    layer.w3 = add_linear(store, rng, layer_name(i, "ffn.w3"), F, d);
    layer.w2 = add_linear(store, rng, layer_name(i, "ffn.w2"), d, F);
    m->layers_.push_back(std::move(layer));
  }
  m->norm_f_ = add_norm(store, "norm_f", d);
  if (cfg.tie_embeddings) {
    m->lm_head_ = m->embed_;
  } else {
    m->lm_head_ = store.add("lm_head", Shape{V, d});
    init_normal(m->lm_head_, rng, cfg.embed_std);
  }
  return m;
}

Status LanguageModel::check_input(const Tensor& ids, const ModelState* state) const {
  if (ids.dtype != DType::i32 || ids.ndim() != 2)
    return Status::error("model: ids must be an i32 tensor [batch, tokens]");
  if (ids.shape[0] < 1 || ids.shape[1] < 1) return Status::error("model: ids must hold at least one token");
  if (!ids.is_contiguous()) return Status::error("model: ids must be contiguous");
  for (int64_t i = 0; i < ids.numel(); ++i) {
    const int32_t id = ids.ptr<int32_t>()[i];
    if (id < 0 || id >= cfg_.vocab_size)
      return Status::error("model: token id " + std::to_string(id) + " at index " + std::to_string(i) +
                           " is outside [0, " + std::to_string(cfg_.vocab_size) + ")");
  }
  if (state && state->started()) {
    if (int64_t(state->layers.size()) != cfg_.n_layers)
      return Status::error("model: the state has " + std::to_string(state->layers.size()) +
                           " layers, the model " + std::to_string(cfg_.n_layers));
    if (state->batch != ids.shape[0])
      return Status::error("model: the state was made for batch " + std::to_string(state->batch) +
                           ", the ids have batch " + std::to_string(ids.shape[0]));
  }
  return {};
}

// SwiGLU (Shazeer 2020): W_2 (SiLU(W_1 n) ⊙ W_3 n).
Tensor LanguageModel::ffn(Graph& g, const Layer& layer, const Tensor& x) const {
  const Tensor n = ops::rmsnorm(g, x, layer.norm_ffn, cfg_.norm_eps);
  const Tensor h = ops::swiglu(g, linear(g, n, layer.w1), linear(g, n, layer.w3));
  return linear(g, h, layer.w2);
}

Result<Tensor> LanguageModel::forward(Graph& g, const Tensor& ids, ModelState* state) const {
  if (Status s = check_input(ids, state); !s) return s;
  // Work on a copy of the state: on error the caller's is unchanged.
  ModelState st;
  if (state && state->started()) st = *state;
  else st.layers.resize(size_t(cfg_.n_layers));
  const int64_t pos0 = st.pos;

  Tensor x = ops::embedding(g, embed_, ids);  // [B, T, d]
  for (size_t i = 0; i < layers_.size(); ++i) {
    for (const Sublayer& sub : layers_[i].sublayers) {
      Result<Tensor> y = sub.mixer->forward(g, ops::rmsnorm(g, x, sub.norm, cfg_.norm_eps), pos0, st.layers[i]);
      if (!y) return y.status();
      x = ops::add(g, x, *y);
    }
    x = ops::add(g, x, ffn(g, layers_[i], x));
  }
  const Tensor logits = linear(g, ops::rmsnorm(g, x, norm_f_, cfg_.norm_eps), lm_head_);
  if (state) {
    st.pos = pos0 + ids.shape[1];
    st.batch = ids.shape[0];
    *state = std::move(st);
  }
  return logits;
}

}  // namespace titans
