// The Titans neural memory (src/memory/): the chunked, op-composed module against the sequential
// naive reference (spec §4), streaming equivalence (§6), float64 finite-difference gradients (§7)
// and causality.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "autodiff/graph.h"
#include "memory/memory_naive.h"
#include "memory/neural_memory.h"
#include "memory_test_util.h"
#include "ops/ops.h"
#include "tensor/index_iter.h"

namespace titans {
namespace {

NaiveMemoryParams naive_params(const NeuralMemory& m) {
  NaiveMemoryParams p;
  for (auto& [name, t] : m.named_params()) p[name] = values(t);
  return p;
}

double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double e : a) m = std::max(m, std::fabs(e));
  return m;
}

std::vector<double> run(const Module& m, Graph& g, const Tensor& x, MemoryState* st = nullptr) {
  Result<Tensor> out = m.mem->forward(g, x, st);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.message());
  return out.ok() ? values(*out) : std::vector<double>{};
}

// ---- chunked module == sequential reference (chunk 1 = the exact recurrence, Eq. 13–14)

using EqCase = MemoryCase;

class ChunkedEqualsSequential : public ::testing::TestWithParam<EqCase> {};

TEST_P(ChunkedEqualsSequential, F64AndF32) {
  const EqCase p = GetParam();
  NeuralMemoryConfig c = memory_case_config(p);
  const int64_t B = 2, T = 13;  // 13: a partial last chunk
  const std::vector<double> x = random_input(B * T * c.d_model, 11);
  for (DType dt : {DType::f64, DType::f32}) {
    Module m(c, dt);
    Graph g;
    const Tensor xt = make_input(g, x, Shape{B, T, c.d_model}, dt);
    const std::vector<double> got = run(m, g, xt);
    const std::vector<double> want = naive_memory_forward(c, naive_params(*m.mem), values(xt), B, T);
    const double err = max_abs_diff(got, want);
    if (dt == DType::f64) EXPECT_LT(err, 1e-10);
    else EXPECT_LT(err, 1e-5 * std::max(1.0, max_abs(want)));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ChunkedEqualsSequential,
                         ::testing::ValuesIn(memory_case_table()), memory_case_name);

// ---- streaming (spec §6): one call == random pieces with the state carried == token by token

std::vector<double> run_pieces(const Module& m, Graph& g, const std::vector<double>& x, int64_t B,
                               int64_t T, const std::vector<int64_t>& sizes, MemoryState* st) {
  const int64_t D = m.mem->config().d_model;
  const Tensor full = make_input(g, x, Shape{B, T, D}, DType::f64);
  std::vector<std::vector<double>> outs;
  int64_t t0 = 0;
  for (int64_t n : sizes) {
    outs.push_back(run(m, g, ops::slice(g, full, 1, t0, t0 + n), st));
    t0 += n;
  }
  EXPECT_EQ(t0, T);
  std::vector<double> out(static_cast<size_t>(B * T * D));  // reassemble [B, T, D] from the pieces
  t0 = 0;
  for (size_t p = 0; p < sizes.size(); ++p) {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < sizes[p]; ++t)
        for (int64_t i = 0; i < D; ++i)
          out[size_t((b * T + t0 + t) * D + i)] = outs[p][size_t((b * sizes[p] + t) * D + i)];
    t0 += sizes[p];
  }
  return out;
}

TEST(NeuralMemory, StreamingEqualsOneCall) {
  for (int depth : {1, 2}) {
    const NeuralMemoryConfig c = tiny_config(depth, 4);
    Module m(c, DType::f64);
    const int64_t B = 2, T = 23;
    const std::vector<double> x = random_input(B * T * c.d_model, 5);
    Graph g;
    MemoryState one, pieces, tokens;
    const std::vector<double> a = run_pieces(m, g, x, B, T, {T}, &one);
    const std::vector<double> b = run_pieces(m, g, x, B, T, {3, 1, 6, 2, 5, 4, 2}, &pieces);
    const std::vector<double> t = run_pieces(m, g, x, B, T, std::vector<int64_t>(size_t(T), 1), &tokens);
    EXPECT_LT(max_abs_diff(a, b), 1e-10);
    EXPECT_LT(max_abs_diff(a, t), 1e-10);
    EXPECT_LT(max_abs_diff(state_values(one), state_values(pieces)), 1e-10);
    EXPECT_LT(max_abs_diff(state_values(one), state_values(tokens)), 1e-10);
    EXPECT_EQ(one.pos, T);
    EXPECT_EQ(one.pending(), T % c.chunk);
  }
}

