// memory_loop: the fused inner loop as one op (memory_fused_op.h). The record's attributes hold a
// pointer to a context in the graph's scratch: every input and output tensor (more than the
// record's six inputs) and the saved chunk-start W, S of every full chunk, from which the backward
// recomputes each chunk (memory_kernel_backward.cpp).
#include "memory/memory_fused_op.h"

#include <new>
#include <string>

#include "autodiff/op_registry.h"
#include "memory/memory_kernel.h"
#include "memory/memory_naive.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "util/parallel.h"

namespace titans {

namespace {

constexpr int kMaxLayers = 4;

template <class F>
struct LoopContext {
  MemoryKernelArgs<F> args;
  Tensor q, k, v, theta, eta, alpha, y;
  Tensor w_in[kMaxLayers], s_in[kMaxLayers], w_out[kMaxLayers], s_out[kMaxLayers];
};

struct LoopAttrs {
  void* context;
};

// dst += the per-problem gradients src [B, H, sz]; a shared W_0 (dst [H, sz]) sums the batch.
template <class F>
void add_state_grad(F* dst, const F* src, int64_t B, int64_t H, int64_t sz, bool shared) {
  const int64_t n = shared ? H * sz : B * H * sz;
  parallel_for(n, n >= (int64_t(1) << 16), [=](int64_t e0, int64_t e1) {
    for (int64_t e = e0; e < e1; ++e) {
      F s = dst[e];
      if (shared)
        for (int64_t b = 0; b < B; ++b) s += src[b * H * sz + e];
      else
        s += src[e];
      dst[e] = s;
    }
  });
}

}  // namespace

struct MemoryLoopOp {
  static constexpr const char* name = "memory_loop";

  static void backward(Graph& g, const OpRecord& r) {
    dispatch_float(r.out.dtype, [&](auto zero) {
      using F = decltype(zero);
      const auto& cx = *static_cast<const LoopContext<F>*>(r.attr<LoopAttrs>().context);
      const MemoryKernelArgs<F>& a = cx.args;
      MemoryKernelGrads<F> gr;
      gr.dy = cx.y.template gptr<F>();
      gr.dq = cx.q.template gptr<F>(), gr.dk = cx.k.template gptr<F>();
      gr.dv = cx.v.template gptr<F>();
      gr.dtheta = cx.theta.template gptr<F>(), gr.deta = cx.eta.template gptr<F>();
      gr.dalpha = cx.alpha.template gptr<F>();
      const int64_t BH = a.B * a.H;
      for (int l = 0; l < a.depth; ++l) {
        gr.dw_out[l] = cx.w_out[l].template gptr<F>();
        gr.ds_out[l] = cx.s_out[l].template gptr<F>();
        const int64_t sz = cx.w_out[l].shape[2] * cx.w_out[l].shape[3];
        if (cx.w_in[l].grad) gr.dw_in[l] = g.scratch<F>(BH * sz);
        if (cx.s_in[l].grad) gr.ds_in[l] = g.scratch<F>(BH * sz);
      }
      memory_backward_fused(a, gr);
      for (int l = 0; l < a.depth; ++l) {
        const int64_t sz = cx.w_out[l].shape[2] * cx.w_out[l].shape[3];
        if (gr.dw_in[l])
          add_state_grad(cx.w_in[l].template gptr<F>(), gr.dw_in[l], a.B, a.H, sz,
                         a.w_in_bstride[l] == 0);
        if (gr.ds_in[l])
          add_state_grad(cx.s_in[l].template gptr<F>(), gr.ds_in[l], a.B, a.H, sz, false);
      }
    });
  }

