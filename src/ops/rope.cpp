// rope: rotary position embedding of x [B, T, H, d_h], "rotate half" pairing (i, i + d_h/2).
// The cos/sin table [T, d_h/2] is computed once per call in double (so f32 and f64 see the same
// angles as the reference), stored in the arena, and reused by the backward — the inverse rotation
// of the output gradient.
#include <cmath>

#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "util/parallel.h"

namespace titans::ops {

namespace {
constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save
constexpr int64_t kTableParallelMin = 1 << 11;  // sincos is ~50x a multiply-add
}  // namespace

struct RopeOp {
  static constexpr const char* name = "rope";
  struct Attrs {
    const void* table;  // T cos[T][half], then sin[T][half] (arena scratch, valid until reset)
  };

  // cos/sin of (pos0 + t) · theta^(−2i/d_h), computed in double.
  template <class T>
  static T* make_table(Graph& g, int64_t T_len, int64_t half, int64_t pos0, double theta) {
    T* table = g.scratch<T>(2 * T_len * half);
    double* freq = g.scratch<double>(half);
    for (int64_t i = 0; i < half; ++i) freq[i] = std::pow(theta, -double(2 * i) / double(2 * half));
    T* cs = table;
    T* sn = table + T_len * half;
    parallel_for(T_len, T_len * half >= kTableParallelMin, [=](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t)
        for (int64_t i = 0; i < half; ++i) {
          const double angle = double(pos0 + t) * freq[i];
          cs[t * half + i] = T(std::cos(angle));
          sn[t * half + i] = T(std::sin(angle));
        }
    });
    return table;
  }

  // dst (+)= R(±angle) src for every (b, t, h) row; kSign −1 is the inverse (transposed) rotation.
  template <class T, int kSign, bool kAccumulate>
  static void rotate(const Shape& s, const T* table, const T* src, const Strides& ss, T* dst,
                     const Strides& ds) {
    const int64_t B = s.d[0], T_len = s.d[1], H = s.d[2], half = s.d[3] / 2;
    const T* cs_all = table;
    const T* sn_all = table + T_len * half;
    const bool unit = ss.s[3] == 1 && ds.s[3] == 1;
    parallel_for(B * T_len, s.numel() >= kParallelMin, [=](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {  // r = b · T + t
        const int64_t b = r / T_len, t = r % T_len;
        const T* cs = cs_all + t * half;
        const T* sn = sn_all + t * half;
        for (int64_t h = 0; h < H; ++h) {
          const T* x = src + b * ss.s[0] + t * ss.s[1] + h * ss.s[2];
          T* y = dst + b * ds.s[0] + t * ds.s[1] + h * ds.s[2];
          if (unit) {
#pragma omp simd
            for (int64_t i = 0; i < half; ++i) {
              const T a = x[i], c = x[i + half], sv = T(kSign) * sn[i];
              const T y0 = a * cs[i] - c * sv, y1 = c * cs[i] + a * sv;
              if constexpr (kAccumulate) {
                y[i] += y0;
                y[i + half] += y1;
              } else {
                y[i] = y0;
                y[i + half] = y1;
              }
            }
          } else {
            const int64_t xs = ss.s[3], ys = ds.s[3];
            for (int64_t i = 0; i < half; ++i) {
              const T a = x[i * xs], c = x[(i + half) * xs], sv = T(kSign) * sn[i];
              const T y0 = a * cs[i] - c * sv, y1 = c * cs[i] + a * sv;
              if constexpr (kAccumulate) {
                y[i * ys] += y0;
                y[(i + half) * ys] += y1;
              } else {
                y[i * ys] = y0;
                y[(i + half) * ys] = y1;
              }
            }
          }
        }
      }
    });
  }

  static Tensor forward(Graph& g, const Tensor& x, int64_t pos0, double theta) {
    TITANS_CHECK(x.ndim() == 4, "rope: x must be [B, T, H, d_h]");
    TITANS_CHECK(x.shape[3] % 2 == 0, "rope: d_h must be even");
    TITANS_CHECK(x.dtype == DType::f32 || x.dtype == DType::f64, "rope: x must be float");
    const bool grad = g.needs_grad({&x});
    Tensor out = g.new_tensor(x.shape, x.dtype, grad);
    const void* table = nullptr;
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* tab = make_table<T>(g, x.shape[1], x.shape[3] / 2, pos0, theta);
      rotate<T, 1, false>(x.shape, tab, x.ptr<T>(), x.strides, out.ptr<T>(), out.strides);
      table = tab;
    });
    if (grad) g.record<RopeOp>(out, {x}, Attrs{table});
    return out;
  }

  static void backward(Graph&, const OpRecord& r) {
    const Tensor& x = r.in[0];
    if (!x.grad) return;
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* tab = static_cast<const T*>(r.attr<Attrs>().table);
      rotate<T, -1, true>(x.shape, tab, r.out.gptr<T>(), r.out.strides, x.gptr<T>(), x.strides);
    });
  }

  static std::vector<OpTest> tests();
};

