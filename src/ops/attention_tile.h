// The attention kernel's tile products: C[M×N] (+)= alpha · A[M×K] · B[K×N] on tiles of at most
// 64×256, where every operand is already where the kernel reads it (no packing):
//   A is read one element at a time (a broadcast) through (row stride, column stride), so a
//     transposed tile (Pᵀ, dSᵀ) or a row of the input tensor costs nothing to address;
//   B rows are read as vectors: unit column stride, row stride ldb (a row of q, k, v, dO, or a
//     packed Qᵀ/dOᵀ tile); N need not be a multiple of the vector width, the last vector is masked
//     (and a masked load never touches memory beyond the row, so B may be the input tensor itself);
//   C rows are contiguous with stride ldc.
// gemm.h's kernel packs both operands on every call, which for 64×64×64 tiles costs about as much
// as the product; these tiles are used once or a few times each, straight from L1/L2.
// float: an R×(kLanes·NV) register tile on tensor/simd.h (AVX-512: R ≤ 6, NV ≤ 4 — 24
// accumulators + 4 B vectors + 1 broadcast fit the 32 registers; with 16 registers NV ≤ 2).
// double: plain loops (gradient checks only).
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "tensor/simd.h"

namespace titans::ops::attn {

namespace detail {

constexpr int kTileRows = 6;                               // R of the register tile
constexpr int kTileVecs = simd::kRegisters >= 32 ? 4 : 2;  // NV
constexpr int kTileCols = simd::kLanes * kTileVecs;        // 64 (AVX-512) or 16 columns

// The lanes of each column vector that lie within N. A struct, so that function pointer types
// never name a vector type (GCC drops its alignment attribute there, -Wignored-attributes).
struct ColumnMasks {
  simd::Mask m[kTileVecs];
  bool full;  // every lane of the NV vectors lies within N (simd::load_lanes / store_lanes)
};

template <int R, int NV, bool kAcc>
void micro(int64_t K, const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb,
           const ColumnMasks& masks, float alpha, float* c, int64_t ldc) {
  constexpr int L = simd::kLanes;
  simd::Vec acc[R][NV];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = simd::zero();
  const auto run = [&](auto full) {
    constexpr bool kFull = decltype(full)::value;
    for (int64_t k = 0; k < K; ++k) {
      simd::Vec bv[NV];
      const float* bk = b + k * ldb;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = simd::load_lanes(kFull, masks.m[v], bk + L * v);
      const float* ak = a + k * acs;
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const simd::Vec av = simd::broadcast(ak[r * ars]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = simd::fmadd(av, bv[v], acc[r][v]);
      }
    }
    const simd::Vec al = simd::broadcast(alpha);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float* cp = c + r * ldc + L * v;
        simd::Vec x = simd::mul(acc[r][v], al);
        if constexpr (kAcc) x = simd::add(x, simd::load_lanes(kFull, masks.m[v], cp));
        simd::store_lanes(kFull, masks.m[v], cp, x);
      }
  };
  if (masks.full)
    run(std::true_type{});
  else
    run(std::false_type{});
}

using MicroFn = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t,
                         const ColumnMasks&, float, float*, int64_t);

template <bool kAcc, int... I>
constexpr auto micro_table(std::integer_sequence<int, I...>) {
  // Entry (R − 1) · kTileVecs + (NV − 1).
  return std::array<MicroFn, sizeof...(I)>{&micro<I / kTileVecs + 1, I % kTileVecs + 1, kAcc>...};
}

}  // namespace detail

// C = alpha·A·B (accumulate false: C's old contents ignored) or C += alpha·A·B.
inline void tile_mm(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t ars,
                    int64_t acs, const float* b, int64_t ldb, float* c, int64_t ldc,
                    bool accumulate) {
  using namespace detail;
  static constexpr auto kSet =
      micro_table<false>(std::make_integer_sequence<int, kTileRows * kTileVecs>{});
  static constexpr auto kAdd =
      micro_table<true>(std::make_integer_sequence<int, kTileRows * kTileVecs>{});
  const auto& table = accumulate ? kAdd : kSet;
  for (int64_t n0 = 0; n0 < N; n0 += kTileCols) {
    const int64_t cols = N - n0 < kTileCols ? N - n0 : kTileCols;
    const int nv = int((cols + simd::kLanes - 1) / simd::kLanes);
    ColumnMasks masks;
    for (int v = 0; v < kTileVecs; ++v) masks.m[v] = simd::first_lanes(cols - simd::kLanes * v);
    masks.full = cols % simd::kLanes == 0;
    for (int64_t r0 = 0; r0 < M; r0 += kTileRows) {
      const int rows = int(M - r0 < kTileRows ? M - r0 : kTileRows);
      table[size_t((rows - 1) * kTileVecs + nv - 1)](K, a + r0 * ars, ars, acs, b + n0, ldb, masks,
                                                     alpha, c + r0 * ldc + n0, ldc);
    }
  }
}

inline void tile_mm(int64_t M, int64_t N, int64_t K, double alpha, const double* a, int64_t ars,
                    int64_t acs, const double* b, int64_t ldb, double* c, int64_t ldc,
                    bool accumulate) {
  for (int64_t r = 0; r < M; ++r)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += a[r * ars + k * acs] * b[k * ldb + n];
      c[r * ldc + n] = alpha * s + (accumulate ? c[r * ldc + n] : 0.0);
    }
}

}  // namespace titans::ops::attn
