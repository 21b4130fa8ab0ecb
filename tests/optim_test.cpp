// AdamW against its formula, parameter groups and global-norm clipping.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <vector>

#include "optim/adamw.h"

namespace titans {
namespace {

TEST(AdamW, FirstStepMatchesTheFormula) {
  ParamStore ps(DType::f64);
  Tensor w = ps.add("w", Shape{2});
  Tensor b = ps.add("b", Shape{2}, {.decay = false, .lr_mult = 2.0});
  w.ptr<double>()[0] = 1.0, w.ptr<double>()[1] = -2.0;
  b.ptr<double>()[0] = 0.5, b.ptr<double>()[1] = 0.25;
  w.gptr<double>()[0] = 0.3, w.gptr<double>()[1] = -0.1;
  b.gptr<double>()[0] = 0.2, b.gptr<double>()[1] = 0.0;
  AdamWConfig cfg;
  cfg.clip_norm = 0;
  AdamW opt(ps, cfg);
  const double lr = 0.01;
  opt.step(lr);
  // After one step m̂ = g and v̂ = g², so the update is lr · g / (|g| + eps) = lr · sign(g).
  const double eps = cfg.eps;
  EXPECT_NEAR(w.ptr<double>()[0], 1.0 - lr * cfg.weight_decay * 1.0 - lr * 0.3 / (0.3 + eps), 1e-15);
  EXPECT_NEAR(w.ptr<double>()[1], -2.0 + lr * cfg.weight_decay * 2.0 + lr * 0.1 / (0.1 + eps), 1e-15);
  EXPECT_NEAR(b.ptr<double>()[0], 0.5 - 2 * lr * 0.2 / (0.2 + eps), 1e-15);  // no decay, lr × 2
  EXPECT_DOUBLE_EQ(b.ptr<double>()[1], 0.25);  // zero gradient, no decay: unchanged
}

TEST(AdamW, ClipsByGlobalNormAndReportsTheNormBeforeClipping) {
  ParamStore ps(DType::f64);
  Tensor w = ps.add("w", Shape{2}, {.decay = false});
  w.gptr<double>()[0] = 3.0, w.gptr<double>()[1] = 4.0;
  AdamWConfig cfg;
  cfg.clip_norm = 1.0;
  AdamW opt(ps, cfg);
  EXPECT_DOUBLE_EQ(global_grad_norm(ps), 5.0);
  EXPECT_DOUBLE_EQ(opt.step(0.1), 5.0);
  // Clipping scales g by 1/5 before the moments; the first Adam step is still lr · sign(g).
  EXPECT_NEAR(opt.first_moment(0)[0], (1 - cfg.beta1) * 0.6, 1e-15);
  EXPECT_NEAR(opt.first_moment(0)[1], (1 - cfg.beta1) * 0.8, 1e-15);
}

// The update runs over all parameters as one range split across threads (split points fall inside
// parameters): every element must get the formula with its own parameter's group, bitwise the same
// on any thread count.
TEST(AdamW, OneRangeOverEveryParameterMatchesTheFormulaOnAnyThreadCount) {
  const std::vector<Shape> shapes{Shape{300, 257}, Shape{5}, Shape{1000, 41}, Shape{33}};
  auto run = [&](int threads) {
    ParamStore ps(DType::f32);
    for (size_t k = 0; k < shapes.size(); ++k) {
      const Tensor t =
          ps.add(std::to_string(k), shapes[k], {.decay = k % 2 == 0, .lr_mult = 1.0 + double(k)});
      for (int64_t i = 0; i < t.numel(); ++i) {
        t.ptr<float>()[i] = float(std::sin(0.37 * double(i) + double(k)));
        t.gptr<float>()[i] = float(std::cos(0.11 * double(i) - double(k)));
      }
    }
    AdamWConfig cfg;
    cfg.clip_norm = 0;
    AdamW opt(ps, cfg);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    opt.step(0.01);
    omp_set_num_threads(saved);
    std::vector<float> out;
    for (const Parameter& p : ps.params())
      out.insert(out.end(), p.tensor.ptr<float>(), p.tensor.ptr<float>() + p.tensor.numel());
    return out;
  };
  const std::vector<float> one = run(1), two = run(2), three = run(3);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, three);
  // The formula (first step: the update is lr · g / (|g| + eps)), element by element.
  AdamWConfig cfg;
  size_t at = 0;
  for (size_t k = 0; k < shapes.size(); ++k) {
    const double lr = 0.01 * (1.0 + double(k)), decay = k % 2 == 0 ? lr * cfg.weight_decay : 0.0;
    for (int64_t i = 0; i < shapes[k].numel(); ++i, ++at) {
      const double w = double(float(std::sin(0.37 * double(i) + double(k))));
      const double g = double(float(std::cos(0.11 * double(i) - double(k))));
      const double want = w - decay * w - lr * g / (std::abs(g) + cfg.eps);
      ASSERT_NEAR(one[at], want, 1e-6) << "parameter " << k << " element " << i;
    }
  }
}

}  // namespace
}  // namespace titans
