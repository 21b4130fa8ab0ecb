// matmul: a [..., M, K] · b [K, N] (one weight for every row) or b [..., K, N] (batched).
// fp32 runs on the engine's packed kernel (tensor/gemm.h), fp64 on its plain loop. bf16 precision
// rounds both operands to bf16 and accumulates in fp32: the forward goes through oneDNN (AMX where
// the CPU has it); the backward rounds its operands the same way and runs on the fp32 kernel —
// a product of two bf16 numbers is exact in fp32, so both compute the same sums.
#include <vector>

#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "tensor/dnnl_matmul.h"
#include "tensor/backend.h"

namespace titans::ops {

namespace {

// Dimensions [0, upto) of t merged into one of uniform stride, if the layout allows it.
bool merge_leading(const Tensor& t, int upto, int64_t* count, int64_t* stride) {
  *count = 1;
  *stride = 0;
  bool first = true;
  for (int i = upto - 1; i >= 0; --i) {
    if (t.shape.d[i] == 1) continue;
    if (first) {
      *stride = t.strides.s[i];
      first = false;
    } else if (t.strides.s[i] != *stride * *count) {
      return false;
    }
    *count *= t.shape.d[i];
  }
  return true;
}

struct Layout {  // the product as (batch of) 2-D problems
  int64_t batch, M, N, K;
  int64_t a_bs, a_rs, a_cs, b_bs, b_rs, b_cs;
};

Layout layout_of(const Tensor& a, const Tensor& b) {
  Layout L{};
  const int na = a.ndim(), nb = b.ndim();
  L.K = a.shape[-1];
  L.N = b.shape[-1];
  L.a_cs = a.strides[na - 1];
  L.b_rs = b.strides[nb - 2];
  L.b_cs = b.strides[nb - 1];
  if (nb == 2) {  // rows of a (all leading dimensions) times one matrix
    L.batch = 1;
    TITANS_CHECK(merge_leading(a, na - 1, &L.M, &L.a_rs), "matmul: rows not mergeable");
    if (L.M == 1) L.a_rs = L.K;
    L.a_bs = L.b_bs = 0;
  } else {
    L.M = a.shape[-2];
    L.a_rs = a.strides[na - 2];
    TITANS_CHECK(merge_leading(a, na - 2, &L.batch, &L.a_bs), "matmul: batch not mergeable");
    int64_t bb = 0;
    TITANS_CHECK(merge_leading(b, nb - 2, &bb, &L.b_bs), "matmul: batch not mergeable");
  }
  return L;
}

// Rounds a strided fp32 matrix batch to bf16-representable values, contiguous [batch, R, C].
template <class Out>
Out* round_bf16(Graph& g, const float* p, int64_t batch, int64_t R, int64_t C, int64_t bs,
                int64_t rs, int64_t cs) {
  Out* out = g.scratch<Out>(batch * R * C);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < R; ++i)
      for (int64_t j = 0; j < C; ++j) {
        const bf16 h = to_bf16(p[b * bs + i * rs + j * cs]);
        if constexpr (std::is_same_v<Out, bf16>)
          out[(b * R + i) * C + j] = h;
        else
          out[(b * R + i) * C + j] = from_bf16(h);
      }
  return out;
}

struct MatmulOp {
  static constexpr const char* name = "matmul";
  struct Attrs {
    Precision precision;
  };

