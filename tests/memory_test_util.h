// Shared helpers of the memory tests (memory_test.cpp, memory_kernel_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "memory/neural_memory.h"
#include "tensor/index_iter.h"

namespace titans {

// Small gates: with θ ≈ 0.1 tiny random memories diverge within a few chunks (reference/README.md).
inline NeuralMemoryConfig tiny_config(int depth, int64_t chunk) {
  NeuralMemoryConfig c;
  c.d_model = 8;
  c.n_heads = 2;
  c.head_dim = 4;
  c.depth = depth;
  c.chunk = chunk;
  c.theta_max = 0.3;
  return c;
}

struct Module {
  std::unique_ptr<ParamStore> store;
  std::unique_ptr<NeuralMemory> mem;
  Module(const NeuralMemoryConfig& c, DType dt, uint64_t seed = 7) {
    EXPECT_TRUE(c.validate().ok());
    store = std::make_unique<ParamStore>(dt);
    Rng rng(seed);
    mem = std::make_unique<NeuralMemory>(c, *store, rng, "mem.");
  }
};

// Standard-normal test inputs, deterministic in the seed.
inline std::vector<double> random_input(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> x(static_cast<size_t>(n));
  for (double& e : x) e = rng.normal();
  return x;
}

inline Tensor make_input(Graph& g, const std::vector<double>& x, Shape s, DType dt, bool grad = false) {
  Tensor t = g.new_tensor(s, dt, grad);
  dispatch_float(dt, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<T>()[i] = T(x[size_t(i)]);
  });
  return t;
}

inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

inline std::vector<double> values(const Tensor& t, bool grad = false) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* p = static_cast<const T*>(grad ? t.grad : t.data);
    for_each_index(t.shape, [&](const int64_t* idx, int64_t i) {
      v[size_t(i)] = double(p[element_offset(t, idx)]);
    });
  });
  return v;
}

// Σ w ⊙ out (the scalar loss of the gradient checks); with `backward`, its gradient (seeded with w).
inline double weighted_sum(Graph& g, const Tensor& out, const std::vector<double>& w, bool backward) {
  const std::vector<double> ov = values(out);
  double l = 0;
  for (size_t i = 0; i < ov.size(); ++i) l += w[i] * ov[i];
  if (backward) g.backward(out, w.data());
  return l;
}

// (loss(*p + h) − loss(*p − h)) / 2h, *p restored; `loss(Graph&)` runs without recording.
template <class Loss>
double central_difference(double* p, double h, Loss&& loss) {
  const double keep = *p;
  const auto at = [&](double v) {
    *p = v;
    Graph fg;
    NoGradScope ng(fg);
    return loss(fg);
  };
  const double lp = at(keep + h), lm = at(keep - h);
  *p = keep;
  return (lp - lm) / (2 * h);
}

inline std::vector<double> state_values(const MemoryState& st) {
  std::vector<double> v;
  for (const auto* list : {&st.w, &st.s})
    for (const Tensor& t : *list) {
      const std::vector<double> e = values(t);
      v.insert(v.end(), e.begin(), e.end());
    }
  for (const Tensor* t : {&st.tail_q, &st.tail_k, &st.tail_v, &st.pend_k, &st.pend_v,
                          &st.pend_theta, &st.pend_eta, &st.pend_alpha})
    if (t->ndim() > 0) {
      const std::vector<double> e = values(*t);
      v.insert(v.end(), e.begin(), e.end());
    }
  return v;
}

// One configuration of the memory-equality tables (memory_test, memory_kernel_test).
struct MemoryCase {
  int depth;
  int64_t chunk;
  bool momentum, decay, residual;
  MemoryActivation act;
};

// Depth 1–3 × chunk 1/4/16 × momentum/decay/residual on and off (gelu), plus silu, a chunk that is
// not a power of two, and depth 4 — `extra` cases are appended.
inline std::vector<MemoryCase> memory_case_table(std::vector<MemoryCase> extra = {}) {
  std::vector<MemoryCase> v;
  for (int depth : {1, 2, 3})
    for (int64_t chunk : {1, 4, 16})
      for (int flags = 0; flags < 8; ++flags)
        v.push_back({depth, chunk, bool(flags & 1), bool(flags & 2), bool(flags & 4),
                     MemoryActivation::gelu});
  v.push_back({2, 4, true, true, false, MemoryActivation::silu});
  v.push_back({3, 5, true, true, true, MemoryActivation::silu});
  v.push_back({4, 4, true, true, false, MemoryActivation::gelu});
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

// tiny_config with the case's depth, chunk and switches.
inline NeuralMemoryConfig memory_case_config(const MemoryCase& p) {
  NeuralMemoryConfig c = tiny_config(p.depth, p.chunk);
  c.momentum = p.momentum, c.decay = p.decay, c.residual = p.residual, c.activation = p.act;
  return c;
}

inline std::string memory_case_name(const ::testing::TestParamInfo<MemoryCase>& i) {
  const MemoryCase& p = i.param;
  return "depth" + std::to_string(p.depth) + "_chunk" + std::to_string(p.chunk) +
         (p.momentum ? "_mom" : "") + (p.decay ? "_decay" : "") + (p.residual ? "_res" : "") +
         (p.act == MemoryActivation::silu ? "_silu" : "");
}

}  // namespace titans
