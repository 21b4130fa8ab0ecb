// Tests for tensor/gemm: the fp32 packed kernel against the fp64 loop, the fp64 loop against a
// direct triple loop, threading determinism, and the no-allocation guarantee.
//
// fp32 tolerance, per element: |C32 − C64| ≤ (K + 4) · 2⁻²⁴ · (|α|·(|A|·|B|) + |β|·|C0|), with the
// right-hand side computed in fp64. That is the worst-case bound for recursive (FMA) summation of
// K products (Higham's γ_K with unit roundoff 2⁻²⁴) plus a few roundings for α, β and the K-block
// accumulation through C; it is tight per element yet cannot fail on a correct kernel.
#include "tensor/gemm.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------------------------
// Counting replacements for every throwing, nothrow and aligned form of operator new / new[].
// malloc is not hooked; gemm.cpp uses neither (only std::aligned_alloc when a workspace is made).
namespace {
std::atomic<long> g_heap_allocations{0};

void* counted_alloc(std::size_t size, std::size_t align) {
  g_heap_allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  if (align <= alignof(std::max_align_t)) return std::malloc(size);
  return std::aligned_alloc(align, (size + align - 1) / align * align);
}
void* counted_alloc_or_throw(std::size_t size, std::size_t align) {
  void* p = counted_alloc(size, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc_or_throw(n, 0); }
void* operator new[](std::size_t n) { return counted_alloc_or_throw(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) {
  return counted_alloc_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return counted_alloc_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace titans {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kGuard = -12345.0f;  // fills padding and the tail, to catch stray writes
constexpr int64_t kTail = 40;        // guard elements after the last addressable one

// How a rows×cols operand is laid out: row-major, column-major (a transposed view), or with no
// unit stride at all (every other element of a padded buffer).
enum class Layout { kRow, kCol, kStrided };

const char* name(Layout l) {
  return l == Layout::kRow ? "row" : l == Layout::kCol ? "col" : "strided";
}

template <class T>
struct Mat {
  int64_t rows = 0, cols = 0, rs = 0, cs = 0;
  std::vector<T> buf;
  T& at(int64_t i, int64_t j) { return buf[i * rs + j * cs]; }
  T at(int64_t i, int64_t j) const { return buf[i * rs + j * cs]; }
  MatRef<T> ref() const { return {buf.data(), rs, cs}; }
  MatMut<T> mut() { return {buf.data(), rs, cs}; }
};

template <class T>
Mat<T> make(int64_t rows, int64_t cols, Layout l) {
  Mat<T> m;
  m.rows = rows;
  m.cols = cols;
  if (l == Layout::kRow) m.rs = cols, m.cs = 1;
  if (l == Layout::kCol) m.rs = 1, m.cs = rows;
  if (l == Layout::kStrided) m.rs = 2 * cols + 3, m.cs = 2;
  const int64_t extent = rows == 0 || cols == 0 ? 0 : (rows - 1) * m.rs + (cols - 1) * m.cs + 1;
  m.buf.assign(extent + kTail, T(kGuard));
  return m;
}

template <class T>
void fill_random(Mat<T>& m, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) m.at(i, j) = T(dist(rng));
}

template <class T>
void fill(Mat<T>& m, T v) {
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) m.at(i, j) = v;
}

Mat<double> to_f64_rowmajor(const Mat<float>& m) {
  Mat<double> d = make<double>(m.rows, m.cols, Layout::kRow);
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) d.at(i, j) = m.at(i, j);
  return d;
}

// Every element outside the matrix view (padding, tail) still holds the guard value.
bool guards_intact(const Mat<float>& m) {
  std::vector<char> inside(m.buf.size(), 0);
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) inside[i * m.rs + j * m.cs] = 1;
  for (size_t e = 0; e < m.buf.size(); ++e)
    if (!inside[e] && m.buf[e] != kGuard) return false;
  return true;
}

struct Case {
  int64_t M, N, K;
  Layout la, lb, lc;
  float alpha, beta;
  std::string str() const {
    return std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) +
           " A=" + name(la) + " B=" + name(lb) + " C=" + name(lc) +
           " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta);
  }
};