  static Tensor forward(Graph& g, Tensor a, Tensor b, Precision p) {
    TITANS_CHECK(a.ndim() >= 2 && b.ndim() >= 2, "matmul needs matrices");
    TITANS_CHECK(a.dtype == b.dtype, "matmul operands differ in dtype");
    TITANS_CHECK(a.shape[-1] == b.shape[-2], "matmul: inner dimensions differ");
    TITANS_CHECK(b.ndim() == 2 || b.ndim() == a.ndim(), "matmul: b is [K,N] or batched like a");
    for (int i = 0; b.ndim() > 2 && i < a.ndim() - 2; ++i)
      TITANS_CHECK(a.shape.d[i] == b.shape.d[i], "matmul: batch dimensions differ");
    int64_t n, s;
    if (!merge_leading(a, b.ndim() == 2 ? a.ndim() - 1 : a.ndim() - 2, &n, &s)) a = contiguous(g, a);
    if (b.ndim() > 2 && !merge_leading(b, b.ndim() - 2, &n, &s)) b = contiguous(g, b);
    const Layout L = layout_of(a, b);
    const bool grad = g.needs_grad({&a, &b});
    Tensor out = g.new_tensor(a.shape.with_last(L.N), a.dtype, grad);
    const int64_t c_bs = L.M * L.N;
    if (a.dtype == DType::f64) {
      backend_for(a.device).gemm_batched(L.batch, L.M, L.N, L.K, 1.0, MatRef<double>{a.ptr<double>(), L.a_rs, L.a_cs},
                   L.a_bs, MatRef<double>{b.ptr<double>(), L.b_rs, L.b_cs}, L.b_bs, 0.0,
                   MatMut<double>{out.ptr<double>(), L.N, 1}, c_bs);
    } else if (p == Precision::bf16) {
      const bf16* ab = round_bf16<bf16>(g, a.ptr<float>(), L.batch, L.M, L.K, L.a_bs, L.a_rs, L.a_cs);
      const int64_t bb = L.b_bs ? L.batch : 1;
      const bf16* bh = round_bf16<bf16>(g, b.ptr<float>(), bb, L.K, L.N, L.b_bs, L.b_rs, L.b_cs);
      const bool done = dnnl_matmul(DType::bf16, L.batch, L.M, L.N, L.K, {ab, L.M * L.K, L.K, 1},
                                    {bh, L.b_bs ? L.K * L.N : 0, L.N, 1}, out.ptr<float>(), L.N,
                                    c_bs, false);
      if (!done) {  // oneDNN refused the shape: same sums on the fp32 kernel
        const float* af = round_bf16<float>(g, a.ptr<float>(), L.batch, L.M, L.K, L.a_bs, L.a_rs, L.a_cs);
        const float* bf = round_bf16<float>(g, b.ptr<float>(), bb, L.K, L.N, L.b_bs, L.b_rs, L.b_cs);
        backend_for(a.device).gemm_batched(L.batch, L.M, L.N, L.K, 1.0f, MatRef<float>{af, L.K, 1}, L.M * L.K,
                     MatRef<float>{bf, L.N, 1}, L.b_bs ? L.K * L.N : 0, 0.0f,
                     MatMut<float>{out.ptr<float>(), L.N, 1}, c_bs);
      }
    } else {
      backend_for(a.device).gemm_batched(L.batch, L.M, L.N, L.K, 1.0f, MatRef<float>{a.ptr<float>(), L.a_rs, L.a_cs},
                   L.a_bs, MatRef<float>{b.ptr<float>(), L.b_rs, L.b_cs}, L.b_bs, 0.0f,
                   MatMut<float>{out.ptr<float>(), L.N, 1}, c_bs);
    }
    if (grad) g.record<MatmulOp>(out, {a, b}, Attrs{p});
    return out;
  }

  template <class T>
  static void backward_typed(Graph& g, const OpRecord& r) {
    const Tensor &a = r.in[0], &b = r.in[1];
    const Layout L = layout_of(a, b);
    const T* pa = a.ptr<T>();
    const T* pb = b.ptr<T>();
    const T* gc = r.out.gptr<T>();
    int64_t a_bs = L.a_bs, a_rs = L.a_rs, a_cs = L.a_cs, b_bs = L.b_bs, b_rs = L.b_rs, b_cs = L.b_cs;
    int64_t gc_rs = L.N;
    if constexpr (std::is_same_v<T, float>) {
      if (r.attr<Attrs>().precision == Precision::bf16) {  // the operands the forward multiplied
        pa = round_bf16<float>(g, pa, L.batch, L.M, L.K, L.a_bs, L.a_rs, L.a_cs);
        pb = round_bf16<float>(g, pb, L.b_bs ? L.batch : 1, L.K, L.N, L.b_bs, L.b_rs, L.b_cs);
        gc = round_bf16<float>(g, gc, 1, L.batch * L.M, L.N, 0, L.N, 1);
        a_bs = L.M * L.K, a_rs = L.K, a_cs = 1;
        b_bs = L.b_bs ? L.K * L.N : 0, b_rs = L.N, b_cs = 1;
      }
    }
    const int64_t c_bs = L.M * L.N;
    if (a.grad) {  // dA += dC · Bᵀ, written through a's own strides
      backend_for(a.device).gemm_batched(L.batch, L.M, L.K, L.N, T(1), MatRef<T>{gc, gc_rs, 1}, c_bs,
                   MatRef<T>{pb, b_cs, b_rs}, b_bs, T(1),
                   MatMut<T>{a.gptr<T>(), L.a_rs, L.a_cs}, L.a_bs);
    }
    if (b.grad) {  // dB += Aᵀ · dC
      if (L.b_bs == 0) {  // shared weight: one product over every row of every batch
        backend_for(a.device).gemm_batched(1, L.K, L.N, L.batch * L.M, T(1), MatRef<T>{pa, a_cs, a_rs}, 0,
                                           MatRef<T>{gc, gc_rs, 1}, 0, T(1),
                                           MatMut<T>{b.gptr<T>(), L.b_rs, L.b_cs}, 0);
      } else {
        backend_for(a.device).gemm_batched(L.batch, L.K, L.N, L.M, T(1), MatRef<T>{pa, a_cs, a_rs}, a_bs,
                     MatRef<T>{gc, gc_rs, 1}, c_bs, T(1),
                     MatMut<T>{b.gptr<T>(), L.b_rs, L.b_cs}, L.b_bs);
      }
    }
  }

