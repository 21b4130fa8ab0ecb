// fp32 GEMM on a packed SIMD micro-kernel (tensor/simd.h: AVX-512, AVX2 or plain loops); fp64 GEMM
// as a plain loop.
//
// Structure after Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication"
// (TOMS 2008), and the five-loop formulation of BLIS (Van Zee & van de Geijn, TOMS 2015):
//
//   for jc in N step NC          B block KC×NC (L2/L3)
//     for pc in K step KC
//       pack B[pc:, jc:] into KC×NR panels (or read B in place when it is small, see gemm_serial)
//       for ic in M step MC      A block MC×KC (L2)
//         pack A[ic:, pc:] into MR×KC panels (or read A in place when few B panels use it)
//         for jr in NC step NR   the KC×NR B panel stays in L1 ...
//           for ir in MC step MR ... while MR×KC A panels stream from L2
//             micro-kernel: MR×NR tile of C held in registers, rank-1 update per k
//
// Threads split only M and N (each thread runs the loops above on its block of C), and a batch
// is split by whole products. Every C element is therefore accumulated in the same order (k
// ascending, one FMA per term, KC blocks ascending) whatever the thread count, the packing
// choices, the operand layout or the vector width: results are bit-identical run to run, across
// thread counts and across ISAs.
#include "tensor/gemm.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

#include "tensor/simd.h"

namespace titans {
namespace {

using simd::kLanes;
using simd::Mask;
using simd::Vec;

// Register tile: MR rows × NR = 2 vector columns. AVX-512: 12 × 2 zmm → 24 accumulators + 2 B
// vectors + 1 broadcast fit the 32 registers without spills and keep both FMA ports busy (24 FMAs
// per 14 loads per k step). With 16 registers (AVX2): 6 × 2 → 12 + 2 + 1.
constexpr int kMR = simd::kRegisters >= 32 ? 12 : 6;
constexpr int kNR = 2 * kLanes;
static_assert(kMR <= kLanes, "a packed A column is one masked vector");
// Cache blocks, in floats. KC×NR×4 B = 32 KiB: the B panel stays in the 48 KiB L1d next to the
// streaming A panel. MC×KC×4 B = 240 KiB and KC×NC×4 B = 1 MiB: the A and B blocks share L2
// (1.25–2 MiB). Measured on the target: KC 192–384, MC 120–480, NC 512–4096 are within noise of
// each other for 512³–1024³; NC = 1024 is ~5% better than 2048+ when M is small and N large.
constexpr int64_t kKC = 256;
constexpr int64_t kMC = 240;   // multiple of kMR
constexpr int64_t kNC = 1024;  // multiple of kNR
static_assert(kMC % kMR == 0 && kNC % kNR == 0);
// B is read in place (not packed) when its rows are contiguous, few rows of C reuse each B panel
// and the KC×NC block lies within a small span of memory (so it stays cached without set
// conflicts): then packing would copy data that is used only a few times. Measured: 16×32×64 and
// 16×128×128 gain 10–25%; with a large span (e.g. 24×4096×1024) reading in place is 2× slower.
constexpr int64_t kDirectBMaxM = 64;
constexpr int64_t kDirectBMaxSpan = 16384;  // floats (64 KiB)

// Below this many flops a product runs on one thread: an OpenMP fork/join costs a few µs.
constexpr double kParallelFlops = 2e6;

// ---------------------------------------------------------------------------------------------
// Per-thread packing workspace. thread_local rather than an array indexed by omp_get_thread_num()
// so that nested teams, or threads the engine starts itself, never share a buffer. Allocated once
// per thread, on its first product or in gemm_reserve_workspace, with std::aligned_alloc (the only
// allocation in this file; the C runtime also records the thread-exit destructor then), and freed
// at thread exit. Size per thread: (MC + NC)·KC floats = 1.2 MiB.
struct Workspace {
  float* a = nullptr;  // kMC × kKC
  float* b = nullptr;  // kKC × kNC
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() {
    std::free(a);
    std::free(b);
  }
  void ensure() {
    if (a != nullptr) return;
    a = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * kMC * kKC));
    b = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * kKC * kNC));
    if (a == nullptr || b == nullptr) {
      std::free(a);
      std::free(b);
      a = b = nullptr;
      throw std::bad_alloc();
    }
  }
};
thread_local Workspace tls_workspace;

