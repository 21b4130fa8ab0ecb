// Elementwise ops: broadcasting binary arithmetic, scale, and the unary activations.
#include <cmath>

#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "ops/reference.h"
#include "ops/strided.h"
#include "ops/vmath.h"
#include "util/parallel.h"

namespace titans::ops {

namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save

// An op whose formula is written over vmath's lane types (Def::kVector): its float loops run on
// vmath::floatv vectors explicitly, since GCC leaves loops over vmath's functions scalar
// (ops/vmath.h). Each lane computes what the scalar formula does, bit for bit.
template <class Def>
constexpr bool kVectorFormula = requires {
  requires Def::kVector;
};

// out = f(a, b) over the broadcast shape.
template <class T, bool kVector, class F>
void binary_forward(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  T* o = out.ptr<T>();
  const T* pa = a.ptr<T>();
  const T* pb = b.ptr<T>();
  const int64_t n = out.numel();
  if (a.shape == out.shape && b.shape == out.shape && a.is_contiguous() && b.is_contiguous()) {
    parallel_for(n, n >= kParallelMin, [=](int64_t i0, int64_t i1) {
      vmath::for_each_lane<T, kVector>(i0, i1, [=](auto lane, int64_t i) {
        using V = decltype(lane);
        vmath::put(o + i, f(vmath::get<V>(pa + i), vmath::get<V>(pb + i)));
      });
    });
    return;
  }
  T* base[3] = {o, const_cast<T*>(pa), const_cast<T*>(pb)};
  const Strides st[3] = {out.strides, broadcast_strides(a, out.shape), broadcast_strides(b, out.shape)};
  strided_loop<T, 3>(out.shape, base, st, [&](int64_t len, T* const* p, const int64_t* s) {
    for (int64_t i = 0; i < len; ++i) p[0][i * s[0]] = f(p[1][i * s[1]], p[2][i * s[2]]);
  });
}

// target_grad += d(gout, a, b) over the broadcast shape, target being a or b (reduced over its
// broadcast dimensions by accumulation).
template <class T, bool kVector, class D>
void binary_backward(const OpRecord& r, const Tensor& target, D d) {
  if (!target.grad) return;
  const Tensor& out = r.out;
  const Tensor& a = r.in[0];
  const Tensor& b = r.in[1];
  const int64_t n = out.numel();
  T* gt = target.gptr<T>();
  const T* go = out.gptr<T>();
  const T* pa = a.ptr<T>();
  const T* pb = b.ptr<T>();
  if (target.shape == out.shape && a.shape == out.shape && b.shape == out.shape &&
      target.is_contiguous() && a.is_contiguous() && b.is_contiguous()) {
    parallel_for(n, n >= kParallelMin, [=](int64_t i0, int64_t i1) {
      vmath::for_each_lane<T, kVector>(i0, i1, [=](auto lane, int64_t i) {
        using V = decltype(lane);
        vmath::put(gt + i, vmath::get<V>(gt + i) + d(vmath::get<V>(go + i), vmath::get<V>(pa + i),
                                                     vmath::get<V>(pb + i)));
      });
    });
    return;
  }
  T* base[4] = {gt, const_cast<T*>(go), const_cast<T*>(pa), const_cast<T*>(pb)};
  const Strides st[4] = {broadcast_strides(target, out.shape), out.strides,
                         broadcast_strides(a, out.shape), broadcast_strides(b, out.shape)};
  strided_loop<T, 4>(out.shape, base, st, [&](int64_t len, T* const* p, const int64_t* s) {
    for (int64_t i = 0; i < len; ++i)
      p[0][i * s[0]] += d(p[1][i * s[1]], p[2][i * s[2]], p[3][i * s[3]]);
  });
}

// One binary op: the forward map and the two partial derivatives (times the output gradient).
template <class Def>
struct BinaryOp {
  static constexpr const char* name = Def::name;

  static Tensor forward(Graph& g, const Tensor& a, const Tensor& b) {
    TITANS_CHECK(a.dtype == b.dtype, "binary op on different dtypes");
    Shape shape;
    TITANS_CHECK(broadcast_shapes(a.shape, b.shape, &shape), "shapes do not broadcast");
    const bool grad = g.needs_grad({&a, &b});
    Tensor out = g.new_tensor(shape, a.dtype, grad);
    dispatch_float(a.dtype, [&](auto zero) {
      using T = decltype(zero);
      binary_forward<T, kVectorFormula<Def>>(out, a, b,
                                             [](auto x, auto y) { return Def::f(x, y); });
    });
    if (grad) g.record<BinaryOp>(out, {a, b});
    return out;
  }

