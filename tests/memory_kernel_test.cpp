// The fused memory loop (src/memory/memory_kernel.h, memory_fused_op.h): in inference and in
// training (its hand-written backward) equal to the composed path — outputs, state and every
// gradient (spec §4–§7) —, streaming through it, non-finite reporting (§8), and no heap
// allocation per call after warm-up (malloc interposed in this executable, as alloc_test).
#include "memory/memory_kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "alloc_hook.h"
#include "autodiff/graph.h"
#include "memory/neural_memory.h"
#include "memory_test_util.h"
#include "ops/ops.h"
#include "tensor/gemm.h"

namespace titans {
namespace {

Tensor make_input(Graph& g, int64_t B, int64_t T, int64_t D, DType dt, uint64_t seed) {
  Rng rng(seed);
  Tensor t = g.new_tensor(Shape{B, T, D}, dt, false);
  dispatch_float(dt, [&](auto zero) {
    for (int64_t i = 0; i < t.numel(); ++i)
      t.ptr<decltype(zero)>()[i] = decltype(zero)(rng.normal());
  });
  return t;
}

// Relative max difference: max |a − b| / max(1, max |b|).
double rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0, s = 1;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  for (double e : b) s = std::max(s, std::fabs(e));
  return m / s;
}

enum class Path { composed, fused, alternate };  // alternate: fused for odd pieces

// The composed path only: the reference of the fused one.
NeuralMemoryConfig composed_only(NeuralMemoryConfig c) {
  c.fused_inference = c.fused_training = false;
  return c;
}

// Feeds x in pieces with the state carried; returns the outputs concatenated along time. The
// composed pieces record for autodiff (the module's parameters have gradients), the fused ones run
// without a gradient.
std::vector<double> run_pieces(const Module& m, Graph& g, const Tensor& x,
                               const std::vector<int64_t>& sizes, MemoryState* st, Path path) {
  std::vector<Tensor> outs;
  int64_t t0 = 0;
  for (int64_t n : sizes) {
    const bool fused = path == Path::fused || (path == Path::alternate && outs.size() % 2 == 1);
    Result<Tensor> o = [&] {
      if (!fused) return m.mem->forward(g, ops::slice(g, x, 1, t0, t0 + n), st);
      NoGradScope ng(g);
      const size_t tape = g.tape().size();
      Result<Tensor> r = m.mem->forward(g, ops::slice(g, x, 1, t0, t0 + n), st);
      EXPECT_EQ(g.tape().size(), tape);
      return r;
    }();
    EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.message());
    if (!o.ok()) return {};
    outs.push_back(*o);
    t0 += n;
  }
  NoGradScope ng(g);
  Tensor out = outs[0];
  for (size_t i = 1; i < outs.size(); ++i) out = ops::concat(g, {out, outs[i]}, 1);
  return values(out);
}

// ---- fused == composed (autodiff path), outputs and final state, over the memory_test table

using Case = MemoryCase;

class FusedEqualsComposed : public ::testing::TestWithParam<Case> {};