Workspace& workspace() {
  Workspace& ws = tls_workspace;
  ws.ensure();
  return ws;
}

// ---------------------------------------------------------------------------------------------
// Packing.

#if defined(__AVX512F__)
// In-register transpose of a 16×16 block: r[i] lane j ↔ r[j] lane i. Four shuffle stages: pairs
// of rows within 128-bit lanes, then quads, then 128-bit lanes across row groups (twice).
// The shuffles use the all-lanes maskz form only because GCC 12's unmasked forms trip
// -Wmaybe-uninitialized on its internal undefined vector; the generated instruction is the same.
inline void transpose_block(Vec (&r)[kLanes]) {
  __m512 u[16];
  for (int g = 0; g < 4; ++g) {  // u[4g + c], 128-bit lane q = rows 4g..4g+3 at column 4q + c
    const __m512 t0 = _mm512_maskz_unpacklo_ps(0xFFFF, r[4 * g], r[4 * g + 1]);
    const __m512 t1 = _mm512_maskz_unpackhi_ps(0xFFFF, r[4 * g], r[4 * g + 1]);
    const __m512 t2 = _mm512_maskz_unpacklo_ps(0xFFFF, r[4 * g + 2], r[4 * g + 3]);
    const __m512 t3 = _mm512_maskz_unpackhi_ps(0xFFFF, r[4 * g + 2], r[4 * g + 3]);
    u[4 * g + 0] = _mm512_maskz_shuffle_ps(0xFFFF, t0, t2, 0x44);
    u[4 * g + 1] = _mm512_maskz_shuffle_ps(0xFFFF, t0, t2, 0xEE);
    u[4 * g + 2] = _mm512_maskz_shuffle_ps(0xFFFF, t1, t3, 0x44);
    u[4 * g + 3] = _mm512_maskz_shuffle_ps(0xFFFF, t1, t3, 0xEE);
  }
  for (int c = 0; c < 4; ++c) {
    // x0: lanes 0 and 2 of groups 0 and 1; x1: lanes 1 and 3 (y0, y1 likewise for groups 2, 3).
    const __m512 x0 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[c], u[4 + c], 0x88);
    const __m512 x1 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[c], u[4 + c], 0xDD);
    const __m512 y0 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[8 + c], u[12 + c], 0x88);
    const __m512 y1 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_maskz_shuffle_f32x4(0xFFFF, x0, y0, 0x88);
    r[4 + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, x1, y1, 0x88);
    r[8 + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, x0, y0, 0xDD);
    r[12 + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, x1, y1, 0xDD);
  }
}