  static void backward(Graph&, const OpRecord& r) {
    dispatch_float(r.out.dtype, [&](auto zero) {
      using T = decltype(zero);
      constexpr bool vec = kVectorFormula<Def>;
      binary_backward<T, vec>(r, r.in[0],
                              [](auto go, auto x, auto y) { return Def::da(go, x, y); });
      binary_backward<T, vec>(r, r.in[1],
                              [](auto go, auto x, auto y) { return Def::db(go, x, y); });
    });
  }

  static std::vector<OpTest> tests() {
    std::vector<OpTest> t;
    const auto add_case = [&](const char* label, Shape sa, Shape sb) {
      OpTest c;
      c.label = label;
      c.inputs = {InputSpec::normal(sa), Def::positive_b ? InputSpec::positive(sb) : InputSpec::normal(sb)};
      c.run = [](Graph& g, const std::vector<Tensor>& in) { return forward(g, in[0], in[1]); };
      c.reference = [](const std::vector<HostArray>& in) {
        return reference_broadcast(in[0], in[1], [](double x, double y) { return reference(x, y); });
      };
      t.push_back(std::move(c));
    };
    add_case("[3,5]&[3,5]", Shape{3, 5}, Shape{3, 5});
    add_case("[2,3,4]&[4]", Shape{2, 3, 4}, Shape{4});
    add_case("[2,1,4]&[3,1]", Shape{2, 1, 4}, Shape{3, 1});
    add_case("[]&[2,3]", Shape{}, Shape{2, 3});
    // A transposed (non-contiguous) operand: the strided path.
    OpTest tr;
    tr.label = "transpose([4,3])&[3,4]";
    tr.inputs = {InputSpec::normal(Shape{4, 3}), Def::positive_b ? InputSpec::positive(Shape{3, 4}) : InputSpec::normal(Shape{3, 4})};
    tr.run = [](Graph& g, const std::vector<Tensor>& in) {
      return forward(g, transpose(g, in[0], 0, 1), in[1]);
    };
    tr.reference = [](const std::vector<HostArray>& in) {
      return reference_broadcast(reference_transpose2d(in[0]), in[1],
                                 [](double x, double y) { return reference(x, y); });
    };
    t.push_back(std::move(tr));
    return t;
  }

  // The float64 reference: Def::reference where the kernel's formula is not plain arithmetic.
  static double reference(double x, double y) {
    if constexpr (requires { Def::reference(x, y); })
      return Def::reference(x, y);
    else
      return Def::f(x, y);
  }
};

struct AddDef {
  static constexpr const char* name = "add";
  static constexpr bool positive_b = false;
  template <class T> static T f(T a, T b) { return a + b; }
  template <class T> static T da(T go, T, T) { return go; }
  template <class T> static T db(T go, T, T) { return go; }
};
struct SubDef {
  static constexpr const char* name = "sub";
  static constexpr bool positive_b = false;
  template <class T> static T f(T a, T b) { return a - b; }
  template <class T> static T da(T go, T, T) { return go; }
  template <class T> static T db(T go, T, T) { return -go; }
};
struct MulDef {
  static constexpr const char* name = "mul";
  static constexpr bool positive_b = false;
  template <class T> static T f(T a, T b) { return a * b; }
  template <class T> static T da(T go, T, T b) { return go * b; }
  template <class T> static T db(T go, T a, T) { return go * a; }
};
struct DivDef {
  static constexpr const char* name = "div";
  static constexpr bool positive_b = true;  // keeps the denominator away from zero in tests
  template <class T> static T f(T a, T b) { return a / b; }
  template <class T> static T da(T go, T, T b) { return go / b; }
  template <class T> static T db(T go, T a, T b) { return -go * a / (b * b); }
};

// SwiGLU's gate, fused: one pass instead of silu then mul, and no [.., F] silu(a) tensor (with its
// gradient) kept for the backward — the FFN's largest activations.
struct SwigluDef {
  static constexpr const char* name = "swiglu";
  static constexpr bool positive_b = false;
  static constexpr bool kVector = true;
  template <class T> [[gnu::always_inline]] static T f(T a, T b) { return a * vmath::sigmoid(a) * b; }
  template <class T> [[gnu::always_inline]] static T da(T go, T a, T b) {
    const T s = vmath::sigmoid(a);
    return go * b * (s * (1 + a * (1 - s)));
  }
  template <class T> [[gnu::always_inline]] static T db(T go, T a, T) {
    return go * a * vmath::sigmoid(a);
  }
  static double reference(double a, double b) { return a / (1.0 + std::exp(-a)) * b; }
};

using AddOp = BinaryOp<AddDef>;
using SubOp = BinaryOp<SubDef>;
using MulOp = BinaryOp<MulDef>;
using DivOp = BinaryOp<DivDef>;
using SwigluOp = BinaryOp<SwigluDef>;

// ---- unary maps: y = f(x), dx += gy · f'(x) (given x and y)

template <class Def>
struct UnaryOp {
  static constexpr const char* name = Def::name;
  struct Attrs {
    double param;
  };

