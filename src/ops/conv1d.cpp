// causal_conv1d: depthwise causal convolution of x [B, T, C] with w [C, K]. Channels are the
// contiguous axis, so every kernel runs over whole rows of C with the taps transposed to [K, C]
// (one vector of weights per tap). The weight gradient sums over every (b, t): it is reduced in
// fixed chunks of rows, in order, so the result does not depend on the thread count.
#include <algorithm>

#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "util/parallel.h"

namespace titans::ops {

namespace {
constexpr int64_t kParallelMin = 1 << 15;  // multiply-adds; below this, threads cost more
constexpr int64_t kMaxChunks = 64;         // partial sums of the weight gradient
}  // namespace

struct CausalConv1dOp {
  static constexpr const char* name = "causal_conv1d";

  // w [C, K] (any strides) as contiguous taps [K, C].
  template <class T>
  static T* taps(Graph& g, const Tensor& w) {
    const int64_t C = w.shape[0], K = w.shape[1];
    const T* pw = w.ptr<T>();
    T* wt = g.scratch<T>(K * C);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < K; ++k) wt[k * C + c] = pw[c * w.strides[0] + k * w.strides[1]];
    return wt;
  }

  template <class T>
  static void forward_kernel(const Tensor& x, const T* wt, int64_t K, T* out) {
    const int64_t B = x.shape[0], T_len = x.shape[1], C = x.shape[2];
    const int64_t sb = x.strides[0], st = x.strides[1];
    const T* px = x.ptr<T>();
    parallel_for(B * T_len, x.numel() * K >= kParallelMin, [=](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {  // r = b · T + t
        const int64_t b = r / T_len, t = r % T_len;
        T* y = out + r * C;
        const int64_t k0 = std::max<int64_t>(0, K - 1 - t);  // earlier taps read before t = 0
        const T* xr = px + b * sb + (t - K + 1 + k0) * st;
        const T* w0 = wt + k0 * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) y[c] = w0[c] * xr[c];
        for (int64_t k = k0 + 1; k < K; ++k) {
          const T* xk = px + b * sb + (t - K + 1 + k) * st;
          const T* wk = wt + k * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) y[c] += wk[c] * xk[c];
        }
      }
    });
  }

  static Tensor forward(Graph& g, Tensor x, const Tensor& w) {
    TITANS_CHECK(x.ndim() == 3 && w.ndim() == 2, "causal_conv1d: x [B, T, C], w [C, K]");
    TITANS_CHECK(x.dtype == w.dtype, "causal_conv1d: x and w differ in dtype");
    TITANS_CHECK(x.dtype == DType::f32 || x.dtype == DType::f64, "causal_conv1d: float x");
    TITANS_CHECK(w.shape[0] == x.shape[2] && w.shape[1] >= 1, "causal_conv1d: w must be [C, K]");
    if (x.shape[2] > 1 && x.strides[2] != 1) x = contiguous(g, x);  // kernels want unit channels
    const bool grad = g.needs_grad({&x, &w});
    Tensor out = g.new_tensor(x.shape, x.dtype, grad);
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      forward_kernel<T>(x, taps<T>(g, w), w.shape[1], out.ptr<T>());
    });
    if (grad) g.record<CausalConv1dOp>(out, {x, w});
    return out;
  }

  // gx[b, s, :] += Σ_k wt[k, :] · gy[b, s + K − 1 − k, :] over the taps that land inside [0, T).
  template <class T>
  static void backward_x(const Tensor& x, const T* wt, int64_t K, const T* gy) {
    const int64_t B = x.shape[0], T_len = x.shape[1], C = x.shape[2];
    const int64_t sb = x.strides[0], st = x.strides[1];
    T* gx = x.gptr<T>();
    parallel_for(B * T_len, x.numel() * K >= kParallelMin, [=](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {  // r = b · T + s
        const int64_t b = r / T_len, s = r % T_len;
        T* g = gx + b * sb + s * st;
        for (int64_t k = std::max<int64_t>(0, s + K - T_len); k < K; ++k) {
          const T* gr = gy + (b * T_len + s + K - 1 - k) * C;
          const T* wk = wt + k * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) g[c] += wk[c] * gr[c];
        }
      }
    });
  }

  // gw[c, k] += Σ_{b,t} gy[b, t, c] · x[b, t − K + 1 + k, c]: per-chunk partials [K, C], then
  // summed chunk by chunk.
  template <class T>
  static void backward_w(Graph& g, const Tensor& x, const Tensor& w, const T* gy) {
    const int64_t B = x.shape[0], T_len = x.shape[1], C = x.shape[2], K = w.shape[1];
    const int64_t rows = B * T_len;
    if (rows == 0) return;
    const int64_t per = std::max<int64_t>(256, (rows + kMaxChunks - 1) / kMaxChunks);
    const int64_t chunks = (rows + per - 1) / per;
    const int64_t sb = x.strides[0], st = x.strides[1];
    const T* px = x.ptr<T>();
    T* part = g.scratch<T>(chunks * K * C);
    parallel_for(chunks, rows * C * K >= kParallelMin, [=](int64_t ch0, int64_t ch1) {
      for (int64_t ch = ch0; ch < ch1; ++ch) {
        T* acc = part + ch * K * C;
        std::fill(acc, acc + K * C, T(0));
        for (int64_t r = ch * per, r1 = std::min(rows, r + per); r < r1; ++r) {
          const int64_t b = r / T_len, t = r % T_len;
          const T* gr = gy + r * C;
          for (int64_t k = std::max<int64_t>(0, K - 1 - t); k < K; ++k) {
            const T* xk = px + b * sb + (t - K + 1 + k) * st;
            T* ak = acc + k * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) ak[c] += gr[c] * xk[c];
          }
        }
      }
    });
    for (int64_t ch = 1; ch < chunks; ++ch) {
      const T* src = part + ch * K * C;
#pragma omp simd
      for (int64_t i = 0; i < K * C; ++i) part[i] += src[i];
    }
    T* gw = w.gptr<T>();
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < K; ++k) gw[c * w.strides[0] + k * w.strides[1]] += part[k * C + c];
  }

  static void backward(Graph& g, const OpRecord& r) {
    const Tensor &x = r.in[0], &w = r.in[1];
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* gy = r.out.gptr<T>();
      if (x.grad) backward_x<T>(x, taps<T>(g, w), w.shape[1], gy);
      if (w.grad) backward_w<T>(g, x, w, gy);
    });
  }

  static std::vector<OpTest> tests();
};

