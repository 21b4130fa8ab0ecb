// Every registered architecture (models/registry.cpp), tiny preset each, through one table:
// float64 gradients of the whole model against central differences, causality (a later token never
// changes an earlier logit) and streaming (one call = pieces with carried state = token by token).
// A new architecture is covered the moment it is registered.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "model_test_util.h"
#include "models/attention_mixer.h"
#include "models/model_config.h"
#include "ops/ops.h"

namespace titans {
namespace {

constexpr int64_t kB = 2;
// 40 tokens: 2.5 segments / windows of 16 and 10 memory chunks of 4 in the tiny presets.
constexpr int64_t kT = 40;

// Variants of a preset the table also covers (a config field that changes the computation).
const std::map<std::string, std::pair<std::string, void (*)(ModelConfig&)>>& variants() {
  static const std::map<std::string, std::pair<std::string, void (*)(ModelConfig&)>> v = {
      {"infini_delta", {"infini-tiny", [](ModelConfig& c) { c.infini_update = InfiniUpdate::delta; }}},
      {"transformer_tied", {"transformer-tiny", [](ModelConfig& c) { c.tie_embeddings = true; }}},
  };
  return v;
}

// Every registered architecture, then the variants.
std::vector<std::string> case_names() {
  std::vector<std::string> v;
  for (const ArchInfo& a : architectures()) v.push_back(a.name);
  for (const auto& [name, variant] : variants()) v.push_back(name);
  return v;
}

Result<ModelConfig> case_config(const std::string& name) {
  const auto it = variants().find(name);
  if (it == variants().end()) return resolve_config(name + "-tiny");
  Result<ModelConfig> c = resolve_config(it->second.first);
  if (c.ok()) it->second.second(*c);
  return c;
}

class ArchTest : public ::testing::TestWithParam<std::string> {
 protected:
  // The tiny preset of the architecture under test, built in `dtype`; skips a stub.
  void SetUp() override {
    Result<ModelConfig> c = case_config(GetParam());
    ASSERT_TRUE(c.ok()) << c.message();
    cfg_ = *c;
    Result<std::unique_ptr<Model>> m = create_model(cfg_, 5, DType::f64);
    ASSERT_TRUE(m.ok()) << m.message();
    model_ = std::move(m.value());
  }

  // Logits [B, T, V] of `ids` fed in pieces of the given sizes (state carried on one graph; with
  // `fresh_graphs`, each piece runs on a new graph and the state crosses via copy_state).
  std::vector<double> logits(const std::vector<int32_t>& ids, int64_t T, const std::vector<int64_t>& pieces,
                             bool fresh_graphs = false) {
    const int64_t V = cfg_.vocab_size;
    std::vector<double> out(size_t(kB * T * V));
    auto g = std::make_unique<Graph>();
    ModelState st;
    int64_t t0 = 0;
    for (int64_t n : pieces) {
      if (fresh_graphs && t0 > 0) {
        auto next = std::make_unique<Graph>();
        st = copy_state(*next, st);
        g = std::move(next);
      }
      g->set_grad_enabled(false);
      Result<Tensor> y = model_->forward(*g, ids_tensor(*g, ids, kB, T, t0, t0 + n), &st);
      EXPECT_TRUE(y.ok()) << y.message();
      if (!y.ok()) return {};
      const std::vector<double> v = tensor_values(*y);
      for (int64_t b = 0; b < kB; ++b)
        std::copy_n(v.begin() + b * n * V, n * V, out.begin() + (b * T + t0) * V);
      t0 += n;
    }
    EXPECT_EQ(t0, T);
    EXPECT_EQ(st.pos, T);
    return out;
  }