// Runs one fp32 product and checks it element-wise against the fp64 loop on the same inputs.
void check_f32_against_f64(const Case& c, std::mt19937& rng) {
  SCOPED_TRACE(c.str());
  Mat<float> A = make<float>(c.M, c.K, c.la), B = make<float>(c.K, c.N, c.lb);
  Mat<float> C = make<float>(c.M, c.N, c.lc);
  fill_random(A, rng);
  fill_random(B, rng);
  if (c.beta == 0.0f)
    fill(C, kNaN);  // must never be read
  else
    fill_random(C, rng);
  // The fp64 reference runs on row-major copies (same values; the loop is just faster that way),
  // once on the values and once on their magnitudes for |α|·|A|·|B| + |β|·|C0|.
  Mat<double> A64 = to_f64_rowmajor(A), B64 = to_f64_rowmajor(B), C64 = to_f64_rowmajor(C);
  if (c.beta == 0.0f) fill(C64, 0.0);
  Mat<double> Aabs = A64, Babs = B64, Cabs = C64;
  for (auto& v : Aabs.buf) v = std::fabs(v);
  for (auto& v : Babs.buf) v = std::fabs(v);
  for (auto& v : Cabs.buf) v = std::fabs(v);

  gemm(c.M, c.N, c.K, c.alpha, A.ref(), B.ref(), c.beta, C.mut());
  gemm(c.M, c.N, c.K, double(c.alpha), A64.ref(), B64.ref(), double(c.beta), C64.mut());
  gemm(c.M, c.N, c.K, std::fabs(double(c.alpha)), Aabs.ref(), Babs.ref(), std::fabs(double(c.beta)),
       Cabs.mut());

  const double u = std::ldexp(1.0, -24);
  int64_t bad = 0;
  double worst = 0.0;
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      const double diff = std::fabs(double(C.at(i, j)) - C64.at(i, j));
      const double tol = double(c.K + 4) * u * Cabs.at(i, j) + 1e-30;
      worst = std::max(worst, diff / tol);
      if (!(diff <= tol)) ++bad;  // also catches NaN
    }
  EXPECT_EQ(bad, 0) << "worst |diff|/tol = " << worst;
  EXPECT_TRUE(guards_intact(C)) << "write outside the C view";
}

const int64_t kShapes[][3] = {
    {1, 1, 1},    {3, 5, 7},    {13, 33, 17}, {16, 32, 64},  {64, 64, 64},  {127, 129, 131},
    {1000, 3, 5}, {3, 1000, 5}, {5, 3, 1000}, {12, 32, 256}, {25, 65, 300}, {1, 70, 1},
    {70, 1, 3},   {2, 2, 513},  {20, 50, 9},  {7, 31, 40},   {30, 17, 33}};
const Layout kLayouts[] = {Layout::kRow, Layout::kCol, Layout::kStrided};

TEST(GemmF32, MatchesF64AcrossShapesLayoutsAndScalars) {
  std::mt19937 rng(42);
  for (const auto& s : kShapes)
    for (Layout la : kLayouts)
      for (Layout lb : kLayouts)
        for (Layout lc : kLayouts)
          for (float beta : {0.0f, 1.0f, 0.5f})
            for (float alpha : {1.0f, 2.0f})
              check_f32_against_f64({s[0], s[1], s[2], la, lb, lc, alpha, beta}, rng);
}

TEST(GemmF32, Large512AllTranspositions) {
  std::mt19937 rng(7);
  const Layout rc[] = {Layout::kRow, Layout::kCol};
  for (Layout la : rc)
    for (Layout lb : rc)
      for (Layout lc : rc) check_f32_against_f64({512, 512, 512, la, lb, lc, 2.0f, 0.5f}, rng);
  check_f32_against_f64({512, 512, 512, Layout::kRow, Layout::kRow, Layout::kRow, 1.0f, 0.0f}, rng);
}