// The equality table is not vacuous: freezing the gradient over a chunk changes the outputs.
TEST(NeuralMemory, ChunkingChangesOutputs) {
  const int64_t B = 1, T = 12;
  std::vector<std::vector<double>> outs;
  for (int64_t chunk : {1, 4}) {
    Module m(tiny_config(2, chunk), DType::f64);
    Graph g;
    outs.push_back(run(m, g, make_input(g, random_input(B * T * 8, 4), Shape{B, T, 8}, DType::f64)));
  }
  EXPECT_GT(max_abs_diff(outs[0], outs[1]), 1e-6);
}

// A state copied out of a graph survives that graph's reset(): two graphs used in turn.
TEST(NeuralMemory, StateCarriedAcrossGraphResets) {
  const NeuralMemoryConfig c = tiny_config(2, 4);
  Module m(c, DType::f64);
  const int64_t B = 1, T = 11, D = c.d_model;
  const std::vector<double> x = random_input(B * T * D, 6);
  Graph g0;
  const std::vector<double> want = run(m, g0, make_input(g0, x, Shape{B, T, D}, DType::f64));
  Graph graphs[2];
  MemoryState st;
  std::vector<double> got;
  for (int64_t t = 0; t < T; ++t) {
    Graph& g = graphs[t % 2];
    g.reset();
    st = copy_state(g, st);  // out of the other graph, which is reset next
    const Tensor xt = make_input(g, std::vector<double>(x.begin() + t * D, x.begin() + (t + 1) * D),
                                 Shape{B, 1, D}, DType::f64);
    const std::vector<double> o = run(m, g, xt, &st);
    got.insert(got.end(), o.begin(), o.end());
  }
  EXPECT_LT(max_abs_diff(got, want), 1e-10);
}

// ---- causality: perturbing token j leaves outputs < j unchanged, changes output j

TEST(NeuralMemory, Causal) {
  const NeuralMemoryConfig c = tiny_config(2, 4);
  Module m(c, DType::f64);
  const int64_t B = 1, T = 12, D = c.d_model;
  std::vector<double> x = random_input(B * T * D, 3);
  Graph g;
  const std::vector<double> base = run(m, g, make_input(g, x, Shape{B, T, D}, DType::f64));
  for (int64_t j : {0, 3, 5, 11}) {
    std::vector<double> xp = x;
    xp[size_t(j * D + 2)] += 0.5;
    const std::vector<double> out = run(m, g, make_input(g, xp, Shape{B, T, D}, DType::f64));
    for (int64_t t = 0; t < T; ++t) {
      double d = 0;
      for (int64_t i = 0; i < D; ++i) d = std::max(d, std::fabs(out[size_t(t * D + i)] - base[size_t(t * D + i)]));
      if (t < j) {
        EXPECT_LT(d, 1e-14) << "t " << t << " j " << j;
      } else if (t == j) {
        EXPECT_GT(d, 1e-8) << "t " << t << " j " << j;
      }
    }
  }
}

// ---- read without write (M*, spec §5): reproduces the write path's read-after-write y_T = M_T(q_T)