  // o[i] = f(x[i]) for i in [i0, i1).
  template <class T>
  static void map_lanes(const T* x, T* o, int64_t i0, int64_t i1, T p) {
    vmath::for_each_lane<T, kVectorFormula<Def>>(i0, i1, [=](auto lane, int64_t i) {
      using V = decltype(lane);
      vmath::put(o + i, Def::f(vmath::get<V>(x + i), vmath::splat<V>(p)));
    });
  }

  static Tensor forward(Graph& g, const Tensor& x, double param = 0) {
    const bool grad = g.needs_grad({&x});
    Tensor out = g.new_tensor(x.shape, x.dtype, grad);
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      T* o = out.ptr<T>();
      const T p = T(param);
      const int64_t n = x.numel();
      if (x.is_contiguous()) {
        const T* px = x.ptr<T>();
        parallel_for(n, n >= kParallelMin,
                     [=](int64_t i0, int64_t i1) { map_lanes<T>(px, o, i0, i1, p); });
        return;
      }
      T* base[2] = {o, x.ptr<T>()};
      const Strides st[2] = {out.strides, x.strides};
      strided_loop<T, 2>(x.shape, base, st, [&](int64_t len, T* const* q, const int64_t* s) {
        if (s[0] == 1 && s[1] == 1) {  // e.g. a slice along an outer dimension
          map_lanes<T>(q[1], q[0], 0, len, p);
          return;
        }
        for (int64_t i = 0; i < len; ++i) q[0][i * s[0]] = Def::f(q[1][i * s[1]], p);
      });
    });
    if (grad) g.record<UnaryOp>(out, {x}, Attrs{param});
    return out;
  }

  static void backward(Graph&, const OpRecord& r) {
    const Tensor& x = r.in[0];
    if (!x.grad) return;
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T p = T(r.attr<Attrs>().param);
      T* base[4] = {x.gptr<T>(), x.ptr<T>(), r.out.ptr<T>(), r.out.gptr<T>()};
      const Strides st[4] = {x.strides, x.strides, r.out.strides, r.out.strides};
      strided_loop<T, 4>(x.shape, base, st, [&](int64_t len, T* const* q, const int64_t* s) {
        if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {
          T* gx = q[0];
          const T *px = q[1], *py = q[2], *gy = q[3];
          vmath::for_each_lane<T, kVectorFormula<Def>>(0, len, [=](auto lane, int64_t i) {
            using V = decltype(lane);
            const V d = Def::df(vmath::get<V>(px + i), vmath::get<V>(py + i), vmath::splat<V>(p));
            vmath::put(gx + i, vmath::get<V>(gx + i) + vmath::get<V>(gy + i) * d);
          });
          return;
        }
        for (int64_t i = 0; i < len; ++i)
          q[0][i * s[0]] += q[3][i * s[3]] * Def::df(q[1][i * s[1]], q[2][i * s[2]], p);
      });
    });
  }

  static std::vector<OpTest> tests() {
    std::vector<OpTest> t;
    for (const Shape& s : {Shape{7}, Shape{3, 4, 5}}) {
      OpTest c;
      c.label = s.str();
      c.inputs = {Def::positive_x ? InputSpec::positive(s) : InputSpec::normal(s)};
      c.run = [](Graph& g, const std::vector<Tensor>& in) { return Def::call(g, in[0]); };
      c.reference = [](const std::vector<HostArray>& in) {
        HostArray out = in[0];
        for (double& v : out.v) v = Def::reference(v);
        return out;
      };
      t.push_back(std::move(c));
    }
    OpTest tr;  // strided input
    tr.label = "transpose([5,4])";
    tr.inputs = {Def::positive_x ? InputSpec::positive(Shape{5, 4}) : InputSpec::normal(Shape{5, 4})};
    tr.run = [](Graph& g, const std::vector<Tensor>& in) {
      return Def::call(g, transpose(g, in[0], 0, 1));
    };
    tr.reference = [](const std::vector<HostArray>& in) {
      HostArray out = reference_transpose2d(in[0]);
      for (double& v : out.v) v = Def::reference(v);
      return out;
    };
    t.push_back(std::move(tr));
    return t;
  }
};