TEST_P(FusedEqualsComposed, F64AndF32) {
  const Case p = GetParam();
  NeuralMemoryConfig c = memory_case_config(p);
  const int64_t B = 2, T = 13;  // partial last chunks; the second piece starts with pending tokens
  c.fused_training = false;  // the recorded pieces run the composed path
  for (DType dt : {DType::f64, DType::f32}) {
    Module m(c, dt);
    Graph g;
    const Tensor x = make_input(g, B, T, c.d_model, dt, 11);
    for (const std::vector<int64_t>& pieces :
         {std::vector<int64_t>{T}, std::vector<int64_t>{5, 8}}) {
      MemoryState sc, sf;
      const std::vector<double> want = run_pieces(m, g, x, pieces, &sc, Path::composed);
      const std::vector<double> got = run_pieces(m, g, x, pieces, &sf, Path::fused);
      const double tol = dt == DType::f64 ? 1e-10 : 1e-5;
      EXPECT_LT(rel_diff(got, want), tol) << "outputs, pieces " << pieces.size();
      EXPECT_LT(rel_diff(state_values(sf), state_values(sc)), tol)
          << "state, pieces " << pieces.size();
      EXPECT_EQ(sf.pos, sc.pos);
      EXPECT_EQ(sf.pending(), sc.pending());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, FusedEqualsComposed,
    ::testing::ValuesIn(memory_case_table({{4, 16, true, true, true, MemoryActivation::silu}})),
    memory_case_name);

// ---- streaming through the fused path (spec §6): one call == random pieces == token by token

TEST(FusedMemory, StreamingEqualsOneCall) {
  for (int depth : {1, 2, 3}) {
    NeuralMemoryConfig c = tiny_config(depth, 4);
    c.fused_training = false;  // Path::alternate's recorded pieces: composed
    Module m(c, DType::f64);
    const int64_t B = 2, T = 23;
    Graph g;
    const Tensor x = make_input(g, B, T, c.d_model, DType::f64, 5);
    MemoryState one, pieces, tokens, mixed;
    const std::vector<double> a = run_pieces(m, g, x, {T}, &one, Path::fused);
    const std::vector<double> b = run_pieces(m, g, x, {3, 1, 6, 2, 5, 4, 2}, &pieces, Path::fused);
    const std::vector<double> t =
        run_pieces(m, g, x, std::vector<int64_t>(size_t(T), 1), &tokens, Path::fused);
    // A state handed between the two paths (composed, fused, composed, ...).
    const std::vector<double> mx = run_pieces(m, g, x, {5, 3, 7, 8}, &mixed, Path::alternate);
    EXPECT_LT(rel_diff(mx, a), 1e-10);
    EXPECT_LT(rel_diff(state_values(mixed), state_values(one)), 1e-10);
    EXPECT_LT(rel_diff(b, a), 1e-10);
    EXPECT_LT(rel_diff(t, a), 1e-10);
    EXPECT_LT(rel_diff(state_values(pieces), state_values(one)), 1e-10);
    EXPECT_LT(rel_diff(state_values(tokens), state_values(one)), 1e-10);
    EXPECT_EQ(one.pos, T);
    EXPECT_EQ(one.pending(), T % c.chunk);
  }
}

// ---- spec §8 through the fused path: the same report as the composed path

enum class Mode { composed, training, inference };  // training: the fused op, recorded

// The error message of one forward of random x [B, T, d_model] through `mode` (tweak edits the
// parameters first); *pos: the state's position after the failed call.
std::string forward_error(NeuralMemoryConfig c, Mode mode, int64_t B, int64_t T, uint64_t seed,
                          const std::function<void(Module&)>& tweak, int64_t* pos = nullptr) {
  if (mode == Mode::composed) c = composed_only(c);
  Module m(c, DType::f64);
  if (tweak) tweak(m);
  Graph g;
  const Tensor x = make_input(g, B, T, c.d_model, DType::f64, seed);
  NoGradScope ng(g);
  g.set_grad_enabled(mode != Mode::inference);
  const size_t tape = g.tape().size();
  MemoryState st;
  Result<Tensor> out = m.mem->forward(g, x, &st);
  EXPECT_FALSE(out.ok());
  if (mode == Mode::inference) {
    EXPECT_EQ(g.tape().size(), tape);
  }
  if (pos) *pos = st.pos;
  return out.ok() ? "" : out.message();
}

TEST(FusedMemory, DivergenceReportedAsComposed) {
  NeuralMemoryConfig c = tiny_config(4, 2);
  c.theta_max = 1e6;
  c.theta_init = 0.9;
  const std::string composed = forward_error(c, Mode::composed, 2, 64, 3, nullptr);
  EXPECT_NE(composed.find("layer"), std::string::npos) << composed;
  for (Mode mode : {Mode::training, Mode::inference})
    EXPECT_EQ(forward_error(c, mode, 2, 64, 3, nullptr), composed);
}

TEST(FusedMemory, NonFiniteWeightReportedWithPlace) {
  const NeuralMemoryConfig c = tiny_config(2, 4);
  const auto poison = [](Module& m) {  // head 1 of layer 2
    m.mem->params().mem_w0[1].ptr<double>()[4 * 8 + 3] = std::nan("");
  };
  const std::string composed = forward_error(c, Mode::composed, 1, 6, 4, poison);
  // δ of layer 1 comes through W^2: the first bad read is layer 1's, at the chunk's first token.
  EXPECT_NE(composed.find("non-finite memory read: layer 1, batch 0, head 1, position 0"),
            std::string::npos)
      << composed;
  for (Mode mode : {Mode::training, Mode::inference}) {
    int64_t pos = -1;
    EXPECT_EQ(forward_error(c, mode, 1, 6, 4, poison, &pos), composed);
    EXPECT_EQ(pos, 0);  // the state is left as it was
  }
}

// ---- training: the fused op's backward == the composed path's autodiff, every gradient

// Named parts of one training run: outputs, final state, and the gradients of Σ w ⊙ out to x and
// every parameter. The pieces carry the state (and its gradient) across calls.
std::vector<std::pair<std::string, std::vector<double>>> training_run(
    NeuralMemoryConfig c, DType dt, bool fused, int64_t B, int64_t T,
    const std::vector<int64_t>& pieces) {
  c.fused_training = fused;
  Module m(c, dt);
  m.store->zero_grad();
  Graph g;
  const Tensor x0 = make_input(g, B, T, c.d_model, dt, 11), w = make_input(g, B, T, c.d_model, dt, 12);
  const Tensor x = g.new_tensor(x0.shape, dt, true);
  std::memcpy(x.data, x0.data, size_t(x.numel()) * dtype_size(dt));
  MemoryState st;
  std::vector<Tensor> outs;
  int64_t t0 = 0;
  const size_t tape = g.tape().size();
  for (int64_t n : pieces) {
    Result<Tensor> o = m.mem->forward(g, ops::slice(g, x, 1, t0, t0 + n), &st);
    EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.message());
    if (!o.ok()) return {};
    outs.push_back(*o);
    t0 += n;
  }
  Tensor out = outs[0];
  for (size_t i = 1; i < outs.size(); ++i) out = ops::concat(g, {out, outs[i]}, 1);
  g.backward(out, w.data);
  std::vector<std::pair<std::string, std::vector<double>>> v = {
      {"out", values(out)}, {"state", state_values(st)}, {"grad x", values(x, true)}};
  for (auto& [name, t] : m.mem->named_params()) v.push_back({"grad " + name, values(t, true)});
  v.push_back({"tape records", {double(g.tape().size() - tape)}});
  return v;
}

class FusedTrainingEqualsComposed : public ::testing::TestWithParam<Case> {};

TEST_P(FusedTrainingEqualsComposed, F64AndF32) {
  const Case p = GetParam();
  NeuralMemoryConfig c = memory_case_config(p);
  const int64_t B = 2, T = 13;  // partial last chunks; the later pieces start with pending tokens
  for (DType dt : {DType::f64, DType::f32}) {
    for (const std::vector<int64_t>& pieces :
         {std::vector<int64_t>{T}, std::vector<int64_t>{5, 8}, std::vector<int64_t>{3, 1, 9}}) {
      const auto want = training_run(c, dt, false, B, T, pieces);
      const auto got = training_run(c, dt, true, B, T, pieces);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i + 1 < got.size(); ++i)
        EXPECT_LT(rel_diff(got[i].second, want[i].second), dt == DType::f64 ? 1e-10 : 2e-5)
            << got[i].first << ", " << pieces.size() << " pieces, " << dtype_name(dt);
      // One record per call for the inner loop: far fewer than the composed path's.
      EXPECT_LT(got.back().second[0], want.back().second[0]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, FusedTrainingEqualsComposed,
    ::testing::ValuesIn(memory_case_table({{4, 16, true, true, true, MemoryActivation::silu},
                                           {2, 3, true, true, false, MemoryActivation::silu},
                                           {3, 3, false, true, true, MemoryActivation::gelu}})),
    memory_case_name);

// ---- no heap allocation per call of the kernel after warm-up

// Heap allocations in 5 calls of the fused forward (with the backward's saved states) and its
// backward, after one warm-up call of each.
template <class T>
long kernel_allocations() {
  const int64_t B = 2, H = 3, N = 37, d = 8, hid = 16;
  std::vector<T> q(size_t(B * H * N * d)), k(q.size()), v(q.size()), y(q.size()), dy(q.size());
  std::vector<T> dq(q.size()), dk(q.size()), dv(q.size());
  std::vector<T> th(size_t(B * H * N)), et(th.size()), al(th.size());
  std::vector<T> dth(th.size()), det(th.size()), dal(th.size());
  Rng rng(1);
  for (auto* vec : {&q, &k, &v, &dy})
    for (T& e : *vec) e = T(0.3 * rng.normal());
  for (size_t i = 0; i < th.size(); ++i) th[i] = T(0.05), et[i] = T(0.9), al[i] = T(0.01);
  std::vector<T> w0(size_t(H * hid * d)), w1(w0.size()), wo0(size_t(B) * w0.size()),
      wo1(wo0.size()), so0(wo0.size()), so1(wo0.size()), dw0(wo0.size()), dw1(wo0.size());
  for (auto* vec : {&w0, &w1})
    for (T& e : *vec) e = T(0.3 * rng.normal());
  MemoryKernelArgs<T> a;
  a.B = B, a.H = H, a.N = N, a.d = d, a.chunk = 16, a.depth = 2, a.hidden = hid;
  a.q = q.data(), a.k = k.data(), a.v = v.data(), a.y = y.data();
  a.theta = th.data(), a.eta = et.data(), a.alpha = al.data();
  a.w_in[0] = w0.data(), a.w_in[1] = w1.data();  // batch stride 0: the shared W_0, S_0 = 0
  a.w_out[0] = wo0.data(), a.w_out[1] = wo1.data(), a.s_out[0] = so0.data(),
  a.s_out[1] = so1.data();
  std::vector<T> save(size_t(B * H * (N / a.chunk) * 2 * memory_kernel_state_size(a)));
  a.save = save.data();
  MemoryKernelGrads<T> gr;
  gr.dy = dy.data(), gr.dq = dq.data(), gr.dk = dk.data(), gr.dv = dv.data();
  gr.dtheta = dth.data(), gr.deta = det.data(), gr.dalpha = dal.data();
  gr.dw_in[0] = dw0.data(), gr.dw_in[1] = dw1.data();
  gemm_reserve_workspace();
  EXPECT_FALSE(memory_forward_fused(a).found);  // warm-up: workspaces and the OpenMP team
  memory_backward_fused(a, gr);
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 5; ++i) {
    memory_forward_fused(a);
    memory_backward_fused(a, gr);
  }
  g_counting = false;
  return g_allocations.load();
}

TEST(FusedMemory, KernelsMakeNoHeapAllocationAfterWarmUp) {
  EXPECT_EQ(kernel_allocations<float>(), 0);
  EXPECT_EQ(kernel_allocations<double>(), 0);
}

}  // namespace
}  // namespace titans