TEST(NeuralMemory, ReadOnlyMatchesLastWrittenToken) {
  for (int64_t T : {8, 7}) {  // chunk-aligned and not (pending tokens replayed)
    for (int depth : {1, 3}) {
      const NeuralMemoryConfig c = tiny_config(depth, 4);
      Module m(c, DType::f64);
      const int64_t B = 2, D = c.d_model;
      Graph g;
      const Tensor x = make_input(g, random_input(B * T * D, 8), Shape{B, T, D}, DType::f64);
      MemoryState st;
      ASSERT_TRUE(m.mem->forward(g, ops::slice(g, x, 1, 0, T - 1), &st).ok());
      const Tensor tail_q = st.tail_q;
      const std::vector<double> last = run(m, g, ops::slice(g, x, 1, T - 1, T), &st);
      const MemoryState before = st;
      Result<Tensor> r = m.mem->read_only(g, ops::slice(g, x, 1, T - 1, T), &st, &tail_q);
      ASSERT_TRUE(r.ok()) << r.message();
      EXPECT_LT(max_abs_diff(values(*r), last), 1e-12) << "T " << T << " depth " << depth;
      EXPECT_EQ(st.pos, before.pos);
      EXPECT_EQ(st.pending(), before.pending());
      EXPECT_EQ(state_values(st), state_values(before));
    }
  }
}

// ---- spec §8: non-finite values are reported with their place, never silently carried on

TEST(NeuralMemory, NonFiniteInputIsReportedWithPosition) {
  const NeuralMemoryConfig c = tiny_config(2, 4);
  Module m(c, DType::f64);
  const int64_t T = 9;
  std::vector<double> x = random_input(T * c.d_model, 3);
  x[size_t(5 * c.d_model + 1)] = std::nan("");
  Graph g;
  MemoryState st;
  Result<Tensor> first = m.mem->forward(g, make_input(g, x, Shape{1, 3, c.d_model}, DType::f64), &st);
  ASSERT_TRUE(first.ok());
  const Tensor rest = ops::slice(g, make_input(g, x, Shape{1, T, c.d_model}, DType::f64), 1, 3, T);
  Result<Tensor> out = m.mem->forward(g, rest, &st);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.message().find("non-finite query: batch 0, head 0, position 5"), std::string::npos)
      << out.message();
  EXPECT_EQ(st.pos, 3);  // the state is left as it was
}

TEST(NeuralMemory, DivergenceIsReportedWithLayer) {
  NeuralMemoryConfig c = tiny_config(4, 2);
  c.theta_max = 1e6;
  c.theta_init = 0.9;
  Module m(c, DType::f64);
  const int64_t T = 64;
  Graph g;
  Result<Tensor> out = m.mem->forward(g, make_input(g, random_input(T * 8, 3), Shape{1, T, 8}, DType::f64), nullptr);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.message().find("layer"), std::string::npos) << out.message();
}

// ---- float64 finite differences of L = Σ w ⊙ out w.r.t. x and every parameter (spec §7)

// with_read: the loss also sees read_only (M*) of 3 tokens with the final state (pending replay).
void check_gradients(const NeuralMemoryConfig& c, const std::vector<int64_t>& pieces, bool with_read) {
  Module m(c, DType::f64, 21);
  const int64_t B = 2, T = 10, D = c.d_model, R = with_read ? 3 : 0;
  std::vector<double> x = random_input(B * T * D, 9), w = random_input(B * (T + R) * D, 10);
  const auto loss = [&](Graph& g, const Tensor& xt, bool backward) {
    MemoryState st;
    std::vector<Tensor> outs;
    int64_t t0 = 0;
    for (int64_t n : pieces) {
      Result<Tensor> o = m.mem->forward(g, ops::slice(g, xt, 1, t0, t0 + n), &st);
      EXPECT_TRUE(o.ok());
      outs.push_back(*o);
      t0 += n;
    }
    if (with_read) {
      Result<Tensor> r = m.mem->read_only(g, ops::slice(g, xt, 1, 0, R), &st);
      EXPECT_TRUE(r.ok());
      outs.push_back(*r);
    }
    // One tensor, one backward: a second backward over the same tape would count the shared
    // earlier pieces twice.
    Tensor out = outs[0];
    for (size_t i = 1; i < outs.size(); ++i) out = ops::concat(g, {out, outs[i]}, 1);
    return weighted_sum(g, out, w, backward);
  };
  Graph g;
  m.store->zero_grad();
  const Tensor xt = make_input(g, x, Shape{B, T, D}, DType::f64, true);
  loss(g, xt, true);
  const std::vector<double> gx = values(xt, true);

  const double h = 1e-5;
  const auto fd = [&](double* p) {
    return central_difference(p, h, [&](Graph& fg) { return loss(fg, make_input(fg, x, Shape{B, T, D}, DType::f64), false); });
  };
  const auto compare = [&](const std::string& name, const std::vector<double>& analytic, double* data) {
    std::vector<double> numeric(analytic.size());
    for (size_t i = 0; i < analytic.size(); ++i) numeric[i] = fd(data + i);
    const double err = max_abs_diff(analytic, numeric) / std::max(1.0, max_abs(numeric));
    EXPECT_LT(err, 1e-6) << name;
  };
  compare("x", gx, x.data());
  for (auto& [name, t] : m.mem->named_params()) compare(name, values(t, true), t.ptr<double>());
}