  static std::vector<OpTest> tests();
};

Result<MemoryLoopOutputs> memory_loop(Graph& g, const NeuralMemoryConfig& c,
                                      const MemoryLoopInputs& in, int64_t first_position) {
  const int L = c.depth;
  const int64_t B = in.q.shape[0], H = in.q.shape[1], N = in.q.shape[2], d = in.q.shape[3];
  const DType dt = in.q.dtype;
  TITANS_CHECK(in.w.size() == size_t(L) && in.s.size() == size_t(L) && d == c.dh() &&
                   H == c.n_heads,
               "memory_loop: inputs do not match the config");
  bool grad = g.needs_grad({&in.q, &in.k, &in.v, &in.theta, &in.eta, &in.alpha});
  for (int l = 0; l < L; ++l) grad = grad || g.needs_grad({&in.w[size_t(l)], &in.s[size_t(l)]});
  MemoryLoopOutputs out;
  out.y = g.new_tensor(Shape{B, H, N, d}, dt, grad);
  Status status;
  dispatch_float(dt, [&](auto zero) {
    using F = decltype(zero);
    LoopContext<F> cx;
    MemoryKernelArgs<F>& a = cx.args;
    a.B = B, a.H = H, a.N = N, a.d = d, a.chunk = c.chunk, a.depth = L, a.hidden = c.hidden_dim();
    a.act = c.activation, a.residual = c.residual;
    cx.q = ops::contiguous(g, in.q), cx.k = ops::contiguous(g, in.k), cx.v = ops::contiguous(g, in.v);
    cx.theta = ops::contiguous(g, in.theta), cx.eta = ops::contiguous(g, in.eta);
    cx.alpha = ops::contiguous(g, in.alpha), cx.y = out.y;
    a.q = cx.q.template ptr<F>(), a.k = cx.k.template ptr<F>(), a.v = cx.v.template ptr<F>();
    a.theta = cx.theta.template ptr<F>(), a.eta = cx.eta.template ptr<F>();
    a.alpha = cx.alpha.template ptr<F>(), a.y = out.y.template ptr<F>();
    for (int l = 0; l < L; ++l) {
      const Tensor &w = in.w[size_t(l)], &s = in.s[size_t(l)];
      const int64_t o = w.shape[w.ndim() - 2], i = w.shape[w.ndim() - 1];
      cx.w_in[l] = ops::contiguous(g, w);
      a.w_in[l] = cx.w_in[l].template ptr<F>();
      a.w_in_bstride[l] = w.ndim() == 3 ? 0 : H * o * i;
      if (s.data) {
        cx.s_in[l] = ops::contiguous(g, s);
        a.s_in[l] = cx.s_in[l].template ptr<F>(), a.s_in_bstride[l] = H * o * i;
      }
      cx.w_out[l] = g.new_tensor(Shape{B, H, o, i}, dt, grad);
      cx.s_out[l] = g.new_tensor(Shape{B, H, o, i}, dt, grad);
      a.w_out[l] = cx.w_out[l].template ptr<F>(), a.s_out[l] = cx.s_out[l].template ptr<F>();
      out.w.push_back(cx.w_out[l]);
      out.s.push_back(cx.s_out[l]);
    }
    if (grad) a.save = g.scratch<F>(B * H * (N / c.chunk) * 2 * memory_kernel_state_size(a));
    const MemoryKernelFault f = memory_forward_fused(a);
    if (f.found) {
      status = Status::error("memory: non-finite " + std::string(f.what) + ": layer " +
                             std::to_string(f.layer) + ", batch " + std::to_string(f.batch) +
                             ", head " + std::to_string(f.head) + ", position " +
                             std::to_string(first_position + f.position));
      return;
    }
    if (!grad) return;
    auto* ctx = new (g.scratch<LoopContext<F>>(1)) LoopContext<F>(cx);
    g.record<MemoryLoopOp>(out.y, {cx.q, cx.k, cx.v, cx.theta, cx.eta, cx.alpha},
                           LoopAttrs{ctx});
  });
  if (!status.ok()) return status;
  return out;
}

// ---- the op table: forward against the token-by-token reference (memory_naive.h), float64
// gradients against central differences, over y and the returned state.

namespace {

struct LoopCase {
  int depth;
  int64_t chunk, N;
  bool residual;
  MemoryActivation act;
};

NeuralMemoryConfig loop_config(const LoopCase& lc) {
  NeuralMemoryConfig c;
  c.d_model = 6, c.n_heads = 2, c.head_dim = 3, c.depth = lc.depth, c.chunk = lc.chunk;
  c.residual = lc.residual, c.activation = lc.act;
  return c;
}

OpTest loop_case(const char* label, LoopCase lc) {
  const NeuralMemoryConfig c = loop_config(lc);
  const int64_t B = 2, H = c.n_heads, d = c.dh(), N = lc.N;
  OpTest t;
  t.label = label;
  for (int i = 0; i < 3; ++i) t.inputs.push_back(InputSpec::normal(Shape{B, H, N, d}));
  // Gates in [0.5, 2): the algebra holds for any value; 2 θ keeps the recurrence bounded here.
  for (int i = 0; i < 3; ++i) t.inputs.push_back(InputSpec::positive(Shape{B, H, N}));
  for (auto [o, i] : c.layer_shapes()) t.inputs.push_back(InputSpec::normal(Shape{H, o, i}));
  t.run = [c](Graph& g, const std::vector<Tensor>& x) {
    MemoryLoopInputs in{x[0], x[1], x[2], ops::scale(g, x[3], 0.1), x[4], ops::scale(g, x[5], 0.1),
                        {}, {}};
    for (int l = 0; l < c.depth; ++l) in.w.push_back(x[size_t(6 + l)]), in.s.push_back(Tensor{});
    Result<MemoryLoopOutputs> r = memory_loop(g, c, in, 0);
    TITANS_CHECK(r.ok(), "memory_loop test: non-finite");
    std::vector<Tensor> parts{ops::reshape(g, r->y, Shape{r->y.numel()})};
    for (const auto* list : {&r->w, &r->s})
      for (const Tensor& s : *list) parts.push_back(ops::reshape(g, s, Shape{s.numel()}));
    Tensor all = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) all = ops::concat(g, {all, parts[i]}, 0);
    return all;
  };
  t.reference = [c, B, N](const std::vector<HostArray>& x) {
    std::vector<double> th = x[3].v, al = x[5].v;
    for (double& e : th) e *= 0.1;
    for (double& e : al) e *= 0.1;
    std::vector<std::vector<double>> w0;
    for (int l = 0; l < c.depth; ++l) w0.push_back(x[size_t(6 + l)].v);
    HostArray out;
    out.v = naive_memory_loop(c, B, N, x[0].v, x[1].v, x[2].v, th, x[4].v, al, w0);
    out.shape = Shape{int64_t(out.v.size())};
    return out;
  };
  return t;
}

}  // namespace

std::vector<OpTest> MemoryLoopOp::tests() {
  return {loop_case("depth2 gelu chunk2 N5", {2, 2, 5, false, MemoryActivation::gelu}),
          loop_case("depth1 silu residual chunk3 N7", {1, 3, 7, true, MemoryActivation::silu}),
          loop_case("depth3 gelu chunk4 N8", {3, 4, 8, false, MemoryActivation::gelu})};
}

namespace ops {
Status register_memory_loop_op(OpRegistry& r) { return r.add<MemoryLoopOp>(); }
}  // namespace ops

}  // namespace titans
