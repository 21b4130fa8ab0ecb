// Shape ops. transpose, slice and reshape (of a contiguous tensor) are views: they share data and
// gradient storage with their input, so their backward is empty — gradients written through the
// view land in the base's gradient. contiguous and concat copy, and their backward copies back.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "ops/reference.h"
#include "ops/strided.h"

namespace titans::ops {

namespace {

// dst (+)= src elementwise over src's shape, both strided (same shape).
template <class T>
void copy_strided(const Tensor& src, const T* s, const Tensor& dst, T* d, bool accumulate) {
  T* base[2] = {d, const_cast<T*>(s)};
  const Strides st[2] = {dst.strides, src.strides};
  strided_loop<T, 2>(src.shape, base, st, [&](int64_t len, T* const* p, const int64_t* str) {
    if (accumulate)
      for (int64_t i = 0; i < len; ++i) p[0][i * str[0]] += p[1][i * str[1]];
    else
      for (int64_t i = 0; i < len; ++i) p[0][i * str[0]] = p[1][i * str[1]];
  });
}

OpTest view_case(const char* label, Shape in, std::function<Tensor(Graph&, const Tensor&)> run,
                 std::function<HostArray(const HostArray&)> ref) {
  OpTest c;
  c.label = label;
  c.inputs = {InputSpec::normal(in)};
  c.run = [run](Graph& g, const std::vector<Tensor>& x) { return run(g, x[0]); };
  c.reference = [ref](const std::vector<HostArray>& x) { return ref(x[0]); };
  return c;
}

struct TransposeOp {
  static constexpr const char* name = "transpose";
  static void backward(Graph&, const OpRecord&) {}  // a view: nothing to do
  static std::vector<OpTest> tests() {
    return {view_case(
                "[3,4]^T", Shape{3, 4},
                [](Graph& g, const Tensor& x) { return contiguous(g, transpose(g, x, 0, 1)); },
                reference_transpose2d),
            view_case(
                "[2,3,4](0,2)", Shape{2, 3, 4},
                [](Graph& g, const Tensor& x) {
                  return mul(g, transpose(g, x, 0, 2), transpose(g, x, 0, 2));
                },
                [](const HostArray& x) {
                  HostArray o{Shape{4, 3, 2}, std::vector<double>(24)};
                  for (int i = 0; i < 2; ++i)
                    for (int j = 0; j < 3; ++j)
                      for (int k = 0; k < 4; ++k) {
                        const double v = x.v[size_t((i * 3 + j) * 4 + k)];
                        o.v[size_t((k * 3 + j) * 2 + i)] = v * v;
                      }
                  return o;
                })};
  }
};

struct SliceOp {
  static constexpr const char* name = "slice";
  static void backward(Graph&, const OpRecord&) {}  // a view
  static std::vector<OpTest> tests() {
    return {view_case(
                "[5,4][1:4,:]", Shape{5, 4},
                [](Graph& g, const Tensor& x) { return scale(g, slice(g, x, 0, 1, 4), 2.0); },
                [](const HostArray& x) {
                  HostArray o{Shape{3, 4}, std::vector<double>(12)};
                  for (int i = 0; i < 12; ++i) o.v[size_t(i)] = 2 * x.v[size_t(i + 4)];
                  return o;
                }),
            view_case(
                "[3,6][:,2:5]", Shape{3, 6},
                [](Graph& g, const Tensor& x) { return exp(g, slice(g, x, -1, 2, 5)); },
                [](const HostArray& x) {
                  HostArray o{Shape{3, 3}, std::vector<double>(9)};
                  for (int i = 0; i < 3; ++i)
                    for (int j = 0; j < 3; ++j)
                      o.v[size_t(i * 3 + j)] = std::exp(x.v[size_t(i * 6 + j + 2)]);
                  return o;
                })};
  }
};

struct ReshapeOp {
  static constexpr const char* name = "reshape";
  static void backward(Graph&, const OpRecord&) {}  // a view (of a copy, when x was strided)
  static std::vector<OpTest> tests() {
    return {view_case(
                "[2,6]->[3,4]", Shape{2, 6},
                [](Graph& g, const Tensor& x) {
                  return exp(g, reshape(g, x, Shape{3, 4}));
                },
                [](const HostArray& x) {
                  HostArray o{Shape{3, 4}, x.v};
                  for (double& v : o.v) v = std::exp(v);
                  return o;
                }),
            view_case(
                "transpose([3,4])->[12]", Shape{3, 4},
                [](Graph& g, const Tensor& x) {
                  return exp(g, reshape(g, transpose(g, x, 0, 1), Shape{12}));
                },
                [](const HostArray& x) {
                  HostArray o = reference_transpose2d(x);
                  o.shape = Shape{12};
                  for (double& v : o.v) v = std::exp(v);
                  return o;
                })};
  }
};

struct ContiguousOp {
  static constexpr const char* name = "contiguous";
  static void backward(Graph&, const OpRecord& r) {
    const Tensor& x = r.in[0];
    if (!x.grad) return;
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      copy_strided<T>(r.out, r.out.gptr<T>(), x, x.gptr<T>(), true);
    });
  }
  static std::vector<OpTest> tests() {
    return {view_case(
        "transpose([4,5])", Shape{4, 5},
        [](Graph& g, const Tensor& x) { return contiguous(g, transpose(g, x, 0, 1)); },
        reference_transpose2d)};
  }
};

