// The vector ISA the hand-written kernels (tensor/gemm.cpp, ops/attention_tile.h, bench/peak.cpp)
// are written against: one float vector type, a lane mask, and the handful of operations they use.
// Chosen at compile time from what the compiler targets (-march=native by default, CMakeLists):
//   AVX-512F: 16 lanes, 32 registers, mask registers;
//   AVX2+FMA: 8 lanes, 16 registers, masks as integer vectors (vmaskmov: masked-off lanes are
//             neither read nor written, so a masked load may end at the edge of an allocation);
//   otherwise: 8 lanes in a plain array, element loops the compiler vectorises as it can.
// Every path computes each output as the same sequence of fused multiply-adds (k ascending), so a
// kernel's results are bit-identical whatever the vector width, as well as across thread counts.
#pragma once

#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace titans::simd {

#if defined(__AVX512F__)

inline constexpr int kLanes = 16;
inline constexpr int kRegisters = 32;
inline constexpr const char* kIsa = "avx512";
using Vec = __m512;
using Mask = __mmask16;

// The first n lanes (all for n >= 16, none for n <= 0).
inline Mask first_lanes(int64_t n) {
  return n >= 16 ? Mask(0xFFFF) : n <= 0 ? Mask(0) : Mask((1u << n) - 1);
}
inline Vec zero() { return _mm512_setzero_ps(); }
inline Vec broadcast(float x) { return _mm512_set1_ps(x); }
inline Vec load(const float* p) { return _mm512_loadu_ps(p); }
inline Vec load_aligned(const float* p) { return _mm512_load_ps(p); }
inline Vec load_masked(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
inline void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline void store_aligned(float* p, Vec v) { _mm512_store_ps(p, v); }
inline void store_masked(float* p, Mask m, Vec v) { _mm512_mask_storeu_ps(p, m, v); }
inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
inline Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
inline void prefetch(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
}

#elif defined(__AVX2__) && defined(__FMA__)

inline constexpr int kLanes = 8;
inline constexpr int kRegisters = 16;
inline constexpr const char* kIsa = "avx2";
using Vec = __m256;
using Mask = __m256i;  // lane i is all ones when selected

inline Mask first_lanes(int64_t n) {
  const int k = n >= 8 ? 8 : n <= 0 ? 0 : int(n);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline Vec zero() { return _mm256_setzero_ps(); }
inline Vec broadcast(float x) { return _mm256_set1_ps(x); }
inline Vec load(const float* p) { return _mm256_loadu_ps(p); }
inline Vec load_aligned(const float* p) { return _mm256_load_ps(p); }
inline Vec load_masked(Mask m, const float* p) { return _mm256_maskload_ps(p, m); }
inline void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline void store_aligned(float* p, Vec v) { _mm256_store_ps(p, v); }
inline void store_masked(float* p, Mask m, Vec v) { _mm256_maskstore_ps(p, m, v); }
inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
inline Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
inline void prefetch(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
}

#else

inline constexpr int kLanes = 8;
inline constexpr int kRegisters = 16;
inline constexpr const char* kIsa = "generic";
struct Vec {
  float x[8];
};
using Mask = int;  // the number of leading lanes selected, 0..8

inline Mask first_lanes(int64_t n) { return n >= 8 ? 8 : n <= 0 ? 0 : int(n); }
inline Vec zero() { return Vec{}; }
inline Vec broadcast(float x) {
  Vec v;
  for (float& e : v.x) e = x;
  return v;
}
inline Vec load(const float* p) {
  Vec v;
  for (int i = 0; i < 8; ++i) v.x[i] = p[i];
  return v;
}
inline Vec load_aligned(const float* p) { return load(p); }
inline Vec load_masked(Mask m, const float* p) {
  Vec v{};
  for (int i = 0; i < m; ++i) v.x[i] = p[i];
  return v;
}
inline void store(float* p, Vec v) {
  for (int i = 0; i < 8; ++i) p[i] = v.x[i];
}
inline void store_aligned(float* p, Vec v) { store(p, v); }
inline void store_masked(float* p, Mask m, Vec v) {
  for (int i = 0; i < m; ++i) p[i] = v.x[i];
}
inline Vec fmadd(Vec a, Vec b, Vec c) {
  for (int i = 0; i < 8; ++i) c.x[i] = __builtin_fmaf(a.x[i], b.x[i], c.x[i]);
  return c;
}
inline Vec mul(Vec a, Vec b) {
  for (int i = 0; i < 8; ++i) a.x[i] *= b.x[i];
  return a;
}
inline Vec add(Vec a, Vec b) {
  for (int i = 0; i < 8; ++i) a.x[i] += b.x[i];
  return a;
}
inline void prefetch(const float* p) { __builtin_prefetch(p); }

#endif

// The lanes of m at p; `full` (every lane selected, as at any tile not on a matrix's right edge)
// takes the plain instruction: AVX2's masked store is microcoded on AMD Zen, its masked load slow.
inline Vec load_lanes(bool full, Mask m, const float* p) {
  return full ? load(p) : load_masked(m, p);
}
inline void store_lanes(bool full, Mask m, float* p, Vec v) {
  if (full)
    store(p, v);
  else
    store_masked(p, m, v);
}

// The sum of a vector's lanes (not on a hot path).
inline float sum_lanes(Vec v) {
  alignas(64) float lanes[kLanes];
  store_aligned(lanes, v);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
}

}  // namespace titans::simd
