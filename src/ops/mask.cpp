// masked_fill: `value` where an i32 mask (broadcast to x) is non-zero, x elsewhere; the gradient
// passes where the mask is zero. The common case — contiguous x and a mask covering x's trailing
// dimensions (a [T, T] causal mask over [B, H, T, T]) — is a flat loop with a periodic mask.
#include <algorithm>

#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "ops/reference.h"
#include "ops/strided.h"
#include "util/parallel.h"

namespace titans::ops {

namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save

// True when x and mask are contiguous and the mask's shape (leading 1s dropped) equals x's
// trailing dimensions: element i of x then pairs with mask element i % mask.numel().
bool periodic_mask(const Tensor& x, const Tensor& m) {
  if (!x.is_contiguous() || !m.is_contiguous()) return false;
  int lead = 0;
  while (lead < m.ndim() && m.shape.d[lead] == 1) ++lead;
  const int n = m.ndim() - lead;
  if (n > x.ndim()) return false;
  for (int i = 0; i < n; ++i)
    if (m.shape.d[lead + i] != x.shape.d[x.ndim() - n + i]) return false;
  return true;
}

// f(off, len, inner) for every innermost row of `shape`: off[k] is operand k's offset of the row's
// first element, inner[k] its stride along the row. Rows are independent, so threads split them.
template <int N, class F>
void for_each_row(const Shape& shape, const Strides (&st)[N], F&& f) {
  const int64_t total = shape.numel();
  if (total == 0) return;
  const int nd = shape.ndim;
  int64_t inner[N];
  for (int k = 0; k < N; ++k) inner[k] = nd == 0 ? 1 : st[k].s[nd - 1];
  const int64_t len = nd == 0 ? 1 : shape.d[nd - 1], rows = total / len;
  parallel_for(rows, total >= kParallelMin, [=](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off[N] = {};
      int64_t q = r;
      for (int i = nd - 2; i >= 0; --i) {
        const int64_t ix = q % shape.d[i];
        q /= shape.d[i];
        for (int k = 0; k < N; ++k) off[k] += ix * st[k].s[i];
      }
      f(off, len, inner);
    }
  });
}

}  // namespace

struct MaskedFillOp {
  static constexpr const char* name = "masked_fill";

  static Tensor forward(Graph& g, const Tensor& x, const Tensor& mask, double value) {
    TITANS_CHECK(mask.dtype == DType::i32, "masked_fill: mask must be i32");
    TITANS_CHECK(x.dtype == DType::f32 || x.dtype == DType::f64, "masked_fill: x must be float");
    Shape shape;
    TITANS_CHECK(broadcast_shapes(x.shape, mask.shape, &shape) && shape == x.shape,
                 "masked_fill: mask does not broadcast to x");
    const bool grad = g.needs_grad({&x});
    Tensor out = g.new_tensor(x.shape, x.dtype, grad);
    const int32_t* pm = mask.ptr<int32_t>();
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T v = T(value);
      const T* px = x.ptr<T>();
      T* o = out.ptr<T>();
      if (periodic_mask(x, mask)) {
        const int64_t M = mask.numel(), reps = M == 0 ? 0 : x.numel() / M;
        parallel_for(reps, x.numel() >= kParallelMin, [=](int64_t j0, int64_t j1) {
          for (int64_t j = j0; j < j1; ++j) {
            const T* xr = px + j * M;
            T* orow = o + j * M;
#pragma omp simd
            for (int64_t i = 0; i < M; ++i) orow[i] = pm[i] != 0 ? v : xr[i];
          }
        });
        return;
      }
      const Strides st[3] = {out.strides, x.strides, broadcast_strides(mask, x.shape)};
      for_each_row<3>(x.shape, st, [&](const int64_t* off, int64_t len, const int64_t* s) {
        T* orow = o + off[0];
        const T* xr = px + off[1];
        const int32_t* mr = pm + off[2];
        if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
          const T fill = v;  // a local: the captured one might alias orow, which blocks SIMD
#pragma omp simd
          for (int64_t i = 0; i < len; ++i) orow[i] = mr[i] != 0 ? fill : xr[i];
          return;
        }
        if (s[0] == 1 && s[1] == 1 && s[2] == 0) {  // one mask value for the whole row
          if (*mr != 0) std::fill(orow, orow + len, v);
          else std::copy(xr, xr + len, orow);
          return;
        }
        for (int64_t i = 0; i < len; ++i) orow[i * s[0]] = mr[i * s[2]] != 0 ? v : xr[i * s[1]];
      });
    });
    if (grad) g.record<MaskedFillOp>(out, {x, mask});
    return out;
  }

  static void backward(Graph&, const OpRecord& r) {
    const Tensor &x = r.in[0], &mask = r.in[1];
    if (!x.grad) return;
    const int32_t* pm = mask.ptr<int32_t>();
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      T* gx = x.gptr<T>();
      const T* gy = r.out.gptr<T>();
      if (periodic_mask(x, mask)) {
        const int64_t M = mask.numel(), reps = M == 0 ? 0 : x.numel() / M;
        parallel_for(reps, x.numel() >= kParallelMin, [=](int64_t j0, int64_t j1) {
          for (int64_t j = j0; j < j1; ++j) {
            T* g = gx + j * M;
            const T* gr = gy + j * M;
#pragma omp simd
            for (int64_t i = 0; i < M; ++i) g[i] += pm[i] != 0 ? T(0) : gr[i];
          }
        });
        return;
      }
      const Strides st[3] = {x.strides, r.out.strides, broadcast_strides(mask, x.shape)};
      for_each_row<3>(x.shape, st, [&](const int64_t* off, int64_t len, const int64_t* s) {
        T* g = gx + off[0];
        const T* gr = gy + off[1];
        const int32_t* mr = pm + off[2];
        if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
#pragma omp simd
          for (int64_t i = 0; i < len; ++i) g[i] += mr[i] != 0 ? T(0) : gr[i];
          return;
        }
        if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
          if (*mr == 0)
#pragma omp simd
            for (int64_t i = 0; i < len; ++i) g[i] += gr[i];
          return;
        }
        for (int64_t i = 0; i < len; ++i)
          if (mr[i * s[2]] == 0) g[i * s[0]] += gr[i * s[1]];
      });
    });
  }

  static std::vector<OpTest> tests();
};