namespace {

// y[b,t,c] = Σ_k w[c,k] · x[b, t−K+1+k, c], x and w contiguous host arrays.
HostArray reference_conv(const HostArray& x, const HostArray& w) {
  const int64_t B = x.shape[0], T = x.shape[1], C = x.shape[2], K = w.shape[1];
  HostArray y{x.shape, std::vector<double>(x.v.size(), 0.0)};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t s = t - K + 1 + k;
          if (s >= 0) acc += w.v[size_t(c * K + k)] * x.v[size_t((b * T + s) * C + c)];
        }
        y.v[size_t((b * T + t) * C + c)] = acc;
      }
  return y;
}

OpTest conv_case(const char* label, int64_t B, int64_t T, int64_t C, int64_t K) {
  OpTest c;
  c.label = label;
  c.inputs = {InputSpec::normal(Shape{B, T, C}), InputSpec::normal(Shape{C, K})};
  c.run = [](Graph& g, const std::vector<Tensor>& in) { return causal_conv1d(g, in[0], in[1]); };
  c.reference = [](const std::vector<HostArray>& in) { return reference_conv(in[0], in[1]); };
  return c;
}

}  // namespace

std::vector<OpTest> CausalConv1dOp::tests() {
  std::vector<OpTest> t;
  t.push_back(conv_case("[2,5,3] K 4", 2, 5, 3, 4));
  t.push_back(conv_case("[1,6,4] K 1", 1, 6, 4, 1));
  t.push_back(conv_case("[2,3,5] K 4 (T < K)", 2, 3, 5, 4));
  t.push_back(conv_case("[3,7,1] K 3", 3, 7, 1, 3));

  OpTest tr;  // x given channel-major [B, C, T]: strided channels (copied to contiguous)
  tr.label = "transpose([2,4,6],1,2) K 3";
  tr.inputs = {InputSpec::normal(Shape{2, 4, 6}), InputSpec::normal(Shape{4, 3})};
  tr.run = [](Graph& g, const std::vector<Tensor>& in) {
    return causal_conv1d(g, transpose(g, in[0], 1, 2), in[1]);
  };
  tr.reference = [](const std::vector<HostArray>& in) {
    HostArray x{Shape{2, 6, 4}, std::vector<double>(48)};
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 4; ++c)
        for (int64_t s = 0; s < 6; ++s) x.v[size_t((b * 6 + s) * 4 + c)] = in[0].v[size_t((b * 4 + c) * 6 + s)];
    return reference_conv(x, in[1]);
  };
  t.push_back(std::move(tr));

  OpTest sl;  // a channel slice of x (row stride 6) and a transposed weight
  sl.label = "[2,5,6][:,:,1:4] * transpose([4,3]) K 4";
  sl.inputs = {InputSpec::normal(Shape{2, 5, 6}), InputSpec::normal(Shape{4, 3})};
  sl.run = [](Graph& g, const std::vector<Tensor>& in) {
    return causal_conv1d(g, slice(g, in[0], 2, 1, 4), transpose(g, in[1], 0, 1));
  };
  sl.reference = [](const std::vector<HostArray>& in) {
    HostArray x{Shape{2, 5, 3}, {}};
    for (int64_t r = 0; r < 10; ++r)
      for (int64_t c = 1; c < 4; ++c) x.v.push_back(in[0].v[size_t(r * 6 + c)]);
    HostArray w{Shape{3, 4}, std::vector<double>(12)};
    for (int64_t k = 0; k < 4; ++k)
      for (int64_t c = 0; c < 3; ++c) w.v[size_t(c * 4 + k)] = in[1].v[size_t(k * 3 + c)];
    return reference_conv(x, w);
  };
  t.push_back(std::move(sl));
  return t;
}

Tensor causal_conv1d(Graph& g, const Tensor& x, const Tensor& w) {
  return CausalConv1dOp::forward(g, x, w);
}

Status register_causal_conv1d_op(OpRegistry& r) { return r.add<CausalConv1dOp>(); }

}  // namespace titans::ops
