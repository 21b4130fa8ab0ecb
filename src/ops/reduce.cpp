// Reductions over one axis: sum and mean. The input is made contiguous and read as
// [outer, n, inner] (n the reduced axis), so one kernel serves every axis.
#include <algorithm>
#include <string>

#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "ops/reference.h"
#include "util/parallel.h"

namespace titans::ops {

namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save
constexpr int64_t kBlock = 256;            // inner columns per task when the axis is not the last

struct Geometry {
  int64_t outer = 1, n = 1, inner = 1;
};

Geometry geometry(const Shape& s, int axis) {
  Geometry gm;
  for (int i = 0; i < s.ndim; ++i) {
    if (i < axis) gm.outer *= s.d[i];
    else if (i == axis) gm.n = s.d[i];
    else gm.inner *= s.d[i];
  }
  return gm;
}

// out[o, i] = scale · Σ_k x[o, k, i]; each output is summed in a fixed order by one thread.
template <class T>
void reduce_forward(const T* x, T* out, const Geometry& gm, T scale) {
  const bool par = gm.outer * gm.n * gm.inner >= kParallelMin;
  const int64_t n = gm.n, inner = gm.inner;
  if (inner == 1) {
    parallel_for(gm.outer, par, [=](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        const T* row = x + o * n;
        T s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < n; ++k) s += row[k];
        out[o] = s * scale;
      }
    });
    return;
  }
  // Column blocks: contiguous vector loads along `inner`, and parallel work even when outer is 1.
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_for(gm.outer * blocks, par, [=](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / blocks, i0 = (t % blocks) * kBlock, len = std::min(kBlock, inner - i0);
      T* dst = out + o * inner + i0;
      const T* src = x + o * n * inner + i0;
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) dst[i] = 0;
      for (int64_t k = 0; k < n; ++k) {
        const T* s = src + k * inner;
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) dst[i] += s[i];
      }
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) dst[i] *= scale;
    }
  });
}

template <class Def>
struct ReduceOp {
  static constexpr const char* name = Def::name;
  struct Attrs {
    int axis;
  };