// Each definition: the kernel formula (f, df) and an independently written float64 reference.
// f and df built on ops/vmath.h are forced inline (left to itself GCC keeps some of them out of
// line in the serial path) and written for every lane type, vmath::floatv included (kVector):
// constants as plain numbers or vmath::splat<T>, choices as vmath::select.
struct ScaleDef {
  static constexpr const char* name = "scale";
  static constexpr bool positive_x = false;
  template <class T> static T f(T x, T s) { return s * x; }
  template <class T> static T df(T, T, T s) { return s; }
  static double reference(double x) { return -1.5 * x; }
  static Tensor call(Graph& g, const Tensor& x) { return scale(g, x, -1.5); }
};
struct ExpDef {
  static constexpr const char* name = "exp";
  static constexpr bool positive_x = false;
  static constexpr bool kVector = true;
  template <class T> [[gnu::always_inline]] static T f(T x, T) { return vmath::exp(x); }
  template <class T> static T df(T, T y, T) { return y; }
  static double reference(double x) { return std::exp(x); }
  static Tensor call(Graph& g, const Tensor& x) { return exp(g, x); }
};
struct LogDef {
  static constexpr const char* name = "log";
  static constexpr bool positive_x = true;
  template <class T> static T f(T x, T) { return std::log(x); }
  template <class T> static T df(T x, T, T) { return T(1) / x; }
  static double reference(double x) { return std::log(x); }
  static Tensor call(Graph& g, const Tensor& x) { return log(g, x); }
};
struct SigmoidDef {
  static constexpr const char* name = "sigmoid";
  static constexpr bool positive_x = false;
  static constexpr bool kVector = true;
  template <class T> [[gnu::always_inline]] static T f(T x, T) { return vmath::sigmoid(x); }
  template <class T> static T df(T, T y, T) { return y * (1 - y); }
  static double reference(double x) { return 0.5 * (1.0 + std::tanh(0.5 * x)); }
  static Tensor call(Graph& g, const Tensor& x) { return sigmoid(g, x); }
};
struct SiluDef {
  static constexpr const char* name = "silu";
  static constexpr bool positive_x = false;
  static constexpr bool kVector = true;
  template <class T> [[gnu::always_inline]] static T f(T x, T) { return x * vmath::sigmoid(x); }
  template <class T> [[gnu::always_inline]] static T df(T x, T, T) {
    const T s = vmath::sigmoid(x);
    return s * (1 + x * (1 - s));
  }
  static double reference(double x) { return x * 0.5 * (1.0 + std::tanh(0.5 * x)); }
  static Tensor call(Graph& g, const Tensor& x) { return silu(g, x); }
};
struct GeluDef {
  static constexpr const char* name = "gelu";
  static constexpr bool positive_x = false;
  static constexpr bool kVector = true;
  static constexpr double kC = 0.7978845608028654;  // sqrt(2/pi)
  template <class T> [[gnu::always_inline]] static T f(T x, T) {
    using vmath::splat;
    return splat<T>(0.5) * x *
           (1 + vmath::tanh(splat<T>(kC) * (x + splat<T>(0.044715) * x * x * x)));
  }
  template <class T> [[gnu::always_inline]] static T df(T x, T, T) {
    using vmath::splat;
    const T t = vmath::tanh(splat<T>(kC) * (x + splat<T>(0.044715) * x * x * x));
    return splat<T>(0.5) * (1 + t) +
           splat<T>(0.5) * x * (1 - t * t) * splat<T>(kC) * (1 + splat<T>(3 * 0.044715) * x * x);
  }
  static double reference(double x) {
    const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * std::pow(x, 3));
    return x * std::exp(u) / (std::exp(u) + std::exp(-u));  // = 0.5x(1 + tanh u)
  }
  static Tensor call(Graph& g, const Tensor& x) { return gelu(g, x); }
};
struct TanhDef {
  static constexpr const char* name = "tanh";
  static constexpr bool positive_x = false;
  static constexpr bool kVector = true;
  template <class T> [[gnu::always_inline]] static T f(T x, T) { return vmath::tanh(x); }
  template <class T>
  static T df(T, T y, T) {
    return 1 - y * y;
  }
  static double reference(double x) { return (std::exp(2 * x) - 1) / (std::exp(2 * x) + 1); }
  static Tensor call(Graph& g, const Tensor& x) { return tanh(g, x); }
};
struct EluDef {
  static constexpr const char* name = "elu";
  static constexpr bool positive_x = false;
  static constexpr bool kVector = true;
  template <class T> [[gnu::always_inline]] static T f(T x, T) {
    return vmath::select(x > 0, x, vmath::expm1(x));
  }
  template <class T>
  static T df(T x, T y, T) {
    return vmath::select(x > 0, vmath::splat<T>(1), y + 1);
  }
  static double reference(double x) { return x > 0 ? x : std::exp(x) - 1.0; }
  static Tensor call(Graph& g, const Tensor& x) { return elu(g, x); }
};

