// The float32 functions of ops/vmath.h against float64 libm: the largest error in ulps over a sweep
// of float bit patterns, libm's special values exactly, and the vector lanes against the floats.
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

// Each function over a vector of inputs, as the kernels call it: on floats (apply), and on
// vmath::floatv lanes with a float tail (apply_lanes, what the elementwise ops run).
template <class F>
std::vector<float> apply(const std::vector<float>& x, F f) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = f(x[i]);
  return y;
}
template <class F>
std::vector<float> apply_lanes(const std::vector<float>& x, F f) {
  std::vector<float> y(x.size());
  size_t i = 0;
  if constexpr (vmath::kHasVector)
    for (; i + vmath::kVectorLanes <= x.size(); i += vmath::kVectorLanes)
      vmath::store(y.data() + i, f(vmath::load(x.data() + i)));
  for (; i < x.size(); ++i) y[i] = f(x[i]);
  return y;
}

// Calls visit(name, f, reference, bound in ulps) for each function; f is generic (float or
// vmath::floatv).
template <class V>
void for_each_fn(V visit) {
  visit(
      "exp", [](auto x) { return vmath::exp(x); }, [](double x) { return std::exp(x); }, 1.0);
  visit(
      "expm1", [](auto x) { return vmath::expm1(x); }, [](double x) { return std::expm1(x); }, 1.5);
  visit(
      "sigmoid", [](auto x) { return vmath::sigmoid(x); },
      [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, 2.5);
  visit(
      "tanh", [](auto x) { return vmath::tanh(x); }, [](double x) { return std::tanh(x); }, 2.5);
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

// The vector lanes compute what the float function does, bit for bit (NaN: a NaN), so an op that
// runs vectors over most of a tensor and floats over its tail gives what a float loop would.
TEST(Vmath, VectorLanesMatchFloat) {
  if (!vmath::kHasVector) GTEST_SKIP() << "no vector FMA on this target: the float loop only";
  const std::vector<float> x = sweep_inputs();
  for_each_fn([&](const char* name, auto f, auto, double) {
    const std::vector<float> y = apply(x, f), yv = apply_lanes(x, f);
    size_t differ = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const bool same = std::isnan(y[i])
                            ? std::isnan(yv[i])
                            : std::bit_cast<uint32_t>(y[i]) == std::bit_cast<uint32_t>(yv[i]);
      if (!same && differ++ < 3)
        ADD_FAILURE() << name << "(" << x[i] << "): float " << y[i] << ", vector lane " << yv[i];
    }
    EXPECT_EQ(differ, 0u) << name << " over " << x.size() << " inputs";
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
    for (const std::vector<float>& y : {apply(x, f), apply_lanes(x, f)})
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