  static Tensor forward(Graph& g, const Tensor& x_in, int axis, bool keepdim) {
    axis = normalize_axis(axis, x_in.ndim());
    TITANS_CHECK(axis >= 0 && axis < x_in.ndim(), "reduction axis out of range");
    const Tensor x = contiguous(g, x_in);
    Shape shape;
    for (int i = 0; i < x.ndim(); ++i) {
      if (i != axis) shape.d[shape.ndim++] = x.shape.d[i];
      else if (keepdim) shape.d[shape.ndim++] = 1;
    }
    const Geometry gm = geometry(x.shape, axis);
    const bool grad = g.needs_grad({&x});
    Tensor out = g.new_tensor(shape, x.dtype, grad);
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      reduce_forward<T>(x.ptr<T>(), out.ptr<T>(), gm, T(Def::scale(gm.n)));
    });
    if (grad) g.record<ReduceOp>(out, {x}, Attrs{axis});
    return out;
  }

  // dx[o, k, i] += scale · dout[o, i]
  static void backward(Graph&, const OpRecord& r) {
    const Tensor& x = r.in[0];
    if (!x.grad) return;
    const Geometry gm = geometry(x.shape, r.attr<Attrs>().axis);
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T scale = T(Def::scale(gm.n));
      T* gx = x.gptr<T>();
      const T* go = r.out.gptr<T>();
      const int64_t n = gm.n, inner = gm.inner;
      const bool par = gm.outer * n * inner >= kParallelMin;
      if (inner == 1) {  // reduced over the last axis: broadcast one value along each row
        parallel_for(gm.outer, par, [=](int64_t o0, int64_t o1) {
          for (int64_t o = o0; o < o1; ++o) {
            T* dst = gx + o * n;
            const T v = scale * go[o];
#pragma omp simd
            for (int64_t k = 0; k < n; ++k) dst[k] += v;
          }
        });
        return;
      }
      parallel_for(gm.outer * n, par, [=](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {  // r = o · n + k
          T* dst = gx + r * inner;
          const T* src = go + r / n * inner;
#pragma omp simd
          for (int64_t i = 0; i < inner; ++i) dst[i] += scale * src[i];
        }
      });
    });
  }

  // Plain reference: every input element added into the output cell its index maps to.
  static HostArray reference(const HostArray& x, int axis, bool keepdim) {
    axis = normalize_axis(axis, x.shape.ndim);
    HostArray out;
    for (int i = 0; i < x.shape.ndim; ++i) {
      if (i != axis) out.shape.d[out.shape.ndim++] = x.shape.d[i];
      else if (keepdim) out.shape.d[out.shape.ndim++] = 1;
    }
    out.v.assign(size_t(out.shape.numel()), 0.0);
    for_each_index(x.shape, [&](const int64_t* idx, int64_t linear) {
      int64_t o = 0;
      for (int i = 0; i < x.shape.ndim; ++i) {
        if (i == axis) continue;
        o = o * x.shape.d[i] + idx[i];
      }
      out.v[size_t(o)] += x.v[size_t(linear)];
    });
    if (Def::is_mean)
      for (double& v : out.v) v /= double(x.shape.d[axis]);
    return out;
  }

  static std::vector<OpTest> tests() {
    std::vector<OpTest> t;
    auto add = [&](Shape s, int axis, bool keepdim, bool transposed) {
      OpTest c;
      c.label = transposed ? std::string("transpose(").append(s.str()).append(")") : s.str();
      c.label.append(" axis ").append(std::to_string(axis)).append(keepdim ? " keepdim" : "");
      c.inputs = {InputSpec::normal(s)};
      c.run = [=](Graph& g, const std::vector<Tensor>& in) {
        const Tensor x = transposed ? transpose(g, in[0], 0, 1) : in[0];
        return Def::call(g, x, axis, keepdim);
      };
      c.reference = [=](const std::vector<HostArray>& in) {
        return reference(transposed ? reference_transpose2d(in[0]) : in[0], axis, keepdim);
      };
      t.push_back(std::move(c));
    };
    add(Shape{3, 5}, 1, false, false);
    add(Shape{2, 3, 4}, 1, true, false);
    add(Shape{2, 3, 4}, 0, false, false);
    add(Shape{4, 17}, -1, false, false);  // a row not a multiple of the vector width
    add(Shape{1, 7}, 1, false, false);    // one row
    add(Shape{7}, 0, false, false);       // to a scalar
    add(Shape{5, 3}, 1, true, true);      // strided input
    add(Shape{6, 19}, 0, false, true);
    return t;
  }
};

struct SumDef {
  static constexpr const char* name = "sum";
  static constexpr bool is_mean = false;
  static double scale(int64_t) { return 1.0; }
  static Tensor call(Graph& g, const Tensor& x, int axis, bool keepdim) {
    return sum(g, x, axis, keepdim);
  }
};
struct MeanDef {
  static constexpr const char* name = "mean";
  static constexpr bool is_mean = true;
  static double scale(int64_t n) { return 1.0 / double(n); }
  static Tensor call(Graph& g, const Tensor& x, int axis, bool keepdim) {
    return mean(g, x, axis, keepdim);
  }
};

using SumOp = ReduceOp<SumDef>;
using MeanOp = ReduceOp<MeanDef>;

}  // namespace

Tensor sum(Graph& g, const Tensor& x, int axis, bool keepdim) {
  return SumOp::forward(g, x, axis, keepdim);
}
Tensor mean(Graph& g, const Tensor& x, int axis, bool keepdim) {
  return MeanOp::forward(g, x, axis, keepdim);
}

Status register_reduce_ops(OpRegistry& r) {
  for (Status s : {r.add<SumOp>(), r.add<MeanOp>()})
    if (!s.ok()) return s;
  return {};
}

}  // namespace titans::ops
