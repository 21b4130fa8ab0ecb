// The vectorised float32 functions of ops/vmath.h against float64 libm: the largest error in ulps
// over a sweep of float bit patterns, and libm's special values exactly.
#include "ops/vmath.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace titans {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kDenormMin = std::numeric_limits<float>::denorm_min();

// Each function applied in a `#pragma omp simd` loop, as the kernels do: the vectorised code is
// the one under test.
template <class F>
std::vector<float> apply(const std::vector<float>& x, F f) {
  std::vector<float> y(x.size());
  const float* px = x.data();
  float* py = y.data();
  const int64_t n = int64_t(x.size());
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) py[i] = f(px[i]);
  return y;
}

// Calls visit(name, f, reference, bound in ulps) for each function; f is a lambda (not a function
// pointer) so that it inlines into apply's loop and vectorises.
template <class V>
void for_each_fn(V visit) {
  visit(
      "exp", [](float x) { return vmath::exp(x); }, [](double x) { return std::exp(x); }, 1.0);
  visit(
      "expm1", [](float x) { return vmath::expm1(x); }, [](double x) { return std::expm1(x); },
      1.5);
  visit(
      "sigmoid", [](float x) { return vmath::sigmoid(x); },
      [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, 2.5);
  visit(
      "tanh", [](float x) { return vmath::tanh(x); }, [](double x) { return std::tanh(x); }, 2.5);
}

// |y − ref| in units of the float spacing at ref; inf stands for 2^128, the first value past the
// largest float, so that results near the overflow threshold are judged like the others.
double ulp_error(float y, double ref) {
  const double top = std::ldexp(1.0, 128);
  const double yc = std::isinf(y) ? std::copysign(top, y) : double(y);
  const double rc = std::clamp(ref, -top, top);
  const int e = std::max(std::ilogb(rc == 0 ? 0x1p-149 : rc), -126);
  return std::abs(yc - rc) / std::ldexp(1.0, e - 23);
}

// The inputs: every 997th bit pattern, and dense runs where the functions change method or range.
std::vector<float> sweep_inputs() {
  std::vector<float> x;
  for (uint64_t b = 0; b < (uint64_t(1) << 32); b += 997)
    x.push_back(std::bit_cast<float>(uint32_t(b)));
  const auto dense = [&](float lo, float hi, uint32_t step) {
    for (float s : {1.0f, -1.0f})
      for (uint32_t b = std::bit_cast<uint32_t>(lo); b <= std::bit_cast<uint32_t>(hi); b += step)
        x.push_back(s * std::bit_cast<float>(b));
  };
  dense(kDenormMin, 0x1p-126f, 1009);  // denormals
  dense(0x1p-30f, 0.5f, 211);          // small |x|: expm1 and tanh without cancellation
  dense(0.3f, 1.0f, 31);               // around the switch n = 0 / n = ±1 of the reduction
  dense(86.0f, 89.5f, 7);              // exp's overflow threshold (88.72) and expm1's n = 128
  dense(87.0f, 105.0f, 13);            // exp's denormal results and its underflow to 0 (−103.97)
  return x;
}

TEST(Vmath, UlpErrorWithinBound) {
  const std::vector<float> x = sweep_inputs();
  for_each_fn([&](const char* name, auto f, auto ref, double bound) {
    const std::vector<float> y = apply(x, f);
    double worst = 0;
    float worst_x = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(x[i])) {
        EXPECT_TRUE(std::isnan(y[i])) << name << "(NaN)";
        continue;
      }
      const double e = ulp_error(y[i], ref(double(x[i])));
      if (e > worst) worst = e, worst_x = x[i];
    }
    std::printf("%-8s max error %.3f ulp at x = %a over %zu inputs\n", name, worst, double(worst_x),
                x.size());
    EXPECT_LE(worst, bound) << name << " at x = " << worst_x;
  });
}

TEST(Vmath, SpecialValues) {
  const auto bits = [](float v) { return std::bit_cast<uint32_t>(v); };
  const auto same = [&](float a, float b) {
    return std::isnan(a) ? std::isnan(b) : bits(a) == bits(b);
  };
  const float in[] = {0.0f,  -0.0f,   kInf,    -kInf,    kNaN,       -kNaN,
                      88.8f, 1000.0f, -104.0f, -1000.0f, kDenormMin, -kDenormMin};
  const std::vector<float> x(std::begin(in), std::end(in));
  for_each_fn([&](const char* name, auto f, auto ref, double) {
    const std::vector<float> y = apply(x, f);
    for (size_t i = 0; i < x.size(); ++i) {
      const float expect = float(ref(double(x[i])));
      EXPECT_TRUE(same(y[i], expect))
          << name << "(" << x[i] << ") = " << y[i] << ", libm " << expect;
    }
  });
  // The documented limits, spelled out.
  EXPECT_EQ(vmath::exp(kInf), kInf);
  EXPECT_EQ(bits(vmath::exp(-kInf)), bits(0.0f));
  EXPECT_EQ(vmath::exp(89.0f), kInf);
  EXPECT_EQ(vmath::exp(-103.0f), float(std::exp(-103.0)));  // a denormal
  EXPECT_EQ(bits(vmath::expm1(-0.0f)), bits(-0.0f));
  EXPECT_EQ(vmath::expm1(-kInf), -1.0f);
  EXPECT_EQ(vmath::expm1(kInf), kInf);
  EXPECT_EQ(bits(vmath::tanh(-0.0f)), bits(-0.0f));
  EXPECT_EQ(vmath::tanh(kInf), 1.0f);
  EXPECT_EQ(vmath::tanh(-kInf), -1.0f);
  EXPECT_EQ(vmath::sigmoid(kInf), 1.0f);
  EXPECT_EQ(bits(vmath::sigmoid(-kInf)), bits(0.0f));
  EXPECT_EQ(vmath::tanh(1e-30f), 1e-30f);
}

}  // namespace
}  // namespace titans