  static void backward(Graph& g, const OpRecord& r) {
    if (r.out.dtype == DType::f64)
      backward_typed<double>(g, r);
    else
      backward_typed<float>(g, r);
  }

  static std::vector<OpTest> tests();
};

HostArray reference_matmul(const HostArray& a, const HostArray& b, bool round) {
  auto q = [round](double x) { return round ? double(from_bf16(to_bf16(float(x)))) : x; };
  const int64_t K = a.shape[-1], N = b.shape[-1], M = a.shape[-2];
  const int64_t batch = a.numel() / (M * K);
  const bool shared = b.shape.ndim == 2;
  HostArray out{a.shape.with_last(N), std::vector<double>(size_t(batch * M * N))};
  for (int64_t t = 0; t < batch; ++t)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += q(a.v[size_t((t * M + i) * K + k)]) * q(b.v[size_t(((shared ? 0 : t) * K + k) * N + j)]);
        out.v[size_t((t * M + i) * N + j)] = s;
      }
  return out;
}

std::vector<OpTest> MatmulOp::tests() {
  std::vector<OpTest> t;
  auto add = [&](const char* label, Shape sa, Shape sb, Precision p) {
    OpTest c;
    c.label = label;
    c.inputs = {InputSpec::normal(sa), InputSpec::normal(sb)};
    c.run = [p](Graph& g, const std::vector<Tensor>& in) { return matmul(g, in[0], in[1], p); };
    c.reference = [p](const std::vector<HostArray>& in) {
      return reference_matmul(in[0], in[1], p == Precision::bf16);
    };
    if (p == Precision::bf16)
      c.reference_f64 = [](const std::vector<HostArray>& in) {
        return reference_matmul(in[0], in[1], false);
      };
    t.push_back(std::move(c));
  };
  add("[5,7]x[7,3]", Shape{5, 7}, Shape{7, 3}, Precision::fp32);
  add("[2,3,4]x[4,6] shared", Shape{2, 3, 4}, Shape{4, 6}, Precision::fp32);
  add("[3,4,5]x[3,5,2] batched", Shape{3, 4, 5}, Shape{3, 5, 2}, Precision::fp32);
  add("[17,33]x[33,19]", Shape{17, 33}, Shape{33, 19}, Precision::fp32);
  add("[6,8]x[8,5] bf16", Shape{6, 8}, Shape{8, 5}, Precision::bf16);
  add("[2,3,8]x[2,8,4] bf16", Shape{2, 3, 8}, Shape{2, 8, 4}, Precision::bf16);
  // Transposed operands: the kernel reads them through their strides, no copy.
  OpTest tr;
  tr.label = "[6,4]^T x [3,6]^T";
  tr.inputs = {InputSpec::normal(Shape{6, 4}), InputSpec::normal(Shape{3, 6})};
  tr.run = [](Graph& g, const std::vector<Tensor>& in) {
    return matmul(g, transpose(g, in[0], 0, 1), transpose(g, in[1], 0, 1));
  };
  tr.reference = [](const std::vector<HostArray>& in) {
    auto T2 = [](const HostArray& x) {
      HostArray o{Shape{x.shape[1], x.shape[0]}, std::vector<double>(x.v.size())};
      for (int64_t i = 0; i < x.shape[0]; ++i)
        for (int64_t j = 0; j < x.shape[1]; ++j) o.v[size_t(j * x.shape[0] + i)] = x.v[size_t(i * x.shape[1] + j)];
      return o;
    };
    return reference_matmul(T2(in[0]), T2(in[1]), false);
  };
  t.push_back(std::move(tr));
  return t;
}

}  // namespace

Tensor matmul(Graph& g, const Tensor& a, const Tensor& b, Precision p) {
  return MatmulOp::forward(g, a, b, p);
}

Status register_matmul_ops(OpRegistry& r) { return r.add<MatmulOp>(); }

}  // namespace titans::ops