#elif defined(__AVX2__) && defined(__FMA__)
// In-register transpose of an 8×8 block: r[i] lane j ↔ r[j] lane i (pairs within 128-bit lanes,
// then quads, then the two 128-bit halves).
inline void transpose_block(Vec (&r)[kLanes]) {
  __m256 t[8], u[8];
  for (int g = 0; g < 4; ++g) {
    t[2 * g] = _mm256_unpacklo_ps(r[2 * g], r[2 * g + 1]);
    t[2 * g + 1] = _mm256_unpackhi_ps(r[2 * g], r[2 * g + 1]);
  }
  for (int g = 0; g < 2; ++g) {
    u[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  for (int c = 0; c < 4; ++c) {
    r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
    r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
  }
}

#endif

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
// Packs up to kLanes contiguous "lines" (line l: src + l·ls, k floats each) across a panel:
// dst[p·width + l] = line l, element p, in kLanes × kLanes blocks transposed in registers. Lines
// nl.. pack as zeros; the first `lanes` lanes of each dst row are written. A row is stored whole
// where the next row (written later) catches the lanes past `lanes`; only the panel's last row is
// masked, so no store reaches past it (AVX2's masked store is microcoded on AMD Zen).
void pack_lines_transposed(int64_t k, int64_t nl, const float* src, int64_t ls, float* dst,
                           int64_t width, int lanes) {
  const Mask out = simd::first_lanes(lanes);
  for (int64_t p0 = 0; p0 < k; p0 += kLanes) {
    const int64_t kv = std::min<int64_t>(kLanes, k - p0);
    const Mask mk = simd::first_lanes(kv);
    Vec r[kLanes];
#pragma GCC unroll 16
    for (int l = 0; l < kLanes; ++l)
      r[l] = l >= nl        ? simd::zero()
             : kv == kLanes ? simd::load(src + l * ls + p0)
                            : simd::load_masked(mk, src + l * ls + p0);
    transpose_block(r);
    for (int64_t p = 0; p < kv; ++p) {
      float* d = dst + (p0 + p) * width;
      if (lanes == kLanes || p0 + p + 1 < k)
        simd::store(d, r[p]);
      else
        simd::store_masked(d, out, r[p]);
    }
  }
}
#else
// The same packing, element by element.
void pack_lines_transposed(int64_t k, int64_t nl, const float* src, int64_t ls, float* dst,
                           int64_t width, int lanes) {
  for (int64_t l = 0; l < lanes; ++l)
    for (int64_t p = 0; p < k; ++p) dst[p * width + l] = l < nl ? src[l * ls + p] : 0.0f;
}
#endif

// B[k×n] (strided) → ceil(n/NR) panels of k×NR, row-major inside a panel, zero-padded columns.
void pack_b(int64_t k, int64_t n, const float* b, int64_t rs, int64_t cs, float* dst) {
  if (cs == 1) {  // rows contiguous: read each row once, front to back (prefetcher-friendly)
    const int64_t full = n / kNR * kNR;
    const Mask m0 = simd::first_lanes(n - full), m1 = simd::first_lanes(n - full - kLanes);
    for (int64_t p = 0; p < k; ++p) {
      const float* src = b + p * rs;
      float* d = dst + p * kNR;
      int64_t j0 = 0;
      for (; j0 < full; j0 += kNR, d += k * kNR) {
        simd::store_aligned(d, simd::load(src + j0));
        simd::store_aligned(d + kLanes, simd::load(src + j0 + kLanes));
      }
      if (j0 < n) {  // last, partial panel: zero-padded
        simd::store_aligned(d, simd::load_masked(m0, src + j0));
        simd::store_aligned(d + kLanes, simd::load_masked(m1, src + j0 + kLanes));
      }
    }
    return;
  }
  for (int64_t j0 = 0; j0 < n; j0 += kNR, dst += k * kNR) {
    const int64_t nv = std::min<int64_t>(kNR, n - j0);
    const float* src = b + j0 * cs;
    if (rs == 1) {  // columns contiguous (Bᵀ view): transpose blocks of kLanes columns
      pack_lines_transposed(k, std::min<int64_t>(kLanes, nv), src, cs, dst, kNR, kLanes);
      pack_lines_transposed(k, std::max<int64_t>(0, nv - kLanes), src + kLanes * cs, cs,
                            dst + kLanes, kNR, kLanes);
    } else {  // no unit stride: element by element
      for (int64_t p = 0; p < k; ++p)
        for (int64_t j = 0; j < kNR; ++j) dst[p * kNR + j] = j < nv ? src[p * rs + j * cs] : 0.0f;
    }
  }
}

// A[m×k] (strided) → ceil(m/MR) panels of MR×k, column-major inside a panel, zero-padded rows.
void pack_a(int64_t m, int64_t k, const float* a, int64_t rs, int64_t cs, float* dst) {
  const Mask mr = simd::first_lanes(kMR);  // the MR lanes of a packed A column
  for (int64_t i0 = 0; i0 < m; i0 += kMR, dst += k * kMR) {
    const int64_t mv = std::min<int64_t>(kMR, m - i0);
    const float* src = a + i0 * rs;
    if (rs == 1) {  // columns contiguous (Aᵀ view): one masked copy of MR floats per k
      const Mask msk = simd::first_lanes(mv);
      // A whole vector per column where the next column (written next) catches the extra lanes
      // (kMR < kLanes on AVX2); the panel's last column is masked so nothing lands past it.
      for (int64_t p = 0; p + 1 < k; ++p)
        simd::store(dst + p * kMR, simd::load_masked(msk, src + p * cs));
      simd::store_masked(dst + (k - 1) * kMR, mr, simd::load_masked(msk, src + (k - 1) * cs));
    } else if (cs == 1) {  // rows contiguous: transpose MR×kLanes blocks
      pack_lines_transposed(k, mv, src, rs, dst, kMR, kMR);
    } else {
      for (int64_t p = 0; p < k; ++p)
        for (int64_t i = 0; i < kMR; ++i) dst[p * kMR + i] = i < mv ? src[i * rs + p * cs] : 0.0f;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Micro-kernel: C[R×n] = alpha · A[R×k] · B[k×n] + beta · C for one register tile, n <= V·kLanes.
//  - R (rows, 1..MR) and V (vector columns, 1..2) are template parameters so that edge tiles cost
//    only their rows and a panel of at most kLanes columns only one vector per row.
//  - kPackA: A is a packed MR×k panel (row stride 1, column stride MR); otherwise it is read in
//    place through (rsa, csa). kPackB: B is a packed k×NR panel; otherwise it is read in place,
//    rows rsb apart and contiguous, with masked loads at the right edge (zeros beyond n).
// Accumulation is k ascending with one FMA per term, identical in every variant, so whether an
// operand was packed never changes a result bit.
struct Tile {
  float* c;
  int64_t rsc, csc;
  int64_t n;  // valid columns, 1..NR
  float alpha, beta;
};

// Always inlined: out of line, the accumulators would have to live in memory across the k loop.
template <int R, int V>
[[gnu::always_inline]] inline void store_tile(const Vec (&acc)[V][R], const Tile t) {
  // t is a copy: stores through t.c could otherwise alias it and force reloads of every field.
  const Vec va = simd::broadcast(t.alpha);
  if (t.csc == 1) {  // rows of C contiguous: vector read-modify-write
    // Masked only where the tile crosses the right edge of C (simd::store_lanes).
    const bool full = t.n == V * kLanes;
    const Mask m[2] = {simd::first_lanes(t.n), simd::first_lanes(t.n - kLanes)};
    const Vec vb = simd::broadcast(t.beta);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) {
        float* c = t.c + i * t.rsc + kLanes * v;
        Vec x = simd::mul(va, acc[v][i]);
        if (t.beta != 0.0f)  // beta == 0: C is never read (it may hold NaN)
          x = simd::fmadd(vb, simd::load_lanes(full, m[v], c), x);
        simd::store_lanes(full, m[v], c, x);
      }
    return;
  }
  // General strides: spill the tile to the stack and write its valid part element by element.
  alignas(64) float tile[R][kLanes * V];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) simd::store_aligned(tile[i] + kLanes * v, simd::mul(va, acc[v][i]));
  for (int i = 0; i < R; ++i) {
    float* c = t.c + i * t.rsc;
    if (t.beta == 0.0f)
      for (int64_t j = 0; j < t.n; ++j) c[j * t.csc] = tile[i][j];
    else
      for (int64_t j = 0; j < t.n; ++j) c[j * t.csc] = tile[i][j] + t.beta * c[j * t.csc];
  }
}

template <int R, int V, bool kPackA, bool kPackB>
void micro_kernel(int64_t k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb,
                  const Tile& t) {
  if constexpr (kPackA) rsa = 1, csa = kMR;
  if constexpr (kPackB) rsb = kNR;
  // Start fetching the C tile now so that the read-modify-write at the end does not stall.
  if (t.csc == 1) {
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      simd::prefetch(t.c + i * t.rsc);
      simd::prefetch(t.c + i * t.rsc + t.n - 1);
    }
  }
  const Mask mb[2] = {simd::first_lanes(t.n), simd::first_lanes(t.n - kLanes)};
  Vec acc[V][R];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) acc[v][i] = simd::zero();
  // A rows in groups of four off separate bases: row 4g + r is at base g + r·rsa, which x86
  // addressing reaches with index rsa or 3·rsa, so the loop needs no per-row pointer registers.
  constexpr int G = (R + 3) / 4;
  const float* ag[G];
  for (int g = 0; g < G; ++g) ag[g] = a + 4 * g * rsa;
  // kFull: B's rows hold all V·kLanes columns, read with plain loads (an unpacked B's masked
  // loads are needed only at the right edge of the matrix).
  const auto k_loop = [&](auto full) {
    constexpr bool kFull = decltype(full)::value;
    for (int64_t p = 0; p < k; ++p, b += rsb) {
      Vec bv[V];
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v)
        bv[v] = kPackB ? simd::load_aligned(b + kLanes * v)
                       : simd::load_lanes(kFull, mb[v], b + kLanes * v);
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        const Vec ai = simd::broadcast(ag[i / 4][(i % 4) * rsa]);
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) acc[v][i] = simd::fmadd(ai, bv[v], acc[v][i]);
      }
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) ag[g] += csa;
    }
  };
  if (!kPackB && t.n == V * kLanes)
    k_loop(std::true_type{});
  else
    k_loop(std::false_type{});
  store_tile<R, V>(acc, t);
}

