// Float32 exp, expm1, sigmoid and tanh, branch-free (selects, fma, bit casts, no libm call),
// written once over a lane type F: float, or floatv, a vector of floats (GCC's vector extension)
// that the elementwise ops and the attention tiles run explicitly (for_each_lane below). Explicitly,
// because GCC 12 leaves a `#pragma omp simd` loop over the float versions scalar ("control flow in
// loop": it threads the range clamps into branches) unless -fno-trapping-math, and that flag also
// vectorises sums elsewhere, changing their rounding (docs/BENCHMARKS.md, "On the AVX2 machine").
// A floatv lane does the float version's operations in the same order, so its result is
// bit-identical (tests/vmath_test.cpp checks it over a sweep of bit patterns): the vectors change
// speed only. glibc's vector variants need -ffast-math, which would break the detection of
// non-finite values; these keep libm's special values (NaN → NaN, exp(±inf) = inf/0, overflow →
// inf, underflow → denormal/0).
// Errors against float64 libm, checked by tests/vmath_test.cpp: exp ≤ 1 ulp, expm1 ≤ 1.5 ulp,
// sigmoid and tanh ≤ 2.5 ulp.
// Forced inline: GCC's inliner otherwise leaves some call sites as out-of-line calls.
// The float64 overloads stay on libm: float64 exists for gradient checks, accuracy first.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tensor/simd.h"