namespace {

// transpose_x / transpose_mask: the input (2-D) is transposed before the op.
OpTest mask_case(const char* label, Shape x, Shape mask, double value, bool transpose_x = false,
                 bool transpose_mask = false) {
  OpTest c;
  c.label = label;
  c.inputs = {InputSpec::normal(x), InputSpec::mask(mask)};
  c.run = [=](Graph& g, const std::vector<Tensor>& in) {
    const Tensor xv = transpose_x ? transpose(g, in[0], 0, 1) : in[0];
    const Tensor mv = transpose_mask ? transpose(g, in[1], 0, 1) : in[1];
    return masked_fill(g, xv, mv, value);
  };
  c.reference = [=](const std::vector<HostArray>& in) {
    return reference_broadcast(transpose_x ? reference_transpose2d(in[0]) : in[0],
                               transpose_mask ? reference_transpose2d(in[1]) : in[1],
                               [=](double xv, double m) { return m != 0 ? value : xv; });
  };
  return c;
}

}  // namespace

std::vector<OpTest> MaskedFillOp::tests() {
  return {mask_case("[3,5] mask [3,5]", Shape{3, 5}, Shape{3, 5}, -1.5),
          // The attention pattern: one [T, T] mask over every batch and head.
          mask_case("[2,2,4,4] mask [4,4]", Shape{2, 2, 4, 4}, Shape{4, 4}, -2.5),
          mask_case("[2,3,4] mask [3,1]", Shape{2, 3, 4}, Shape{3, 1}, 0.0),
          // A per-batch padding mask: not periodic, but each row runs along the mask.
          mask_case("[2,3,4] mask [2,1,4]", Shape{2, 3, 4}, Shape{2, 1, 4}, -3.0),
          mask_case("[3,4] mask [1,4]", Shape{3, 4}, Shape{1, 4}, 0.75),
          mask_case("transpose([5,4]) mask [5]", Shape{5, 4}, Shape{5}, -1.0, true),
          mask_case("[3,4] mask transpose([4,3])", Shape{3, 4}, Shape{4, 3}, 2.0, false, true)};
}

Tensor masked_fill(Graph& g, const Tensor& x, const Tensor& mask, double value) {
  return MaskedFillOp::forward(g, x, mask, value);
}

Status register_masked_fill_op(OpRegistry& r) { return r.add<MaskedFillOp>(); }

}  // namespace titans::ops