using KernelFn = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t,
                          const Tile&);

template <int V, bool kPackA, bool kPackB, int... R>
constexpr std::array<KernelFn, kMR> kernel_row(std::integer_sequence<int, R...>) {
  return {&micro_kernel<R + 1, V, kPackA, kPackB>...};
}
template <int V, bool kPackA, bool kPackB>
constexpr std::array<KernelFn, kMR> kernel_row() {
  return kernel_row<V, kPackA, kPackB>(std::make_integer_sequence<int, kMR>{});
}
// kKernels[V - 1][kPackA][kPackB][R - 1]
constexpr std::array<KernelFn, kMR> kKernels[2][2][2] = {
    {{kernel_row<1, false, false>(), kernel_row<1, false, true>()},
     {kernel_row<1, true, false>(), kernel_row<1, true, true>()}},
    {{kernel_row<2, false, false>(), kernel_row<2, false, true>()},
     {kernel_row<2, true, false>(), kernel_row<2, true, true>()}}};

// ---------------------------------------------------------------------------------------------
// Single-threaded product on the caller's thread (the five loops above). Requires M, N, K > 0.
void gemm_serial(int64_t M, int64_t N, int64_t K, float alpha, const MatRef<float>& A,
                 const MatRef<float>& B, float beta, const MatMut<float>& C) {
  Workspace& ws = workspace();
  for (int64_t jc = 0; jc < N; jc += kNC) {
    const int64_t nc = std::min(kNC, N - jc);
    // Packing A costs about one micro-kernel pass over it; it pays only when several B panels
    // reuse the block. Reading A in place is as fast for a few panels and skips the copy.
    const bool pack_a_panels = nc > 2 * kNR;
    for (int64_t pc = 0; pc < K; pc += kKC) {
      const int64_t kc = std::min(kKC, K - pc);
      const float* b_blk = B.data + pc * B.rs + jc * B.cs;
      const bool pack_b_panels =
          !(B.cs == 1 && M <= kDirectBMaxM && (kc - 1) * B.rs + nc <= kDirectBMaxSpan);
      if (pack_b_panels) pack_b(kc, nc, b_blk, B.rs, B.cs, ws.b);
      // Later K blocks accumulate onto the partial sums already in C.
      const float beta_blk = pc == 0 ? beta : 1.0f;
      for (int64_t ic = 0; ic < M; ic += kMC) {
        const int64_t mc = std::min(kMC, M - ic);
        const float* a_blk = A.data + ic * A.rs + pc * A.cs;
        if (pack_a_panels) pack_a(mc, kc, a_blk, A.rs, A.cs, ws.a);
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const float* b_pan = pack_b_panels ? ws.b + jr * kc : b_blk + jr;
          const int64_t n = std::min<int64_t>(kNR, nc - jr);
          const auto& kernels = kKernels[n > kLanes][pack_a_panels][pack_b_panels];
          Tile t{C.data + ic * C.rs + (jc + jr) * C.cs, C.rs, C.cs, n, alpha, beta_blk};
          for (int64_t ir = 0; ir < mc; ir += kMR, t.c += kMR * C.rs) {
            const int rows = int(std::min<int64_t>(kMR, mc - ir));
            const float* a_pan = pack_a_panels ? ws.a + ir * kc : a_blk + ir * A.rs;
            kernels[rows - 1](kc, a_pan, A.rs, A.cs, b_pan, B.rs, t);
          }
        }
      }
    }
  }
}

