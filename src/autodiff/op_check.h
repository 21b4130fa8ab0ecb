// The three modes of the op table (after ggml's test-backend-ops): `test` compares an op's forward
// with its naive float64 reference, `grad` compares its backward with central differences in
// float64, `perf` times forward and backward. Used by tests/ops_test.cpp and `titans bench ops`.
#pragma once

#include <string>

#include "autodiff/op_registry.h"

namespace titans {

struct CheckResult {
  bool ok = false;
  double error = 0;  // the measured relative error
  std::string detail;
};

// Forward in `dtype` (f32 or f64) against the reference; f64 must agree to 1e-12 relative.
CheckResult check_forward(const OpTest& test, DType dtype, uint64_t seed = 1);
// Backward against central differences of L = sum(w * op(x)) in float64, every differentiable input.
CheckResult check_gradient(const OpTest& test, uint64_t seed = 1);

struct OpTiming {
  double forward_us = 0;
  double backward_us = 0;
};
// Median time of forward (recorded for autodiff) and backward in float32, after a warm-up.
OpTiming time_op(const OpTest& test, int repeats);

}  // namespace titans
