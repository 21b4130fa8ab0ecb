// The Titans architectures' layers (src/models/arch_titans.cpp and its mixers), tested as blocks of
// their sublayers (x ← x + Mixer(RMSNorm(x))) on a tiny float64 config: streaming equivalence (one
// call = random pieces = token by token, outputs and state), causality (perturbation; MAC inside a
// segment and across its boundaries), float64 finite-difference gradients, and MAC's mask (query i
// never sees h_j for j > i, architectures.md §4).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "autodiff/graph.h"
#include "memory_test_util.h"
#include "model_test_util.h"
#include "models/architectures.h"
#include "models/mac_mixer.h"
#include "models/model_config.h"
#include "ops/attention_composed.h"
#include "ops/ops.h"

namespace titans {
namespace {

struct ArchCase {
  const char* arch;
  GateKind gate;
  BuildLayerFn build;
};

std::string case_name(const ::testing::TestParamInfo<ArchCase>& i) {
  return std::string(i.param.arch) + (i.param.gate == GateKind::sum ? "_sum" : "");
}

// Segment 4, window 3, chunk 3 and N_p 2: segment, window and chunk boundaries (the memory's counting
// P where P is written) all fall at different tokens of an 11-token sequence.
ModelConfig tiny(const ArchCase& c) {
  ModelConfig m;
  m.arch = c.arch;
  m.d_model = 8;
  m.n_heads = 2;
  m.head_dim = 4;
  m.window = 3;
  m.segment = 4;
  m.n_persistent = 2;
  m.gate = c.gate;
  m.memory.depth = 2;
  m.memory.chunk = 3;
  m.memory.theta_max = 0.3;  // small gates: tiny random memories diverge with θ ≈ 0.1 (memory_test_util.h)
  return m;
}

struct Layer {
  ModelConfig cfg;
  std::unique_ptr<ParamStore> store;
  std::vector<Sublayer> subs;
  Layer(const ArchCase& c, uint64_t seed = 11) : cfg(tiny(c)), store(std::make_unique<ParamStore>(DType::f64)) {
    Rng rng(seed);
    const Status s = c.build(cfg, 0, *store, rng, subs);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  // The block's mixer sublayers over x [B, T, d] at global position pos0 (the FFN is the framework's).
  Tensor run(Graph& g, const Tensor& x, int64_t pos0, LayerState& st) const {
    Tensor h = x;
    for (const Sublayer& s : subs) {
      Result<Tensor> o = s.mixer->forward(g, ops::rmsnorm(g, h, s.norm, cfg.norm_eps), pos0, st);
      EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.message());
      if (!o.ok()) return h;
      h = ops::add(g, h, *o);
    }
    return h;
  }
  // The whole of x fed in pieces of the given sizes with the state carried; outputs concatenated.
  Tensor run_pieces(Graph& g, const Tensor& x, const std::vector<int64_t>& sizes, LayerState& st) const {
    Tensor out;
    int64_t t0 = 0;
    for (int64_t n : sizes) {
      const Tensor o = run(g, ops::slice(g, x, 1, t0, t0 + n), t0, st);
      out = t0 == 0 ? o : ops::concat(g, {out, o}, 1);
      t0 += n;
    }
    EXPECT_EQ(t0, x.shape[1]);
    return out;
  }
};

// Every value of the layer state a Titans mixer carries.
std::vector<double> layer_state_values(const LayerState& st) {
  std::vector<double> v;
  for (const MemoryState* m : {&st.memory, &st.memory_segment_start}) {
    const std::vector<double> e = state_values(*m);
    v.insert(v.end(), e.begin(), e.end());
  }
  for (const Tensor* t : {&st.k, &st.v, &st.k_mem, &st.v_mem, &st.q_tail})
    if (t->ndim() > 0) {
      const std::vector<double> e = values(*t);
      v.insert(v.end(), e.begin(), e.end());
    }
  return v;
}

const ArchCase kCases[] = {
    {"titans_lmm", GateKind::sigmoid, build_titans_lmm_layer},
    {"titans_mal", GateKind::sigmoid, build_titans_mal_layer},
    {"titans_mag", GateKind::sigmoid, build_titans_mag_layer},
    {"titans_mag", GateKind::sum, build_titans_mag_layer},
    {"titans_mac", GateKind::sigmoid, build_titans_mac_layer},
    {"titans_mac", GateKind::sum, build_titans_mac_layer},
};

class TitansLayer : public ::testing::TestWithParam<ArchCase> {};

constexpr int64_t kB = 2, kT = 11, kD = 8;

// ---- streaming (architectures.md §10): one call = pieces = token by token, outputs and state;
// with recording (the composed memory) and without (the fused inference kernel)

TEST_P(TitansLayer, StreamingEqualsOneCall) {
  const Layer layer(GetParam());
  const std::vector<double> x = random_input(kB * kT * kD, 5);
  for (bool record : {true, false}) {
    Graph g;
    NoGradScope scope(g);
    g.set_grad_enabled(record);
    const Tensor xt = make_input(g, x, Shape{kB, kT, kD}, DType::f64);
    LayerState one, pieces, odd, tokens;
    const std::vector<double> a = values(layer.run_pieces(g, xt, {kT}, one));
    const std::vector<double> b = values(layer.run_pieces(g, xt, {3, 1, 5, 2}, pieces));
    const std::vector<double> c = values(layer.run_pieces(g, xt, {6, 5}, odd));
    const std::vector<double> t = values(layer.run_pieces(g, xt, std::vector<int64_t>(size_t(kT), 1), tokens));
    EXPECT_LT(max_abs_diff(a, b), 1e-10) << "record " << record;
    EXPECT_LT(max_abs_diff(a, c), 1e-10) << "record " << record;
    EXPECT_LT(max_abs_diff(a, t), 1e-10) << "record " << record;
    // P is written once, at the sequence start, into the memory's stream (MODELS.md item 4) — MAC's
    // memory never sees it (item 8).
    const int64_t written = kT + (std::string(GetParam().arch) == "titans_mac" ? 0 : layer.cfg.n_persistent);
    for (const LayerState* st : {&one, &pieces, &odd, &tokens}) EXPECT_EQ(st->memory.pos, written);
    const std::vector<double> s = layer_state_values(one);
    EXPECT_FALSE(s.empty());
    EXPECT_LT(max_abs_diff(s, layer_state_values(pieces)), 1e-10) << "record " << record;
    EXPECT_LT(max_abs_diff(s, layer_state_values(odd)), 1e-10) << "record " << record;
    EXPECT_LT(max_abs_diff(s, layer_state_values(tokens)), 1e-10) << "record " << record;
  }
}

// ---- causality: perturbing token j leaves every output before j unchanged and changes output j
// (MAC: j at, just after and just before segment boundaries)

TEST_P(TitansLayer, Causal) {
  const Layer layer(GetParam());
  const std::vector<double> x = random_input(kB * kT * kD, 3);
  Graph g;
  NoGradScope ng(g);
  LayerState s0;
  const std::vector<double> base = values(layer.run(g, make_input(g, x, Shape{kB, kT, kD}, DType::f64), 0, s0));
  for (int64_t j : {0, 2, 3, 4, 5, 8, 10}) {
    std::vector<double> xp = x;
    for (int64_t b = 0; b < kB; ++b) xp[size_t((b * kT + j) * kD + 1)] += 0.5;
    LayerState st;
    const std::vector<double> out = values(layer.run(g, make_input(g, xp, Shape{kB, kT, kD}, DType::f64), 0, st));
    for (int64_t b = 0; b < kB; ++b)
      for (int64_t t = 0; t <= j; ++t) {
        double d = 0;
        for (int64_t i = 0; i < kD; ++i) {
          const size_t at = size_t((b * kT + t) * kD + i);
          d = std::max(d, std::fabs(out[at] - base[at]));
        }
        if (t < j) {
          EXPECT_LT(d, 1e-13) << "b " << b << " t " << t << " j " << j;
        } else {
          EXPECT_GT(d, 1e-8) << "b " << b << " t " << t << " j " << j;
        }
      }
  }
}

// ---- float64 central differences of L = Σ w ⊙ out, the input fed in two pieces (the state carried
// with its gradient): w.r.t. x and sampled elements of every parameter

TEST_P(TitansLayer, GradientMatchesFiniteDifferences) {
  const Layer layer(GetParam(), 21);
  std::vector<double> x = random_input(kB * kT * kD, 9);
  const std::vector<double> w = random_input(kB * kT * kD, 10);
  const auto loss = [&](Graph& g, const Tensor& xt, bool backward) {
    LayerState st;
    return weighted_sum(g, layer.run_pieces(g, xt, {6, 5}, st), w, backward);
  };
  Graph g;
  layer.store->zero_grad();
  const Tensor xt = make_input(g, x, Shape{kB, kT, kD}, DType::f64, true);
  loss(g, xt, true);
  const std::vector<double> gx = values(xt, true);

  const double h = 1e-5;
  const auto numeric = [&](double* p) {
    return central_difference(p, h, [&](Graph& fg) { return loss(fg, make_input(fg, x, Shape{kB, kT, kD}, DType::f64), false); });
  };
  const auto check = [&](const std::string& name, const double* analytic, double* data, int64_t n, int64_t stride) {
    for (int64_t i = 0; i < n; i += stride) {
      const double num = numeric(data + i);
      EXPECT_NEAR(analytic[i], num, 1e-6 * std::max(1.0, std::fabs(num))) << name << "[" << i << "]";
    }
  };
  check("x", gx.data(), x.data(), int64_t(x.size()), 7);
  int64_t n_params = 0;
  for (const Parameter& p : layer.store->params()) {
    // Up to 5 elements per tensor, spread over it (every one of a small tensor).
    const int64_t n = p.tensor.numel();
    check(p.name, p.tensor.gptr<double>(), p.tensor.ptr<double>(), n, std::max<int64_t>(1, n / 5));
    ++n_params;
  }
  EXPECT_GT(n_params, 10);
}

// Every gradient is non-trivial: each parameter of the layer receives one (catches a parameter that
// is created but not used, e.g. P never written or the gate's norm skipped).
TEST_P(TitansLayer, EveryParameterGetsAGradient) {
  const Layer layer(GetParam(), 4);
  Graph g;
  layer.store->zero_grad();
  LayerState st;
  const Tensor out = layer.run_pieces(g, make_input(g, random_input(kB * kT * kD, 2), Shape{kB, kT, kD}, DType::f64),
                                      {4, 7}, st);
  const std::vector<double> seed = random_input(kB * kT * kD, 6);
  g.backward(out, seed.data());
  for (const Parameter& p : layer.store->params()) {
    double m = 0;
    for (double e : values(p.tensor, true)) m = std::max(m, std::fabs(e));
    EXPECT_GT(m, 0.0) << p.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, TitansLayer, ::testing::ValuesIn(kCases), case_name);

// ---- parameter names (docs/MODELS.md, the brief's table)

std::vector<std::string> param_names(const ArchCase& c) {
  const Layer layer(c);
  std::vector<std::string> v;
  for (const Parameter& p : layer.store->params()) v.push_back(p.name);
  return v;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Shapes with d = 8, H·d_h = 8, N_p = 2 (the tiny config above).
TEST(TitansLayer, ParameterShapes) {
  const Layer layer(kCases[4]);
  for (const Parameter& p : layer.store->params()) {
    Shape want;
    if (p.name == "layers.0.persistent") want = Shape{2, 8};
    else if (p.name.find(".attn.w_") != std::string::npos || p.name == "layers.0.gate.w_o") want = Shape{8, 8};
    else if (p.name == "layers.0.norm_mix" || p.name.find(".gate.norm_") != std::string::npos) want = Shape{8};
    else continue;  // the memory's: NeuralMemory's own tests
    EXPECT_EQ(p.tensor.shape, want) << p.name;
  }
}

TEST(TitansLayer, ParameterNames) {
  const std::vector<std::string> lmm = param_names(kCases[0]), mal = param_names(kCases[1]),
                                 mag = param_names(kCases[2]), mac = param_names(kCases[4]);
  for (const auto* v : {&lmm, &mal, &mag, &mac}) {
    EXPECT_TRUE(has(*v, "layers.0.persistent"));
    EXPECT_TRUE(has(*v, "layers.0.memory.w_q"));
    EXPECT_TRUE(has(*v, "layers.0.memory.mem_w0.2"));
    EXPECT_TRUE(has(*v, "layers.0.memory.w_out"));
  }
  EXPECT_TRUE(has(lmm, "layers.0.norm_mix"));
  EXPECT_FALSE(has(lmm, "layers.0.attn.w_q"));
  EXPECT_TRUE(has(mal, "layers.0.norm_mem"));
  EXPECT_TRUE(has(mal, "layers.0.norm_mix"));
  EXPECT_TRUE(has(mal, "layers.0.attn.w_o"));
  EXPECT_FALSE(has(mal, "layers.0.gate.w_o"));
  for (const auto* v : {&mag, &mac})
    for (const char* n : {"layers.0.norm_mix", "layers.0.attn.w_q", "layers.0.attn.w_k", "layers.0.attn.w_v",
                          "layers.0.attn.w_o", "layers.0.gate.norm_y", "layers.0.gate.norm_m", "layers.0.gate.w_o"})
      EXPECT_TRUE(has(*v, n)) << n;
}


// ---- MAC's mask (architectures.md §4): h_j is computed from token j, so query i seeing h_j for
// j > i would leak the future. Checked on the mask itself (the rule ops::attention implements) and
// end to end (the gradient of output i w.r.t. a later token is exactly zero).

// The first visibility error of `m` for a piece of `len` queries, `seen` segment tokens before it,
// keys [P (n_p) | h (seen+len) | n (seen+len)]; empty when the mask is right.
std::string mac_mask_error(const ops::AttentionMask& m, int64_t n_p, int64_t seen, int64_t len) {
  const int64_t c = seen + len, tk = n_p + 2 * c;
  for (int64_t i = 0; i < len; ++i)
    for (int64_t j = 0; j < tk; ++j) {
      const bool want = j < n_p || (j - n_p) % c <= seen + i;
      if (ops::attention_visible(m, i, j, tk) != want)
        return "query " + std::to_string(i) + " key " + std::to_string(j) + (want ? " hidden" : " visible");
    }
  return "";
}

TEST(MacMask, QueryISeesPAndHjNjForJAtMostI) {
  for (int64_t n_p : {0, 2})
    for (int64_t seen : {0, 1, 3})
      for (int64_t len : {1, 4}) {
        EXPECT_EQ(mac_mask_error(mac_attention_mask(n_p, seen), n_p, seen, len), "")
            << "n_p " << n_p << " seen " << seen << " len " << len;
        if (len == 1) continue;  // a single query sees all the keys there are: no wrong mask to catch
        // The check is not vacuous: h as a second prefix (every h_j visible) or one causal block
        // over [h | n] (the n half shifted by the segment length) is caught.
        ops::AttentionMask leak = mac_attention_mask(n_p, seen);
        leak.n_prefix = n_p + seen + len;
        leak.n_blocks = 1;
        EXPECT_NE(mac_mask_error(leak, n_p, seen, len), "");
        ops::AttentionMask one_block = mac_attention_mask(n_p, seen);
        one_block.n_blocks = 1;
        EXPECT_NE(mac_mask_error(one_block, n_p, seen, len), "");
      }
}

// d out_i / d x_j == 0 exactly for j > i (every later token of the segment, whose h_j is among the
// keys) and ≠ 0 for j = i; over two segments, in one call and in pieces that start mid-segment.
TEST(MacMask, OutputIHasNoGradientFromLaterTokens) {
  const Layer layer(kCases[4], 8);
  const int64_t T = 8;  // two segments of 4
  const std::vector<double> x = random_input(kB * T * kD, 12);
  for (const std::vector<int64_t>& pieces : {std::vector<int64_t>{T}, std::vector<int64_t>{3, 5}}) {
    for (int64_t i = 0; i < T; ++i) {
      Graph g;
      const Tensor xt = make_input(g, x, Shape{kB, T, kD}, DType::f64, true);
      LayerState st;
      const Tensor out = layer.run_pieces(g, xt, pieces, st);
      std::vector<double> seed(size_t(kB * T * kD), 0.0);
      const std::vector<double> w = random_input(kB * kD, uint64_t(100 + i));
      for (int64_t b = 0; b < kB; ++b)
        for (int64_t e = 0; e < kD; ++e) seed[size_t((b * T + i) * kD + e)] = w[size_t(b * kD + e)];
      g.backward(out, seed.data());
      const std::vector<double> gx = values(xt, true);
      for (int64_t b = 0; b < kB; ++b)
        for (int64_t j = 0; j < T; ++j) {
          double m = 0;
          for (int64_t e = 0; e < kD; ++e) m = std::max(m, std::fabs(gx[size_t((b * T + j) * kD + e)]));
          if (j > i) {
            EXPECT_EQ(m, 0.0) << "output " << i << " token " << j << " pieces " << pieces.size();
          } else if (j == i) {
            EXPECT_GT(m, 1e-8) << "output " << i << " pieces " << pieces.size();
          }
        }
    }
  }
}

// Across a segment boundary the first token of segment s depends on every token of segment s−1
// (through M_{s−1}: the retrieval h, and the memory the output reads).
TEST(MacMask, NextSegmentSeesThePreviousThroughTheMemory) {
  const Layer layer(kCases[4], 8);
  const int64_t T = 5;
  Graph g;
  const Tensor xt = make_input(g, random_input(kB * T * kD, 13), Shape{kB, T, kD}, DType::f64, true);
  LayerState st;
  const Tensor out = layer.run(g, xt, 0, st);
  std::vector<double> seed(size_t(kB * T * kD), 0.0);
  for (int64_t b = 0; b < kB; ++b) seed[size_t((b * T + 4) * kD)] = 1.0;  // output 4 (segment 1)
  g.backward(out, seed.data());
  const std::vector<double> gx = values(xt, true);
  for (int64_t j = 0; j < 4; ++j) {
    double m = 0;
    for (int64_t e = 0; e < kD; ++e) m = std::max(m, std::fabs(gx[size_t(j * kD + e)]));
    EXPECT_GT(m, 1e-10) << "token " << j;
  }
}

// ---- whole models (create_model, the tiny presets): float32 follows float64 (the same parameters,
// rounded), streaming with the fused inference memory in float32 included. The framework's table
// (model_test.cpp) covers gradients, causality and streaming of every architecture in float64.

class TitansModel : public ::testing::TestWithParam<const char*> {};

TEST_P(TitansModel, Float32FollowsFloat64) {
  Result<ModelConfig> cfg = resolve_config(std::string(GetParam()) + "-tiny");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  const int64_t B = 2, T = 40, V = cfg->vocab_size;
  const std::vector<int32_t> ids = random_ids(B * T, V, 3);
  std::vector<std::vector<double>> logits;
  for (DType dt : {DType::f64, DType::f32})
    for (const std::vector<int64_t>& pieces : {std::vector<int64_t>{T}, std::vector<int64_t>{7, 20, 13}}) {
      Result<std::unique_ptr<Model>> m = create_model(*cfg, 9, dt);
      ASSERT_TRUE(m.ok()) << m.message();
      Graph g;
      NoGradScope ng(g);
      ModelState st;
      std::vector<double> all(size_t(B * T * V));
      int64_t t0 = 0;
      for (int64_t n : pieces) {
        Result<Tensor> y = (*m)->forward(g, ids_tensor(g, ids, B, T, t0, t0 + n), &st);
        ASSERT_TRUE(y.ok()) << y.message();
        const std::vector<double> v = tensor_values(*y);
        for (int64_t b = 0; b < B; ++b) std::copy_n(v.begin() + b * n * V, n * V, all.begin() + (b * T + t0) * V);
        t0 += n;
      }
      for (double e : all) ASSERT_TRUE(std::isfinite(e));
      logits.push_back(all);
    }
  double scale = 0;
  for (double e : logits[0]) scale = std::max(scale, std::fabs(e));
  EXPECT_LT(max_abs_diff(logits[0], logits[1]), 1e-10);           // f64: pieces = one call
  EXPECT_LT(max_abs_diff(logits[0], logits[2]), 1e-4 * scale);    // f32 one call
  EXPECT_LT(max_abs_diff(logits[2], logits[3]), 1e-4 * scale);    // f32 pieces
}

INSTANTIATE_TEST_SUITE_P(TinyPresets, TitansModel,
                         ::testing::Values("titans_lmm", "titans_mal", "titans_mag", "titans_mac"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace titans