TEST(GemmF32, BlockEdges) {
  // Sizes straddling the cache blocks (KC, MC, NC) so every partial block is exercised.
  std::mt19937 rng(3);
  check_f32_against_f64({250, 2100, 70, Layout::kRow, Layout::kRow, Layout::kRow, 1.0f, 1.0f}, rng);
  check_f32_against_f64({490, 40, 600, Layout::kCol, Layout::kRow, Layout::kRow, 1.0f, 0.0f}, rng);
  check_f32_against_f64({37, 2080, 257, Layout::kRow, Layout::kCol, Layout::kCol, 2.0f, 0.5f}, rng);
}

TEST(GemmF32, EmptyDimensions) {
  std::mt19937 rng(5);
  for (float beta : {0.0f, 0.5f}) {
    // K == 0: C = beta·C (zeros for beta 0, even over NaN).
    Mat<float> C = make<float>(4, 5, Layout::kRow);
    Mat<float> A = make<float>(4, 0, Layout::kRow), B = make<float>(0, 5, Layout::kRow);
    if (beta == 0.0f)
      fill(C, kNaN);
    else
      fill(C, 3.0f);
    gemm(4, 5, 0, 1.0f, A.ref(), B.ref(), beta, C.mut());
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(C.at(i, j), beta == 0.0f ? 0.0f : 1.5f);
  }
  // M == 0 or N == 0: nothing is touched.
  Mat<float> A = make<float>(3, 3, Layout::kRow), B = make<float>(3, 3, Layout::kRow);
  Mat<float> C = make<float>(3, 3, Layout::kRow);
  fill(C, 9.0f);
  gemm(0, 3, 3, 1.0f, A.ref(), B.ref(), 0.0f, C.mut());
  gemm(3, 0, 3, 1.0f, A.ref(), B.ref(), 0.0f, C.mut());
  for (float v : C.buf) EXPECT_TRUE(v == 9.0f || v == kGuard);
}

TEST(GemmF32, AlphaZeroSkipsTheProduct) {
  // As in BLAS: alpha == 0 means C = beta·C and A, B are not read (NaN there does not leak).
  Mat<float> A = make<float>(5, 6, Layout::kRow), B = make<float>(6, 7, Layout::kRow);
  Mat<float> C = make<float>(5, 7, Layout::kRow);
  fill(A, kNaN);
  fill(B, kNaN);
  fill(C, 2.0f);
  gemm(5, 7, 6, 0.0f, A.ref(), B.ref(), 0.5f, C.mut());
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 7; ++j) EXPECT_EQ(C.at(i, j), 1.0f);
}

// Batched: `batch` operands back to back (B shared with stride 0 or not), each product checked.
void check_batched(int64_t batch, int64_t M, int64_t N, int64_t K, bool share_b, float beta,
                   std::mt19937& rng) {
  SCOPED_TRACE("batch " + std::to_string(batch) + " " + std::to_string(M) + "x" +
               std::to_string(N) + "x" + std::to_string(K) + (share_b ? " shared B" : ""));
  const int64_t sa = M * K + 5, sb = share_b ? 0 : K * N + 3, sc = M * N + 7;
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> A(batch * sa), B(share_b ? K * N : batch * sb), C(batch * sc);
  for (float& v : A) v = dist(rng);
  for (float& v : B) v = dist(rng);
  for (float& v : C) v = beta == 0.0f ? kNaN : dist(rng);
  const std::vector<float> C0 = C;
  std::vector<double> A64(A.begin(), A.end()), B64(B.begin(), B.end()), C64(C.begin(), C.end());
  // A row-major, B column-major (a transposed weight), C row-major.
  gemm_batched(batch, M, N, K, 2.0f, {A.data(), K, 1}, sa, {B.data(), 1, K}, sb, beta,
               {C.data(), N, 1}, sc);
  gemm_batched(batch, M, N, K, 2.0, {A64.data(), K, 1}, sa, {B64.data(), 1, K}, sb, double(beta),
               {C64.data(), N, 1}, sc);
  const double u = std::ldexp(1.0, -24);
  int64_t bad = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        // |α|·|A|·|B| + |β|·|C0| for this element, as in check_f32_against_f64.
        double scale = beta == 0.0f ? 0.0 : std::fabs(double(beta) * C0[b * sc + i * N + j]);
        for (int64_t p = 0; p < K; ++p)
          scale += 2.0 * std::fabs(double(A[b * sa + i * K + p]) * B[b * sb + j * K + p]);
        const double diff = std::fabs(double(C[b * sc + i * N + j]) - C64[b * sc + i * N + j]);
        if (!(diff <= double(K + 4) * u * scale + 1e-30)) ++bad;
      }
  EXPECT_EQ(bad, 0);
}