// C = beta · C (beta == 0 writes zeros without reading C).
template <class T>
void scale_c(int64_t M, int64_t N, T beta, const MatMut<T>& C) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T& c = C.data[i * C.rs + j * C.cs];
      c = beta == T(0) ? T(0) : beta * c;
    }
}

// Handles the degenerate cases; returns false when there is nothing left to multiply.
// alpha == 0 skips A·B entirely, as BLAS does (A and B are then not read).
template <class T>
bool prologue(int64_t M, int64_t N, int64_t K, T alpha, T beta, const MatMut<T>& C) {
  if (M <= 0 || N <= 0) return false;
  if (K <= 0 || alpha == T(0)) {
    scale_c(M, N, beta, C);
    return false;
  }
  return true;
}

// A product with C stored column-contiguous (cs != 1, rs == 1) is computed as its transpose,
// Cᵀ = Bᵀ·Aᵀ, so the micro-kernel can write C rows as vectors. The products a·b are the same
// terms summed in the same k order, so the values are unchanged.
void orient(int64_t& M, int64_t& N, MatRef<float>& A, MatRef<float>& B, MatMut<float>& C) {
  if (C.cs == 1 || C.rs != 1) return;
  std::swap(M, N);
  const MatRef<float> a = A;
  A = {B.data, B.cs, B.rs};
  B = {a.data, a.cs, a.rs};
  C = {C.data, C.cs, C.rs};
}