namespace {

// The rotation written out per element, x given contiguous [B, T, H, D].
HostArray reference_rope(const HostArray& x, int64_t pos0, double theta) {
  const int64_t B = x.shape[0], T = x.shape[1], H = x.shape[2], D = x.shape[3], half = D / 2;
  HostArray y{x.shape, std::vector<double>(x.v.size())};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < half; ++i) {
          const double angle = double(pos0 + t) / std::pow(theta, 2.0 * double(i) / double(D));
          const size_t row = size_t(((b * T + t) * H + h) * D);
          const double a = x.v[row + size_t(i)], c = x.v[row + size_t(i + half)];
          y.v[row + size_t(i)] = a * std::cos(angle) - c * std::sin(angle);
          y.v[row + size_t(i + half)] = c * std::cos(angle) + a * std::sin(angle);
        }
  return y;
}

// x [d0, d1, d2, d3] with dims 1 and 2 (or 2 and 3) swapped, as contiguous host data.
HostArray host_swap(const HostArray& x, int a) {
  Shape s = x.shape;
  std::swap(s.d[a], s.d[a + 1]);
  HostArray o{s, std::vector<double>(x.v.size())};
  for (int64_t i0 = 0; i0 < x.shape[0]; ++i0)
    for (int64_t i1 = 0; i1 < x.shape[1]; ++i1)
      for (int64_t i2 = 0; i2 < x.shape[2]; ++i2)
        for (int64_t i3 = 0; i3 < x.shape[3]; ++i3) {
          int64_t j[4] = {i0, i1, i2, i3};
          std::swap(j[a], j[a + 1]);
          const int64_t src = ((i0 * x.shape[1] + i1) * x.shape[2] + i2) * x.shape[3] + i3;
          const int64_t dst = ((j[0] * s.d[1] + j[1]) * s.d[2] + j[2]) * s.d[3] + j[3];
          o.v[size_t(dst)] = x.v[size_t(src)];
        }
  return o;
}

// swap < 0: x as given; otherwise x transposed in dims (swap, swap + 1) before the op.
OpTest rope_case(std::string label, Shape shape, int64_t pos0, double theta, int swap = -1) {
  OpTest c;
  c.label = std::move(label);
  c.inputs = {InputSpec::normal(shape)};
  c.run = [=](Graph& g, const std::vector<Tensor>& in) {
    return rope(g, swap < 0 ? in[0] : transpose(g, in[0], swap, swap + 1), pos0, theta);
  };
  c.reference = [=](const std::vector<HostArray>& in) {
    return reference_rope(swap < 0 ? in[0] : host_swap(in[0], swap), pos0, theta);
  };
  return c;
}

}  // namespace

std::vector<OpTest> RopeOp::tests() {
  return {rope_case("[1,3,2,4] pos0 0", Shape{1, 3, 2, 4}, 0, 10000.0),
          rope_case("[2,5,3,6] pos0 7", Shape{2, 5, 3, 6}, 7, 10000.0),
          rope_case("[1,4,1,2] pos0 100 theta 500", Shape{1, 4, 1, 2}, 100, 500.0),
          // [B, H, T, d] read as [B, T, H, d]: the attention layout, rows not contiguous.
          rope_case("transpose([2,3,4,8],1,2) pos0 3", Shape{2, 3, 4, 8}, 3, 10000.0, 1),
          // The rotated axis itself strided.
          rope_case("transpose([1,3,6,2],2,3) pos0 5", Shape{1, 3, 6, 2}, 5, 10000.0, 2)};
}

Tensor rope(Graph& g, const Tensor& x, int64_t pos0, double theta) {
  return RopeOp::forward(g, x, pos0, theta);
}

Status register_rope_op(OpRegistry& r) { return r.add<RopeOp>(); }

}  // namespace titans::ops