using ScaleOp = UnaryOp<ScaleDef>;
using ExpOp = UnaryOp<ExpDef>;
using LogOp = UnaryOp<LogDef>;
using SigmoidOp = UnaryOp<SigmoidDef>;
using SiluOp = UnaryOp<SiluDef>;
using GeluOp = UnaryOp<GeluDef>;
using TanhOp = UnaryOp<TanhDef>;
using EluOp = UnaryOp<EluDef>;

}  // namespace

Tensor add(Graph& g, const Tensor& a, const Tensor& b) { return AddOp::forward(g, a, b); }
Tensor sub(Graph& g, const Tensor& a, const Tensor& b) { return SubOp::forward(g, a, b); }
Tensor mul(Graph& g, const Tensor& a, const Tensor& b) { return MulOp::forward(g, a, b); }
Tensor div(Graph& g, const Tensor& a, const Tensor& b) { return DivOp::forward(g, a, b); }
Tensor swiglu(Graph& g, const Tensor& a, const Tensor& b) { return SwigluOp::forward(g, a, b); }
Tensor scale(Graph& g, const Tensor& x, double s) { return ScaleOp::forward(g, x, s); }
Tensor exp(Graph& g, const Tensor& x) { return ExpOp::forward(g, x); }
Tensor log(Graph& g, const Tensor& x) { return LogOp::forward(g, x); }
Tensor sigmoid(Graph& g, const Tensor& x) { return SigmoidOp::forward(g, x); }
Tensor silu(Graph& g, const Tensor& x) { return SiluOp::forward(g, x); }
Tensor gelu(Graph& g, const Tensor& x) { return GeluOp::forward(g, x); }
Tensor tanh(Graph& g, const Tensor& x) { return TanhOp::forward(g, x); }
Tensor elu(Graph& g, const Tensor& x) { return EluOp::forward(g, x); }

Status register_elementwise_ops(OpRegistry& r) {
  for (Status s : {r.add<AddOp>(), r.add<SubOp>(), r.add<MulOp>(), r.add<DivOp>(), r.add<SwigluOp>(),
                   r.add<ScaleOp>(),
                   r.add<ExpOp>(), r.add<LogOp>(), r.add<SigmoidOp>(), r.add<SiluOp>(),
                   r.add<GeluOp>(), r.add<TanhOp>(), r.add<EluOp>()})
    if (!s.ok()) return s;
  return {};
}

}  // namespace titans::ops