struct ConcatOp {
  static constexpr const char* name = "concat";
  struct Attrs {
    int axis;
  };
  static void backward(Graph&, const OpRecord& r) {
    const int axis = r.attr<Attrs>().axis;
    int64_t start = 0;
    for (int i = 0; i < r.n_in; ++i) {
      const Tensor& part = r.in[i];
      if (part.grad) {
        Tensor piece = r.out;  // the part's window of the output
        Tensor w = piece.view(part.shape, piece.strides, start * piece.strides.s[axis]);
        dispatch_float(part.dtype, [&](auto zero) {
          using T = decltype(zero);
          copy_strided<T>(w, w.gptr<T>(), part, part.gptr<T>(), true);
        });
      }
      start += part.shape.d[axis];
    }
  }
  static std::vector<OpTest> tests() {
    OpTest c;
    c.label = "[2,3]|[2,1]|[2,2] axis 1";
    c.inputs = {InputSpec::normal(Shape{2, 3}), InputSpec::normal(Shape{2, 1}),
                InputSpec::normal(Shape{2, 2})};
    c.run = [](Graph& g, const std::vector<Tensor>& x) { return concat(g, {x[0], x[1], x[2]}, 1); };
    c.reference = [](const std::vector<HostArray>& x) {
      HostArray o{Shape{2, 6}, {}};
      for (int i = 0; i < 2; ++i)
        for (const HostArray& p : x)
          for (int64_t j = 0; j < p.shape[1]; ++j) o.v.push_back(p.v[size_t(i * p.shape[1] + j)]);
      return o;
    };
    OpTest d;
    d.label = "[1,2,2]|transpose([2,2])[None] axis 0";
    d.inputs = {InputSpec::normal(Shape{1, 2, 2}), InputSpec::normal(Shape{2, 2})};
    d.run = [](Graph& g, const std::vector<Tensor>& x) {
      return concat(g, {x[0], reshape(g, transpose(g, x[1], 0, 1), Shape{1, 2, 2})}, 0);
    };
    d.reference = [](const std::vector<HostArray>& x) {
      HostArray o{Shape{2, 2, 2}, x[0].v};
      const HostArray t = reference_transpose2d(x[1]);
      o.v.insert(o.v.end(), t.v.begin(), t.v.end());
      return o;
    };
    return {c, d};
  }
};

}  // namespace

Tensor transpose(Graph&, const Tensor& x, int dim0, int dim1) {
  dim0 = normalize_axis(dim0, x.ndim());
  dim1 = normalize_axis(dim1, x.ndim());
  TITANS_CHECK(dim0 >= 0 && dim0 < x.ndim() && dim1 >= 0 && dim1 < x.ndim(), "transpose axis");
  Shape s = x.shape;
  Strides st = x.strides;
  std::swap(s.d[dim0], s.d[dim1]);
  std::swap(st.s[dim0], st.s[dim1]);
  return x.view(s, st);
}