  ModelConfig cfg_;
  std::unique_ptr<Model> model_;
};

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b, size_t begin = 0,
                    size_t end = SIZE_MAX) {
  double m = 0;
  for (size_t i = begin; i < std::min({a.size(), b.size(), end}); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// (a) L = Σ logits ⊙ R; ∂L/∂θ by backward against central differences on 3 elements of every
// parameter tensor (its largest gradient and two random ones).
TEST_P(ArchTest, GradientMatchesFiniteDifferences) {
  const int64_t V = cfg_.vocab_size;
  const std::vector<int32_t> ids = random_ids(kB * kT, V, 11);
  std::vector<double> r(size_t(kB * kT * V));
  Rng rng(12);
  for (double& e : r) e = rng.normal();
  const auto loss = [&](bool backward) {
    Graph g;
    g.set_grad_enabled(backward);
    Result<Tensor> y = model_->forward(g, ids_tensor(g, ids, kB, kT, 0, kT), nullptr);
    EXPECT_TRUE(y.ok()) << y.message();
    if (!y.ok()) return 0.0;
    const std::vector<double> v = tensor_values(*y);
    double l = 0;
    for (size_t i = 0; i < v.size(); ++i) l += r[i] * v[i];
    if (backward) g.backward(*y, r.data());
    return l;
  };
  model_->params().zero_grad();
  loss(true);

  const double h = 1e-5;
  Rng pick(13);
  for (const Parameter& p : model_->params().params()) {
    const std::vector<double> grad = tensor_values(p.tensor, true);
    size_t top = 0;
    for (size_t i = 0; i < grad.size(); ++i)
      if (std::fabs(grad[i]) > std::fabs(grad[top])) top = i;
    double worst = 0, scale = std::max(std::fabs(grad[top]), 1e-8);
    for (size_t i : {top, size_t(pick.below(grad.size())), size_t(pick.below(grad.size()))}) {
      double* x = p.tensor.ptr<double>() + i;
      const double keep = *x;
      *x = keep + h;
      const double lp = loss(false);
      *x = keep - h;
      const double lm = loss(false);
      *x = keep;
      const double numeric = (lp - lm) / (2 * h);
      worst = std::max(worst, std::fabs(numeric - grad[i]));
      scale = std::max(scale, std::fabs(numeric));
    }
    EXPECT_LT(worst / scale, 1e-6) << p.name << ": |autodiff − numeric| " << worst << ", scale " << scale;
  }
}

// (b) Changing token j leaves every logit before j unchanged (and does change a logit at ≥ j).
TEST_P(ArchTest, Causal) {
  const int64_t V = cfg_.vocab_size;
  const std::vector<int32_t> ids = random_ids(kB * kT, V, 21);
  const std::vector<double> base = logits(ids, kT, {kT});
  // Positions around segment / window (16) and chunk (4) boundaries, the first and the last.
  for (int64_t j : {0, 3, 4, 5, 15, 16, 17, 31, 32, 33, 39}) {
    std::vector<int32_t> changed = ids;
    for (int64_t b = 0; b < kB; ++b) changed[size_t(b * kT + j)] = (ids[size_t(b * kT + j)] + 1 + int32_t(b)) % int32_t(V);
    const std::vector<double> other = logits(changed, kT, {kT});
    for (int64_t b = 0; b < kB; ++b) {
      const size_t row = size_t(b * kT * V);
      EXPECT_LT(max_abs_diff(base, other, row, row + size_t(j * V)), 1e-12) << "batch " << b << ", token " << j;
      EXPECT_GT(max_abs_diff(base, other, row + size_t(j * V), row + size_t(kT * V)), 1e-6)
          << "batch " << b << ", token " << j << " changed nothing";
    }
  }
}

// (c) One call = random pieces with the state carried = token by token = pieces on fresh graphs.
TEST_P(ArchTest, StreamingEqualsOneCall) {
  const std::vector<int32_t> ids = random_ids(kB * kT, cfg_.vocab_size, 31);
  const std::vector<double> whole = logits(ids, kT, {kT});
  Rng rng(32);
  std::vector<int64_t> pieces;
  for (int64_t left = kT; left > 0;) {
    pieces.push_back(std::min<int64_t>(left, 1 + int64_t(rng.below(13))));
    left -= pieces.back();
  }
  EXPECT_LT(max_abs_diff(whole, logits(ids, kT, pieces)), 1e-10) << "random pieces";
  EXPECT_LT(max_abs_diff(whole, logits(ids, kT, std::vector<int64_t>(kT, 1))), 1e-10) << "token by token";
  EXPECT_LT(max_abs_diff(whole, logits(ids, kT, pieces, true)), 1e-10) << "pieces, state copied across graphs";
}

// Bad input is an error, and leaves the state as it was.
TEST_P(ArchTest, RejectsBadInputKeepingTheState) {
  Graph g;
  NoGradScope ng(g);
  const std::vector<int32_t> ids = random_ids(kB * 5, cfg_.vocab_size, 41);
  ModelState st;
  ASSERT_TRUE(model_->forward(g, ids_tensor(g, ids, kB, 5, 0, 5), &st).ok());
  std::vector<int32_t> bad = ids;
  bad[3] = int32_t(cfg_.vocab_size);
  Result<Tensor> y = model_->forward(g, ids_tensor(g, bad, kB, 5, 0, 5), &st);
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.message().find("outside"), std::string::npos) << y.message();
  EXPECT_EQ(st.pos, 5);
  Result<Tensor> other_batch = model_->forward(g, ids_tensor(g, ids, 1, 5, 0, 5), &st);
  ASSERT_FALSE(other_batch.ok());
  EXPECT_NE(other_batch.message().find("batch"), std::string::npos) << other_batch.message();
}

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, ArchTest, ::testing::ValuesIn(case_names()),
                         [](const auto& info) { return info.param; });

// Parameter names and shapes of the baselines follow docs/FORMAT.md.
TEST(Baselines, ParameterNamesAndShapes) {
  Result<ModelConfig> c = resolve_config("infini-tiny");
  ASSERT_TRUE(c.ok()) << c.message();
  Result<std::unique_ptr<Model>> m = create_model(*c, 1);
  ASSERT_TRUE(m.ok()) << m.message();
  std::map<std::string, Shape> got;
  for (const Parameter& p : (*m)->params().params()) got[p.name] = p.tensor.shape;
  const int64_t V = 256, d = 32, F = c->ffn_dim(), HD = 32;
  EXPECT_EQ(F, 96);
  const std::map<std::string, Shape> expect = {
      {"embed", Shape{V, d}}, {"norm_f", Shape{d}}, {"lm_head", Shape{V, d}},
      {"layers.1.norm_mix", Shape{d}}, {"layers.1.norm_ffn", Shape{d}},
      {"layers.1.ffn.w1", Shape{F, d}}, {"layers.1.ffn.w3", Shape{F, d}}, {"layers.1.ffn.w2", Shape{d, F}},
      {"layers.1.attn.w_q", Shape{HD, d}}, {"layers.1.attn.w_k", Shape{HD, d}},
      {"layers.1.attn.w_v", Shape{HD, d}}, {"layers.1.attn.w_o", Shape{d, HD}}, {"layers.1.attn.beta", Shape{2}}};
  for (const auto& [name, shape] : expect) {
    ASSERT_TRUE(got.count(name)) << name;
    EXPECT_EQ(got[name], shape) << name;
  }
  EXPECT_EQ(got.size(), 3 + 2 * 10u);
  for (const Parameter& p : (*m)->params().params()) {
    if (p.name.ends_with("beta")) {
      EXPECT_FALSE(p.options.decay) << p.name;
      EXPECT_EQ(p.options.lr_mult, c->beta_lr_mult) << p.name;
    }
  }
}

TEST(Baselines, TiedEmbeddingsHaveNoHead) {
  Result<ModelConfig> c = resolve_config("transformer-tiny");
  ASSERT_TRUE(c.ok()) << c.message();
  c->tie_embeddings = true;
  Result<std::unique_ptr<Model>> m = create_model(*c, 1);
  ASSERT_TRUE(m.ok()) << m.message();
  for (const Parameter& p : (*m)->params().params()) EXPECT_NE(p.name, "lm_head");
}

// A sliding window sees only `window` tokens: with window 1 … the transformer's logits differ,
// with a window longer than the sequence swa equals the transformer.
TEST(Baselines, SlidingWindowLongerThanTheSequenceIsFullAttention) {
  Result<ModelConfig> c = resolve_config("swa-tiny");
  ASSERT_TRUE(c.ok()) << c.message();
  ModelConfig full = *c;
  full.arch = "transformer";
  ModelConfig wide = *c;
  wide.window = kT;
  const std::vector<int32_t> ids = random_ids(kB * kT, c->vocab_size, 51);
  const auto run = [&](const ModelConfig& cfg) {
    Result<std::unique_ptr<Model>> m = create_model(cfg, 3, DType::f64);
    EXPECT_TRUE(m.ok()) << m.message();
    Graph g;
    Result<Tensor> y = (*m)->forward(g, ids_tensor(g, ids, kB, kT, 0, kT), nullptr);
    EXPECT_TRUE(y.ok());
    return tensor_values(*y);
  };
  const std::vector<double> t = run(full), w = run(wide), s = run(*c);
  EXPECT_LT(max_abs_diff(t, w), 1e-12);
  EXPECT_GT(max_abs_diff(t, s), 1e-6);
}


// Truncated BPTT (infini.bptt_segments) changes gradients only: the same logits; a truncation
// longer than the sequence is full BPTT; truncating after every segment changes the gradients.
TEST(Infini, TruncatedBpttChangesGradientsNotLogits) {
  Result<ModelConfig> c = resolve_config("infini-tiny");
  ASSERT_TRUE(c.ok()) << c.message();
  const std::vector<int32_t> ids = random_ids(kB * kT, c->vocab_size, 61);
  const auto run = [&](int64_t bptt, std::vector<double>* grads) {
    ModelConfig cfg = *c;
    cfg.infini_bptt_segments = bptt;
    std::unique_ptr<Model> m = std::move(create_model(cfg, 9, DType::f64).value());
    Graph g;
    Result<Tensor> y = m->forward(g, ids_tensor(g, ids, kB, kT, 0, kT), nullptr);
    EXPECT_TRUE(y.ok());
    g.backward(*y, std::vector<double>(size_t(y->numel()), 1.0).data());
    for (const Parameter& p : m->params().params()) {
      const std::vector<double> v = tensor_values(p.tensor, true);
      grads->insert(grads->end(), v.begin(), v.end());
    }
    return tensor_values(*y);
  };
  std::vector<double> g_full, g_long, g_one;
  const std::vector<double> full = run(0, &g_full), longer = run(3, &g_long), one = run(1, &g_one);
  EXPECT_EQ(full, longer);
  EXPECT_EQ(full, one);
  EXPECT_LT(max_abs_diff(g_full, g_long), 1e-12) << "3 segments of 16 > 40 tokens: nothing truncated";
  EXPECT_GT(max_abs_diff(g_full, g_one), 1e-6);
}

// causal_attention with a persistent prefix (the MAG / MAL helper): streaming with a window equals
// one call, the prefix is seen by every query and gets a gradient, later tokens never leak.
TEST(AttentionMixer, PersistentPrefixWindowStreaming) {
  Result<ModelConfig> c = resolve_config("swa-tiny");
  ASSERT_TRUE(c.ok());
  ParamStore store(DType::f64);
  Rng rng(3);
  const AttentionParams p = add_attention_params(*c, store, rng, "attn.");
  const Tensor P = store.add("persistent", Shape{4, c->d_model});
  init_normal(P, rng, 1.0);
  const int64_t T = 23, W = 5, d = c->d_model;
  std::vector<double> x(size_t(kB * T * d));
  for (double& e : x) e = rng.normal();
  const auto run = [&](Graph& g, const std::vector<double>& xv, const std::vector<int64_t>& pieces, const Tensor* prefix) {
    Tensor all = g.new_tensor(Shape{kB, T, d}, DType::f64, false);
    std::copy(xv.begin(), xv.end(), all.ptr<double>());
    Tensor k, v, out;
    int64_t t0 = 0;
    for (int64_t n : pieces) {
      out = concat_tokens(g, out, causal_attention(g, p, ops::slice(g, all, 1, t0, t0 + n), t0, W, k, v, prefix));
      t0 += n;
      EXPECT_EQ(k.shape[1], std::min<int64_t>(t0, W - 1)) << "the cache keeps window − 1 tokens";
    }
    return out;
  };
  Graph g;
  const Tensor whole = run(g, x, {T}, &P);
  EXPECT_LT(max_abs_diff(tensor_values(whole), tensor_values(run(g, x, {3, 1, 7, 4, 8}, &P))), 1e-12);
  EXPECT_LT(max_abs_diff(tensor_values(whole), tensor_values(run(g, x, std::vector<int64_t>(T, 1), &P))), 1e-12);
  EXPECT_GT(max_abs_diff(tensor_values(whole), tensor_values(run(g, x, {T}, nullptr))), 1e-6);
  std::vector<double> changed = x;
  changed[size_t(10 * d)] += 1.0;  // token 10 of batch 0
  const std::vector<double> a = tensor_values(whole), b = tensor_values(run(g, changed, {T}, &P));
  EXPECT_LT(max_abs_diff(a, b, 0, size_t(10 * d)), 1e-15);
  EXPECT_GT(max_abs_diff(a, b, size_t(10 * d), size_t(15 * d)), 1e-6) << "tokens 10..14 see token 10";
  EXPECT_LT(max_abs_diff(a, b, size_t(15 * d), size_t(T * d)), 1e-15) << "beyond the window";
  store.zero_grad();
  Graph gg;
  const Tensor y = run(gg, x, {T}, &P);
  gg.backward(y, std::vector<double>(size_t(y.numel()), 1.0).data());
  double norm = 0;
  for (double e : tensor_values(P, true)) norm += e * e;
  EXPECT_GT(norm, 0);
}

}  // namespace
}  // namespace titans
