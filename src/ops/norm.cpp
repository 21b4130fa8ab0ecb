// Row normalisations over the last axis with hand-written backwards: rmsnorm (times a learned
// per-channel weight) and l2norm. One kernel serves both: y = x · r · w with
// r = 1/sqrt(Σx² · inv_d + eps) (inv_d = 1/D for rmsnorm, 1 for l2norm; w = 1 for l2norm).
// The forward saves r per row for the backward.
#include <algorithm>
#include <cmath>
#include <string>

#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "ops/reference.h"
#include "util/parallel.h"

namespace titans::ops {

namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save
// Row blocks of the backward, each with its own weight-gradient partial. A count that does not
// depend on the number of threads keeps dweight bitwise the same on any machine.
constexpr int64_t kMaxBlocks = 64;

struct NormAttrs {
  const void* rinv;  // T[rows]: 1/sqrt(Σx² · inv_d + eps)
  double inv_d;
};

template <class T, bool kWeight>
void norm_forward(const T* x, const T* w, T* y, T* rinv, int64_t rows, int64_t D, T inv_d, T eps) {
  parallel_for(rows, rows * D >= kParallelMin, [=](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* xr = x + i * D;
      T* yr = y + i * D;
      T ss = 0;
#pragma omp simd reduction(+ : ss)
      for (int64_t j = 0; j < D; ++j) ss += xr[j] * xr[j];
      const T r = T(1) / std::sqrt(ss * inv_d + eps);
      rinv[i] = r;
      if constexpr (kWeight) {
#pragma omp simd
        for (int64_t j = 0; j < D; ++j) yr[j] = xr[j] * r * w[j];
      } else {
#pragma omp simd
        for (int64_t j = 0; j < D; ++j) yr[j] = xr[j] * r;
      }
    }
  });
}

// With u = dy ⊙ w:  dx = r·u − r³·inv_d·⟨u, x⟩·x  and  dw = Σ_rows dy ⊙ x · r.
// gx and gw may be null (no gradient wanted there).
template <class T, bool kWeight>
void norm_backward(Graph& g, const T* x, const T* w, const T* gy, const T* rinv, T* gx, T* gw,
                   int64_t rows, int64_t D, T inv_d) {
  const int64_t blocks = rows * D >= kParallelMin ? std::min(rows, kMaxBlocks) : 1;
  // One block accumulates straight into gw; several write partials, summed below in block order.
  T* partial = kWeight && gw && blocks > 1 ? g.scratch<T>(blocks * D) : nullptr;
  parallel_for(blocks, blocks > 1, [=](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      T* gwb = partial ? partial + b * D : gw;
      if (partial) std::fill(gwb, gwb + D, T(0));
      for (int64_t i = rows * b / blocks; i < rows * (b + 1) / blocks; ++i) {
        const T* xr = x + i * D;
        const T* gyr = gy + i * D;
        const T r = rinv[i];
        if (gx) {
          T* gxr = gx + i * D;
          T dot = 0;
          if constexpr (kWeight) {
#pragma omp simd reduction(+ : dot)
            for (int64_t j = 0; j < D; ++j) dot += gyr[j] * w[j] * xr[j];
            const T c = r * r * r * inv_d * dot;
#pragma omp simd
            for (int64_t j = 0; j < D; ++j) gxr[j] += r * gyr[j] * w[j] - c * xr[j];
          } else {
#pragma omp simd reduction(+ : dot)
            for (int64_t j = 0; j < D; ++j) dot += gyr[j] * xr[j];
            const T c = r * r * r * inv_d * dot;
#pragma omp simd
            for (int64_t j = 0; j < D; ++j) gxr[j] += r * gyr[j] - c * xr[j];
          }
        }
        if (kWeight && gwb) {
#pragma omp simd
          for (int64_t j = 0; j < D; ++j) gwb[j] += gyr[j] * xr[j] * r;
        }
      }
    }
  });
  if (partial)
    for (int64_t b = 0; b < blocks; ++b) {
      const T* p = partial + b * D;
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) gw[j] += p[j];
    }
}

// Forward of either op; `weight` is null for l2norm.
template <class Op>
Tensor norm(Graph& g, const Tensor& x_in, const Tensor* weight_in, double eps, double inv_d) {
  TITANS_CHECK(x_in.ndim() >= 1 && x_in.shape.back() > 0, "norm of an empty last axis");
  const Tensor x = contiguous(g, x_in);
  const int64_t rows = x.shape.rows(), D = x.shape.back();
  Tensor w;
  if (weight_in) {
    TITANS_CHECK(weight_in->ndim() == 1 && weight_in->shape[0] == D && weight_in->dtype == x.dtype,
                 "rmsnorm: weight must be [D] of x's dtype");
    w = contiguous(g, *weight_in);
  }
  const bool grad = weight_in ? g.needs_grad({&x, &w}) : g.needs_grad({&x});
  Tensor out = g.new_tensor(x.shape, x.dtype, grad);
  void* rinv_mem = nullptr;
  dispatch_float(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    T* rinv = g.scratch<T>(rows);
    rinv_mem = rinv;
    if (weight_in)
      norm_forward<T, true>(x.ptr<T>(), w.ptr<T>(), out.ptr<T>(), rinv, rows, D, T(inv_d), T(eps));
    else
      norm_forward<T, false>(x.ptr<T>(), nullptr, out.ptr<T>(), rinv, rows, D, T(inv_d), T(eps));
  });
  if (grad) {
    if (weight_in) g.record<Op>(out, {x, w}, NormAttrs{rinv_mem, inv_d});
    else g.record<Op>(out, {x}, NormAttrs{rinv_mem, inv_d});
  }
  return out;
}

