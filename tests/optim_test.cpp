// AdamW against its formula, parameter groups and global-norm clipping.
#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
}  // namespace titans