TEST(GemmF32, Batched) {
  std::mt19937 rng(11);
  for (int64_t batch : {1, 2, 7, 64})
    for (bool share_b : {false, true})
      for (float beta : {0.0f, 1.0f}) {
        check_batched(batch, 13, 33, 17, share_b, beta, rng);
        check_batched(batch, 16, 32, 64, share_b, beta, rng);
      }
  // Large products: split over the batch (3 >= threads) or inside the product (batch 1).
  check_batched(3, 200, 150, 100, true, 0.5f, rng);
  check_batched(1, 200, 150, 100, false, 1.0f, rng);
}

// The same inputs give bit-identical results run to run and for 1 or 2 threads (threads split
// only M and N, so each element's summation order never changes).
TEST(GemmF32, DeterministicAcrossRunsAndThreadCounts) {
  std::mt19937 rng(13);
  const int64_t M = 300, N = 700, K = 200;  // big enough to take the parallel path
  Mat<float> A = make<float>(M, K, Layout::kRow), B = make<float>(K, N, Layout::kCol);
  fill_random(A, rng);
  fill_random(B, rng);
  const int saved = omp_get_max_threads();
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 2, 1}) {
    omp_set_num_threads(threads);
    Mat<float> C = make<float>(M, N, Layout::kRow);
    fill(C, 1.0f);
    gemm(M, N, K, 1.0f, A.ref(), B.ref(), 0.25f, C.mut());
    results.push_back(C.buf);
  }
  // Batched, parallel over the batch (2.8 Mflop in all, above the threading threshold) vs not.
  const int64_t batch = 9, m = 40, n = 64, k = 60;
  std::vector<float> a(batch * m * k), b(k * n);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : a) v = dist(rng);
  for (float& v : b) v = dist(rng);
  std::vector<std::vector<float>> batched;
  for (int threads : {1, 2, 2}) {
    omp_set_num_threads(threads);
    std::vector<float> c(batch * m * n, kNaN);
    gemm_batched(batch, m, n, k, 1.0f, {a.data(), k, 1}, m * k, {b.data(), n, 1}, 0, 0.0f,
                 {c.data(), n, 1}, m * n);
    batched.push_back(c);
  }
  omp_set_num_threads(saved);
  for (size_t r = 1; r < results.size(); ++r) EXPECT_TRUE(results[r] == results[0]) << "run " << r;
  for (size_t r = 1; r < batched.size(); ++r) EXPECT_TRUE(batched[r] == batched[0]) << "run " << r;
}

// Inside a caller's parallel region each thread runs its own product single-threaded.
TEST(GemmF32, CallableFromParallelRegion) {
  std::mt19937 rng(17);
  const int64_t M = 150, N = 160, K = 170;
  Mat<float> A = make<float>(M, K, Layout::kRow), B = make<float>(K, N, Layout::kRow);
  fill_random(A, rng);
  fill_random(B, rng);
  Mat<float> ref = make<float>(M, N, Layout::kRow);
  gemm(M, N, K, 1.0f, A.ref(), B.ref(), 0.0f, ref.mut());
  std::vector<Mat<float>> outs(4, make<float>(M, N, Layout::kRow));
#pragma omp parallel for num_threads(2)
  for (int t = 0; t < 4; ++t) gemm(M, N, K, 1.0f, A.ref(), B.ref(), 0.0f, outs[t].mut());
  for (const auto& o : outs) EXPECT_TRUE(o.buf == ref.buf);
}