template <bool kWeight>
void norm_backward_record(Graph& g, const OpRecord& r) {
  const Tensor& x = r.in[0];
  const Tensor* w = kWeight ? &r.in[1] : nullptr;
  if (!x.grad && !(w && w->grad)) return;
  const NormAttrs& a = r.attr<NormAttrs>();
  dispatch_float(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    norm_backward<T, kWeight>(g, x.ptr<T>(), w ? w->ptr<T>() : nullptr, r.out.gptr<T>(),
                              static_cast<const T*>(a.rinv), x.gptr<T>(), w ? w->gptr<T>() : nullptr,
                              x.shape.rows(), x.shape.back(), T(a.inv_d));
  });
}

// Test cases shared by both ops.
struct NormCase {
  Shape x;  // stored shape; with `transposed` the op sees its 2-d transpose
  bool transposed;
  double eps;
};

std::string case_label(const NormCase& c) {
  std::string s = c.transposed ? std::string("transpose(").append(c.x.str()).append(")") : c.x.str();
  if (c.eps != 1e-6) s.append(" eps ").append(std::to_string(c.eps));
  return s;
}

const NormCase kCases[] = {{Shape{4, 8}, false, 1e-6},    {Shape{1, 17}, false, 1e-6},
                           {Shape{2, 3, 5}, false, 1e-6}, {Shape{6, 4}, true, 1e-6},
                           {Shape{3, 40}, false, 1e-6},   {Shape{3, 7}, false, 0.5}};

// The shared table: rmsnorm (with_weight) scales each row by 1/sqrt(mean(x²) + eps) and by the
// weight, l2norm by 1/sqrt(sum(x²) + eps); the reference computes that plainly per row.
std::vector<OpTest> norm_tests(bool with_weight) {
  std::vector<OpTest> t;
  for (const NormCase& nc : kCases) {
    const int64_t D = nc.transposed ? nc.x[0] : nc.x.back();
    OpTest c;
    c.label = case_label(nc);
    c.inputs = {InputSpec::normal(nc.x)};
    if (with_weight) c.inputs.push_back(InputSpec::normal(Shape{D}));
    c.run = [nc, with_weight](Graph& g, const std::vector<Tensor>& in) {
      const Tensor x = nc.transposed ? transpose(g, in[0], 0, 1) : in[0];
      return with_weight ? rmsnorm(g, x, in[1], nc.eps) : l2norm(g, x, nc.eps);
    };
    c.reference = [nc, D, with_weight](const std::vector<HostArray>& in) {
      HostArray y = nc.transposed ? reference_transpose2d(in[0]) : in[0];
      for (int64_t i = 0; i < y.numel() / D; ++i) {
        double ss = 0;
        for (int64_t j = 0; j < D; ++j) ss += y.v[size_t(i * D + j)] * y.v[size_t(i * D + j)];
        if (with_weight) ss /= double(D);
        for (int64_t j = 0; j < D; ++j) {
          y.v[size_t(i * D + j)] /= std::sqrt(ss + nc.eps);
          if (with_weight) y.v[size_t(i * D + j)] *= in[1].v[size_t(j)];
        }
      }
      return y;
    };
    t.push_back(std::move(c));
  }
  return t;
}

struct RmsNormOp {
  static constexpr const char* name = "rmsnorm";
  static void backward(Graph& g, const OpRecord& r) { norm_backward_record<true>(g, r); }
  static std::vector<OpTest> tests() { return norm_tests(true); }
};

struct L2NormOp {
  static constexpr const char* name = "l2norm";
  static void backward(Graph& g, const OpRecord& r) { norm_backward_record<false>(g, r); }
  static std::vector<OpTest> tests() { return norm_tests(false); }
};

}  // namespace

Tensor rmsnorm(Graph& g, const Tensor& x, const Tensor& weight, double eps) {
  TITANS_CHECK(x.ndim() >= 1 && x.shape.back() > 0, "rmsnorm of an empty last axis");
  return norm<RmsNormOp>(g, x, &weight, eps, 1.0 / double(x.shape.back()));
}
Tensor l2norm(Graph& g, const Tensor& x, double eps) { return norm<L2NormOp>(g, x, nullptr, eps, 1.0); }

Status register_norm_ops(OpRegistry& r) {
  for (Status s : {r.add<RmsNormOp>(), r.add<L2NormOp>()})
    if (!s.ok()) return s;
  return {};
}

}  // namespace titans::ops