// Splits C over the team in a grid of tm × tn blocks; each thread runs gemm_serial on its block.
// The grid shape minimises the packing each thread repeats (its rows of A plus its columns of B).
void gemm_parallel(int64_t M, int64_t N, int64_t K, float alpha, const MatRef<float>& A,
                   const MatRef<float>& B, float beta, const MatMut<float>& C, int threads) {
#pragma omp parallel num_threads(threads)
  {
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t mt_units = (M + kMR - 1) / kMR, nt_units = (N + kNR - 1) / kNR;
    int tm = 1;
    double best = 1e300;
    for (int d = 1; d <= nt; ++d) {
      if (nt % d != 0 || d > mt_units || nt / d > nt_units) continue;
      const double cost = double(M) / d + double(N) / (nt / d);
      if (cost < best) best = cost, tm = d;
    }
    const int tn = nt / tm;
    const int bi = id % tm, bj = id / tm;
    if (bj < tn) {
      // Balanced split in whole tiles: block b gets units [b·u/t, (b+1)·u/t).
      const int64_t i0 = std::min(M, bi * mt_units / tm * kMR);
      const int64_t i1 = std::min(M, (bi + 1) * mt_units / tm * kMR);
      const int64_t j0 = std::min(N, bj * nt_units / tn * kNR);
      const int64_t j1 = std::min(N, (bj + 1) * nt_units / tn * kNR);
      if (i1 > i0 && j1 > j0)
        gemm_serial(i1 - i0, j1 - j0, K, alpha, {A.data + i0 * A.rs, A.rs, A.cs},
                    {B.data + j0 * B.cs, B.rs, B.cs}, beta,
                    {C.data + i0 * C.rs + j0 * C.cs, C.rs, C.cs});
    }
  }
}

struct Batch {
  int64_t M, N, K;
  float alpha;
  MatRef<float> A;
  int64_t stride_a;
  MatRef<float> B;
  int64_t stride_b;
  float beta;
  MatMut<float> C;
  int64_t stride_c;
};