namespace titans::vmath {

// The vector lane type, where the target has vector FMA (which the float versions' std::fma needs
// lane for lane): as wide as the GEMM's vectors.
#if defined(__FMA__) && (defined(__AVX2__) || defined(__AVX512F__))
#define TITANS_VMATH_VECTOR 1
inline constexpr bool kHasVector = true;
inline constexpr int kVectorLanes = simd::kLanes;
using floatv = float __attribute__((vector_size(4 * kVectorLanes)));
using int32v = int32_t __attribute__((vector_size(4 * kVectorLanes)));
#else
inline constexpr bool kHasVector = false;
inline constexpr int kVectorLanes = 1;
using floatv = float;
using int32v = int32_t;
#endif

// splat<F>(c): the constant c in every lane of F (float, double or floatv), rounded to the
// element type as F(c) would round it.
template <class F>
[[gnu::always_inline]] inline F splat(double c) {
  if constexpr (std::is_same_v<F, double> || std::is_same_v<F, float>)
    return F(c);
  else
    return F{} + float(c);
}

// c ? a : b lane by lane (c: bool, or an int32v comparison result: all ones where true).
template <class C, class F>
[[gnu::always_inline]] inline F select(C c, F a, F b) {
  return c ? a : b;
}

// Unaligned vector load and store (one vmovups each).
[[gnu::always_inline]] inline floatv load(const float* p) {
  floatv v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store(float* p, floatv v) { __builtin_memcpy(p, &v, sizeof v); }

// One lane group of type V at p: a scalar (V = T) or a vmath::floatv vector.
template <class V, class T>
[[gnu::always_inline]] inline V get(const T* p) {
  if constexpr (std::is_same_v<V, T>)
    return *p;
  else
    return vmath::load(p);
}
template <class V, class T>
[[gnu::always_inline]] inline void put(T* p, V v) {
  if constexpr (std::is_same_v<V, T>)
    *p = v;
  else
    vmath::store(p, v);
}

// body(V{}, i) over [i0, i1), V the lane group at i: vmath::floatv vectors while whole ones fit
// when kVector and T is float, T (in a `#pragma omp simd` loop) for the rest.
template <class T, bool kVector, class Body>
[[gnu::always_inline]] inline void for_each_lane(int64_t i0, int64_t i1, Body body) {
  int64_t i = i0;
  if constexpr (kVector && vmath::kHasVector && std::is_same_v<T, float>)
    for (; i + vmath::kVectorLanes <= i1; i += vmath::kVectorLanes) body(vmath::floatv{}, i);
#pragma omp simd
  for (int64_t j = i; j < i1; ++j) body(T{}, j);
}

namespace detail {

// The bit casts and the fma of a lane type.
template <class F>
struct Lanes;
template <>
struct Lanes<float> {
  using Int = int32_t;
  [[gnu::always_inline]] static float fma(float a, float b, float c) { return std::fma(a, b, c); }
  [[gnu::always_inline]] static Int bits(float x) { return std::bit_cast<Int>(x); }
  [[gnu::always_inline]] static float from_bits(Int i) { return std::bit_cast<float>(i); }
};
#ifdef TITANS_VMATH_VECTOR
template <>
struct Lanes<floatv> {
  using Int = int32v;
  [[gnu::always_inline]] static floatv fma(floatv a, floatv b, floatv c) {
#if defined(__AVX512F__)
    return floatv(_mm512_fmadd_ps(__m512(a), __m512(b), __m512(c)));
#else
    return floatv(_mm256_fmadd_ps(__m256(a), __m256(b), __m256(c)));
#endif
  }
  [[gnu::always_inline]] static Int bits(floatv x) { return Int(x); }
  [[gnu::always_inline]] static floatv from_bits(Int i) { return floatv(i); }
};
#endif

template <class F>
[[gnu::always_inline]] inline F fma(F a, F b, F c) {
  return Lanes<F>::fma(a, b, c);
}

// x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite: ln2 in a short exact high part and a low part).
// Adding 1.5·2^23 rounds x·log2(e) to the integer n held in the low mantissa bits of t, which
// avoids a float→int conversion (undefined for NaN, and slow to vectorise).
template <class F>
struct Reduced {
  F r;
  typename Lanes<F>::Int n;
};
template <class F>
[[gnu::always_inline]] inline Reduced<F> reduce(F x) {
  constexpr float kShift = 12582912.0f;
  const F t = x * 1.44269504088896341f + kShift;
  const F n = t - kShift;
  F r = fma(n, splat<F>(-0.693359375f), x);
  r = fma(n, splat<F>(2.12194440e-4f), r);
  return {r, Lanes<F>::bits(t) - std::bit_cast<int32_t>(kShift)};
}

// e^r − 1 = r + r²·P(r) on |r| ≤ ln2/2: the Cephes expf polynomial (~1e-8 relative).
template <class F>
[[gnu::always_inline]] inline F expm1_reduced(F r) {
  F p = splat<F>(1.9875691500e-4f);
  p = fma(p, r, splat<F>(1.3981999507e-3f));
  p = fma(p, r, splat<F>(8.3334519073e-3f));
  p = fma(p, r, splat<F>(4.1665795894e-2f));
  p = fma(p, r, splat<F>(1.6666665459e-1f));
  p = fma(p, r, splat<F>(5.0000001201e-1f));
  return fma(r * r, p, r);
}

// 2^n for n in [−126, 127], from its exponent bits.
template <class F, class I>
[[gnu::always_inline]] inline F pow2(I n) {
  return Lanes<F>::from_bits((n + 127) << 23);
}

// x limited to [lo, hi]; NaN passes (both comparisons are false).
template <class F>
[[gnu::always_inline]] inline F clamp(F x, float lo, float hi) {
  const F top = select(x > hi, splat<F>(hi), x);
  return select(x < lo, splat<F>(lo), top);
}

}  // namespace detail

// e^x, ≤ 1 ulp. The clamp keeps n in [−150, 128] (NaN passes it: comparisons are false); the
// scale 2^n is applied in two normal halves so that overflow gives inf and underflow rounds once
// to a denormal or 0.
template <class F>
[[gnu::always_inline]] inline F exp(F x) {
  const auto [r, n] = detail::reduce(detail::clamp(x, -104.0f, 89.0f));
  const F p = 1.0f + detail::expm1_reduced(r);
  const auto n1 = n >> 1;
  return p * detail::pow2<F>(n1) * detail::pow2<F>(n - n1);
}

// e^x − 1 without the cancellation near 0: 2^n·(e^r − 1) + (2^n − 1), one fma. Below −25 the
// result rounds to −1; at n = 128 (x near the overflow threshold) 2^n is formed as 2·2^127.
template <class F>
[[gnu::always_inline]] inline F expm1(F x) {
  const auto [r, n] = detail::reduce(detail::clamp(x, -25.0f, 89.0f));
  const F q = detail::expm1_reduced(r);
  const auto top = n > 127;
  const F s = detail::pow2<F>(select(top, n - 1, n));
  const F y = select(top, 2.0f * detail::fma(s, q, s - 0.5f), detail::fma(s, q, s - 1.0f));
  return select(x == 0.0f, x, y);  // keeps the sign of −0
}

// |x| and the sign of y on x, by their bits.
template <class F>
[[gnu::always_inline]] inline F abs(F x) {
  using L = detail::Lanes<F>;
  return L::from_bits(L::bits(x) & 0x7fffffff);
}
template <class F>
[[gnu::always_inline]] inline F copysign(F x, F y) {
  using L = detail::Lanes<F>;
  return L::from_bits((L::bits(x) & 0x7fffffff) | (L::bits(y) & int32_t(0x80000000u)));
}

// 1/(1 + e^−x), from e = e^−|x| ≤ 1 so that nothing overflows: x ≥ 0 gives 1/(1 + e), x < 0
// gives e/(1 + e) (accurate down to the denormals instead of 1/(1 + inf) = 0).
template <class F>
[[gnu::always_inline]] inline F sigmoid(F x) {
  const F e = exp(-abs(x));
  return select(x < 0.0f, e, splat<F>(1.0f)) / (1.0f + e);
}

// tanh|x| = −u/(u + 2) with u = expm1(−2|x|) ∈ (−1, 0]: no overflow for large |x| and no
// cancellation for small |x| (where 1 − 2/(e^2x + 1) would lose all digits).
template <class F>
[[gnu::always_inline]] inline F tanh(F x) {
  const F u = expm1(-2.0f * abs(x));
  return copysign(-u / (u + 2.0f), x);
}

inline double exp(double x) { return std::exp(x); }
inline double expm1(double x) { return std::expm1(x); }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double tanh(double x) { return std::tanh(x); }

}  // namespace titans::vmath