Tensor slice(Graph&, const Tensor& x, int axis, int64_t start, int64_t end) {
  axis = normalize_axis(axis, x.ndim());
  TITANS_CHECK(axis >= 0 && axis < x.ndim(), "slice axis");
  TITANS_CHECK(0 <= start && start <= end && end <= x.shape.d[axis], "slice bounds");
  Shape s = x.shape;
  s.d[axis] = end - start;
  return x.view(s, x.strides, start * x.strides.s[axis]);
}

Tensor contiguous(Graph& g, const Tensor& x) {
  if (x.is_contiguous()) return x;
  const bool grad = g.needs_grad({&x});
  Tensor out = g.new_tensor(x.shape, x.dtype, grad);
  if (x.dtype == DType::i32) {
    copy_strided<int32_t>(x, x.ptr<int32_t>(), out, out.ptr<int32_t>(), false);
    return out;
  }
  dispatch_float(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    copy_strided<T>(x, x.ptr<T>(), out, out.ptr<T>(), false);
  });
  if (grad) g.record<ContiguousOp>(out, {x});
  return out;
}

Tensor reshape(Graph& g, const Tensor& x, const Shape& shape) {
  TITANS_CHECK(shape.numel() == x.numel(), "reshape changes the number of elements");
  const Tensor c = contiguous(g, x);
  return c.view(shape, Strides::contiguous(shape));
}

Tensor concat(Graph& g, std::span<const Tensor> parts, int axis) {
  TITANS_CHECK(parts.size() >= 1 && parts.size() <= size_t(kMaxOpInputs), "concat: 1..6 parts");
  const Tensor& first = *parts.begin();
  axis = normalize_axis(axis, first.ndim());
  Shape shape = first.shape;
  shape.d[axis] = 0;
  bool grad = false;
  for (const Tensor& p : parts) {
    TITANS_CHECK(p.ndim() == first.ndim() && p.dtype == first.dtype, "concat: ranks/dtypes differ");
    for (int i = 0; i < p.ndim(); ++i)
      TITANS_CHECK(i == axis || p.shape.d[i] == first.shape.d[i], "concat: shapes differ");
    shape.d[axis] += p.shape.d[axis];
    grad = grad || g.needs_grad({&p});
  }
  Tensor out = g.new_tensor(shape, first.dtype, grad);
  int64_t start = 0;
  for (const Tensor& p : parts) {
    Tensor w = out.view(p.shape, out.strides, start * out.strides.s[axis]);
    dispatch_float(p.dtype, [&](auto zero) {
      using T = decltype(zero);
      copy_strided<T>(p, p.ptr<T>(), w, w.ptr<T>(), false);
    });
    start += p.shape.d[axis];
  }
  if (grad) g.record_n<ConcatOp>(out, parts.data(), int(parts.size()), ConcatOp::Attrs{axis});
  return out;
}

Tensor concat(Graph& g, std::initializer_list<Tensor> parts, int axis) {
  return concat(g, std::span<const Tensor>(parts.begin(), parts.size()), axis);
}

// Groups of up to kMaxOpInputs, level by level: every element is copied once per level, so n parts
// cost O(log n) copies of the result (a running concat would copy O(n) times — quadratic).
Tensor concat_all(Graph& g, std::span<const Tensor> parts, int axis) {
  TITANS_CHECK(!parts.empty(), "concat_all: no parts");
  std::vector<Tensor> level(parts.begin(), parts.end());
  while (level.size() > 1) {
    std::vector<Tensor> next;
    for (size_t i = 0; i < level.size(); i += size_t(kMaxOpInputs)) {
      const size_t n = std::min(level.size() - i, size_t(kMaxOpInputs));
      next.push_back(n == 1 ? level[i]
                            : concat(g, std::span<const Tensor>(level.data() + i, n), axis));
    }
    level = std::move(next);
  }
  return level[0];
}

Status register_shape_ops(OpRegistry& r) {
  for (Status s : {r.add<TransposeOp>(), r.add<SliceOp>(), r.add<ReshapeOp>(),
                   r.add<ContiguousOp>(), r.add<ConcatOp>()})
    if (!s.ok()) return s;
  return {};
}

}  // namespace titans::ops