// Products [lo, hi) of a batch, one after another on the calling thread.
void batch_range(const Batch& bt, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; ++i) {
    MatRef<float> a{bt.A.data + i * bt.stride_a, bt.A.rs, bt.A.cs};
    MatRef<float> b{bt.B.data + i * bt.stride_b, bt.B.rs, bt.B.cs};
    MatMut<float> c{bt.C.data + i * bt.stride_c, bt.C.rs, bt.C.cs};
    int64_t m = bt.M, n = bt.N;
    if (!prologue(m, n, bt.K, bt.alpha, bt.beta, c)) continue;
    orient(m, n, a, b, c);
    gemm_serial(m, n, bt.K, bt.alpha, a, b, bt.beta, c);
  }
}

int team_size(double flops) {
  if (flops < kParallelFlops || omp_in_parallel()) return 1;
  return omp_get_max_threads();
}

// fp64: the reference loop. i, k, j order keeps the innermost access to B and C sequential for
// row-major operands; each C element still sums its k terms in ascending order.
void gemm_f64(int64_t M, int64_t N, int64_t K, double alpha, const MatRef<double>& A,
              const MatRef<double>& B, double beta, const MatMut<double>& C) {
  if (!prologue(M, N, K, alpha, beta, C)) return;
  for (int64_t i = 0; i < M; ++i) {
    double* c = C.data + i * C.rs;
    for (int64_t j = 0; j < N; ++j) c[j * C.cs] = beta == 0.0 ? 0.0 : beta * c[j * C.cs];
    for (int64_t p = 0; p < K; ++p) {
      const double a = alpha * A.data[i * A.rs + p * A.cs];
      const double* b = B.data + p * B.rs;
      for (int64_t j = 0; j < N; ++j) c[j * C.cs] += a * b[j * B.cs];
    }
  }
}

}  // namespace

void gemm_reserve_workspace() {
  workspace();
#pragma omp parallel
  workspace();
}

void gemm(int64_t M, int64_t N, int64_t K, float alpha, MatRef<float> A, MatRef<float> B,
          float beta, MatMut<float> C) {
  if (!prologue(M, N, K, alpha, beta, C)) return;
  orient(M, N, A, B, C);
  const int threads = team_size(2.0 * double(M) * double(N) * double(K));
  if (threads <= 1)
    gemm_serial(M, N, K, alpha, A, B, beta, C);
  else
    gemm_parallel(M, N, K, alpha, A, B, beta, C, threads);
}

void gemm(int64_t M, int64_t N, int64_t K, double alpha, MatRef<double> A, MatRef<double> B,
          double beta, MatMut<double> C) {
  gemm_f64(M, N, K, alpha, A, B, beta, C);
}

void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha, MatRef<float> A,
                  int64_t stride_a, MatRef<float> B, int64_t stride_b, float beta, MatMut<float> C,
                  int64_t stride_c) {
  if (batch <= 0) return;
  const Batch bt{M, N, K, alpha, A, stride_a, B, stride_b, beta, C, stride_c};
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const int threads = team_size(flops * double(batch));
  if (threads <= 1) {
    batch_range(bt, 0, batch);
  } else if (batch >= threads) {
    // Contiguous share of the batch per thread, each product single-threaded (no nested team).
#pragma omp parallel num_threads(threads)
    {
      const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
      batch_range(bt, id * batch / nt, (id + 1) * batch / nt);
    }
  } else {
    for (int64_t i = 0; i < batch; ++i)
      gemm(M, N, K, alpha, {A.data + i * stride_a, A.rs, A.cs}, {B.data + i * stride_b, B.rs, B.cs},
           beta, {C.data + i * stride_c, C.rs, C.cs});
  }
}

void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, double alpha, MatRef<double> A,
                  int64_t stride_a, MatRef<double> B, int64_t stride_b, double beta,
                  MatMut<double> C, int64_t stride_c) {
  for (int64_t i = 0; i < batch; ++i)
    gemm_f64(M, N, K, alpha, {A.data + i * stride_a, A.rs, A.cs},
             {B.data + i * stride_b, B.rs, B.cs}, beta, {C.data + i * stride_c, C.rs, C.cs});
}

}  // namespace titans