TEST(NeuralMemory, GradientMatchesFiniteDifferencesDepth2) {
  check_gradients(tiny_config(2, 4), {10}, false);
}

TEST(NeuralMemory, GradientMatchesFiniteDifferencesPiecesAndReadResidualDepth1) {
  NeuralMemoryConfig c = tiny_config(1, 4);
  c.residual = true;
  c.activation = MemoryActivation::silu;
  check_gradients(c, {3, 6, 1}, true);
}

// ---- the PyTorch oracle (reference/neural_memory.py sequential_memory) through committed golden data
// written by reference/make_memory_golden.py: outputs and every gradient, float64.

class MemoryGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(MemoryGolden, OutputsAndGradientsMatchPyTorch) {
  const std::string path = std::string(TITANS_TEST_DATA_DIR) + "/memory_golden_" + GetParam() + ".json";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  const nlohmann::json doc = nlohmann::json::parse(in);
  const nlohmann::json& jc = doc["config"];
  NeuralMemoryConfig c;
  c.d_model = jc["d_model"], c.n_heads = jc["n_heads"], c.head_dim = jc["head_dim"];
  c.depth = jc["depth"], c.expansion = jc["expansion"], c.residual = jc["residual"];
  c.activation = jc["activation"] == "silu" ? MemoryActivation::silu : MemoryActivation::gelu;
  c.conv_kernel = jc["conv_kernel"], c.chunk = jc["chunk"], c.theta_max = jc["theta_max"];
  c.momentum = jc["momentum"], c.decay = jc["decay"], c.l2_eps = jc["l2_eps"], c.rms_eps = jc["rms_eps"];
  Module m(c, DType::f64);
  for (auto& [name, t] : m.mem->named_params()) {
    const nlohmann::json& jp = doc["params"][name];
    ASSERT_EQ(jp["shape"].size(), size_t(t.ndim())) << name;
    for (int i = 0; i < t.ndim(); ++i) ASSERT_EQ(int64_t(jp["shape"][size_t(i)]), t.shape[i]) << name;
    const std::vector<double> v = jp["data"];
    std::copy(v.begin(), v.end(), t.ptr<double>());
  }
  const int64_t B = doc["B"], T = doc["T"];
  const std::vector<double> x = doc["x"], w = doc["w"];
  Graph g;
  m.store->zero_grad();
  const Tensor xt = make_input(g, x, Shape{B, T, c.d_model}, DType::f64, true);
  Result<Tensor> out = m.mem->forward(g, xt, nullptr);
  ASSERT_TRUE(out.ok());
  g.backward(*out, w.data());
  const auto rel = [](const std::vector<double>& a, const std::vector<double>& b) {
    return max_abs_diff(a, b) / std::max(1.0, max_abs(b));
  };
  EXPECT_LT(rel(values(*out), doc["out"].get<std::vector<double>>()), 1e-8);
  EXPECT_LT(rel(values(xt, true), doc["grad_x"].get<std::vector<double>>()), 1e-8);
  for (auto& [name, t] : m.mem->named_params())
    EXPECT_LT(rel(values(t, true), doc["grads"][name].get<std::vector<double>>()), 1e-8) << name;
}

INSTANTIATE_TEST_SUITE_P(Configs, MemoryGolden,
                         ::testing::Values("depth2_gelu", "depth1_residual_silu", "depth3_nomomentum"));

}  // namespace
}  // namespace titans