// ---------------------------------------------------------------------------------------------
// fp64: the reference loop against a direct triple loop.
TEST(GemmF64, MatchesTripleLoop) {
  std::mt19937 rng(19);
  for (const auto& s : {std::array<int64_t, 3>{1, 1, 1}, {3, 5, 7}, {13, 33, 17}, {8, 1, 20}})
    for (Layout la : kLayouts)
      for (Layout lb : kLayouts)
        for (Layout lc : kLayouts)
          for (double beta : {0.0, 1.0, 0.5}) {
            const int64_t M = s[0], N = s[1], K = s[2];
            Mat<double> A = make<double>(M, K, la), B = make<double>(K, N, lb);
            Mat<double> C = make<double>(M, N, lc);
            fill_random(A, rng);
            fill_random(B, rng);
            if (beta == 0.0)
              fill(C, double(kNaN));
            else
              fill_random(C, rng);
            Mat<double> expect = C;
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j) {
                double acc = 0.0;
                for (int64_t p = 0; p < K; ++p) acc += A.at(i, p) * B.at(p, j);
                expect.at(i, j) = 2.0 * acc + (beta == 0.0 ? 0.0 : beta * C.at(i, j));
              }
            gemm(M, N, K, 2.0, A.ref(), B.ref(), beta, C.mut());
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j)
                EXPECT_NEAR(C.at(i, j), expect.at(i, j),
                            1e-12 * (1.0 + std::fabs(expect.at(i, j))));
          }
}

TEST(GemmF64, BatchedMatchesSingleProducts) {
  std::mt19937 rng(23);
  const int64_t batch = 5, M = 6, N = 7, K = 8;
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> A(batch * M * K), B(K * N), C(batch * M * N), D(batch * M * N);
  for (double& v : A) v = dist(rng);
  for (double& v : B) v = dist(rng);
  for (size_t e = 0; e < C.size(); ++e) C[e] = D[e] = dist(rng);
  gemm_batched(batch, M, N, K, 1.5, {A.data(), K, 1}, M * K, {B.data(), N, 1}, 0, 0.5,
               {C.data(), N, 1}, M * N);
  for (int64_t b = 0; b < batch; ++b)
    gemm(M, N, K, 1.5, {A.data() + b * M * K, K, 1}, {B.data(), N, 1}, 0.5,
         {D.data() + b * M * N, N, 1});
  EXPECT_TRUE(C == D);
}

// ---------------------------------------------------------------------------------------------
// After warm-up, fp32 calls (small, large/parallel, batched) make no heap allocation.
TEST(GemmF32, NoHeapAllocationAfterWarmUp) {
  gemm_reserve_workspace();
  std::vector<float> A(200 * 300, 0.5f), B(300 * 250, 0.25f), C(200 * 250, 0.0f);
  auto run = [&] {
    gemm(16, 32, 64, 1.0f, {A.data(), 64, 1}, {B.data(), 32, 1}, 0.0f, {C.data(), 32, 1});
    gemm(1, 1, 1, 1.0f, {A.data(), 1, 1}, {B.data(), 1, 1}, 1.0f, {C.data(), 1, 1});
    gemm(200, 250, 300, 1.0f, {A.data(), 1, 200}, {B.data(), 250, 1}, 0.5f, {C.data(), 250, 1});
    gemm_batched(16, 40, 50, 60, 1.0f, {A.data(), 60, 1}, 2400, {B.data(), 1, 60}, 0, 0.0f,
                 {C.data(), 50, 1}, 2000);
  };
  run();  // warm-up: workspaces and the OpenMP team exist from here on
  const long before = g_heap_allocations.load();
  for (int i = 0; i < 100; ++i) run();
  const long after = g_heap_allocations.load();
  EXPECT_EQ(after - before, 0);
}

}  // namespace
}  // namespace titans
