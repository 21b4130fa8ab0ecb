// Ops for the neural long-term memory (src/memory/).
//
// tri_cumprod: the in-chunk decay products of the Titans chunked update (§3.2, spec §4):
// P[..., i, j] = Π_{k=j+1..i} g[..., k] for i ≥ j (1 on the diagonal), 0 for i < j. Each column runs
// the recurrence P_ij = g_i P_{i−1,j}: products only, no division of cumulative products (Eq. 16's
// β_t/β_i overflows for long chunks), and the backward needs no division either (gates may be 0).
#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "ops/reference.h"
#include "tensor/index_iter.h"

namespace titans::ops {

struct TriCumprodOp {
  static constexpr const char* name = "tri_cumprod";

  // The input as contiguous rows [R, b] (any strides).
  template <class T>
  static T* gather(Graph& g, const Tensor& x) {
    T* rows = g.scratch<T>(x.numel());
    for_each_index(x.shape, [&](const int64_t* idx, int64_t linear) {
      rows[linear] = x.ptr<T>()[element_offset(x, idx)];
    });
    return rows;
  }

  template <class T>
  static void forward_rows(const T* gv, int64_t R, int64_t b, T* out) {
    for (int64_t r = 0; r < R; ++r) {
      const T* gr = gv + r * b;
      T* P = out + r * b * b;
      for (int64_t i = 0; i < b; ++i)
        for (int64_t j = 0; j < b; ++j)
          P[i * b + j] = j > i ? T(0) : j == i ? T(1) : gr[i] * P[(i - 1) * b + j];
    }
  }

  static Tensor forward(Graph& g, const Tensor& x) {
    TITANS_CHECK(x.ndim() >= 1 && x.ndim() < kMaxDims, "tri_cumprod: x [..., b]");
    TITANS_CHECK(x.dtype == DType::f32 || x.dtype == DType::f64, "tri_cumprod: float x");
    const int64_t b = x.shape.back(), R = x.shape.rows();
    Shape shape = x.shape;
    shape.d[shape.ndim++] = b;
    const bool grad = g.needs_grad({&x});
    Tensor out = g.new_tensor(shape, x.dtype, grad);
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      forward_rows<T>(gather<T>(g, x), R, b, out.ptr<T>());
    });
    if (grad) g.record<TriCumprodOp>(out, {x});
    return out;
  }

  // ∂P_{i'j}/∂g_i = P_{i−1,j} Π_{m=i+1..i'} g_m (j < i ≤ i'), so per column j
  // dg_i += P_{i−1,j} s_i with s_i = gP_ij + g_{i+1} s_{i+1} (a reverse recurrence, no division).
  static void backward(Graph& g, const OpRecord& r) {
    const Tensor& x = r.in[0];
    if (!x.grad) return;
    const int64_t b = x.shape.back(), R = x.shape.rows();
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* gv = gather<T>(g, x);
      const T* P = r.out.ptr<T>();
      const T* gP = r.out.gptr<T>();
      T* dg = g.scratch<T>(R * b);
      for (int64_t row = 0; row < R; ++row) {
        const T* gr = gv + row * b;
        const T* Pr = P + row * b * b;
        const T* gPr = gP + row * b * b;
        T* d = dg + row * b;
        for (int64_t i = 0; i < b; ++i) d[i] = T(0);
        for (int64_t j = 0; j + 1 < b; ++j) {
          T s = T(0);
          for (int64_t i = b - 1; i > j; --i) {
            s = gPr[i * b + j] + (i + 1 < b ? gr[i + 1] * s : T(0));
            d[i] += Pr[(i - 1) * b + j] * s;
          }
        }
      }
      for_each_index(x.shape, [&](const int64_t* idx, int64_t linear) {
        x.gptr<T>()[element_offset(x, idx)] += dg[linear];
      });
    });
  }

  static std::vector<OpTest> tests();
};

namespace {

HostArray reference_tri_cumprod(const HostArray& x) {
  const int64_t b = x.shape.back(), R = x.shape.rows();
  HostArray out;
  out.shape = x.shape;
  out.shape.d[out.shape.ndim++] = b;
  out.v.assign(size_t(R * b * b), 0.0);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j <= i; ++j) {
        double p = 1.0;
        for (int64_t k = j + 1; k <= i; ++k) p *= x.v[size_t(r * b + k)];
        out.v[size_t((r * b + i) * b + j)] = p;
      }
  return out;
}

OpTest tri_case(const char* label, Shape s, bool transposed = false) {
  OpTest c;
  c.label = label;
  c.inputs = {InputSpec::normal(s)};
  c.run = [=](Graph& g, const std::vector<Tensor>& in) {
    return tri_cumprod(g, transposed ? transpose(g, in[0], 0, 1) : in[0]);
  };
  c.reference = [=](const std::vector<HostArray>& in) {
    return reference_tri_cumprod(transposed ? reference_transpose2d(in[0]) : in[0]);
  };
  return c;
}

}  // namespace

std::vector<OpTest> TriCumprodOp::tests() {
  return {tri_case("[5]", Shape{5}), tri_case("[1]", Shape{1}), tri_case("[2,3,7]", Shape{2, 3, 7}),
          tri_case("transpose([6,3])", Shape{6, 3}, true)};
}

Tensor tri_cumprod(Graph& g, const Tensor& x) { return TriCumprodOp::forward(g, x); }

Status register_memory_ops(OpRegistry& r) {
  if (Status s = r.add<TriCumprodOp>(); !s.ok()) return s;
  return register_memory_loop_op(r);
}

}  // namespace titans::ops
