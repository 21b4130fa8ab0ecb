// Float32 exp, expm1, sigmoid and tanh written so that GCC can vectorise them inside `#pragma omp
// simd` loops: plain branch-free C++ (selects, fma, bit casts), no libm call. GCC 12 turns the
// range clamps' selects into vector blends only under -fno-trapping-math; without it (this build)
// such loops stay scalar ("control flow in loop"). The flag made the MQAR test 20–30% faster on
// AVX2, but by changing the rounding of the sums it vectorised it sent that test's fragile
// titans_mac run non-finite (docs/BENCHMARKS.md, "On the AVX2 machine"). glibc's vector variants
// need -ffast-math, which would break the detection of non-finite values; these keep libm's special
// values (NaN → NaN, exp(±inf) = inf/0, overflow → inf, underflow → denormal/0).
// Errors against float64 libm, checked by tests/vmath_test.cpp: exp ≤ 1 ulp, expm1 ≤ 1.5 ulp,
// sigmoid and tanh ≤ 2.5 ulp.
// Forced inline: GCC's inliner otherwise leaves some call sites (e.g. a kernel's serial path) as
// out-of-line scalar calls, which do not vectorise.
// The float64 overloads stay on libm: float64 exists for gradient checks, accuracy first.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace titans::vmath {

namespace detail {

// x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite: ln2 in a short exact high part and a low part).
// Adding 1.5·2^23 rounds x·log2(e) to the integer n held in the low mantissa bits of t, which
// avoids a float→int conversion (undefined for NaN, and slow to vectorise).
struct Reduced {
  float r;
  int32_t n;
};
[[gnu::always_inline]] inline Reduced reduce(float x) {
  constexpr float kShift = 12582912.0f;
  const float t = x * 1.44269504088896341f + kShift;
  const float n = t - kShift;
  float r = std::fma(n, -0.693359375f, x);
  r = std::fma(n, 2.12194440e-4f, r);
  return {r, int32_t(std::bit_cast<uint32_t>(t) - std::bit_cast<uint32_t>(kShift))};
}

// e^r − 1 = r + r²·P(r) on |r| ≤ ln2/2: the Cephes expf polynomial (~1e-8 relative).
[[gnu::always_inline]] inline float expm1_reduced(float r) {
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  return std::fma(r * r, p, r);
}

// 2^n for n in [−126, 127], from its exponent bits.
[[gnu::always_inline]] inline float pow2(int32_t n) {
  return std::bit_cast<float>(uint32_t(n + 127) << 23);
}

}  // namespace detail

// e^x, ≤ 1 ulp. The clamp keeps n in [−150, 128] (NaN passes it: comparisons are false); the
// scale 2^n is applied in two normal halves so that overflow gives inf and underflow rounds once
// to a denormal or 0.
[[gnu::always_inline]] inline float exp(float x) {
  const float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  const auto [r, n] = detail::reduce(xc);
  const float p = 1.0f + detail::expm1_reduced(r);
  const int32_t n1 = n >> 1;
  return p * detail::pow2(n1) * detail::pow2(n - n1);
}

// e^x − 1 without the cancellation near 0: 2^n·(e^r − 1) + (2^n − 1), one fma. Below −25 the
// result rounds to −1; at n = 128 (x near the overflow threshold) 2^n is formed as 2·2^127.
[[gnu::always_inline]] inline float expm1(float x) {
  const float xc = x < -25.0f ? -25.0f : (x > 89.0f ? 89.0f : x);
  const auto [r, n] = detail::reduce(xc);
  const float q = detail::expm1_reduced(r);
  const bool top = n > 127;
  const float s = detail::pow2(n - int32_t(top));
  const float y = top ? 2.0f * std::fma(s, q, s - 0.5f) : std::fma(s, q, s - 1.0f);
  return x == 0.0f ? x : y;  // keeps the sign of −0
}

// 1/(1 + e^−x), from e = e^−|x| ≤ 1 so that nothing overflows: x ≥ 0 gives 1/(1 + e), x < 0
// gives e/(1 + e) (accurate down to the denormals instead of 1/(1 + inf) = 0).
[[gnu::always_inline]] inline float sigmoid(float x) {
  const float e = exp(-std::abs(x));
  return (x < 0.0f ? e : 1.0f) / (1.0f + e);
}

// tanh|x| = −u/(u + 2) with u = expm1(−2|x|) ∈ (−1, 0]: no overflow for large |x| and no
// cancellation for small |x| (where 1 − 2/(e^2x + 1) would lose all digits).
[[gnu::always_inline]] inline float tanh(float x) {
  const float u = expm1(-2.0f * std::abs(x));
  return std::copysign(-u / (u + 2.0f), x);
}

inline double exp(double x) { return std::exp(x); }
inline double expm1(double x) { return std::expm1(x); }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double tanh(double x) { return std::tanh(x); }

}  // namespace titans::vmath
