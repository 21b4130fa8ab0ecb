// The engine's differentiable ops. Each function computes its result eagerly into the graph's arena
// and, when an input carries a gradient (and recording is on), records itself for backward().
// Inputs may be strided views; outputs are fresh contiguous tensors unless the op is a view
// (reshape of a contiguous tensor, transpose, slice), whose output aliases the input's storage.
// Floating inputs are f32 or f64 (all inputs of one op alike); ids and masks are i32.
#pragma once

#include <initializer_list>
#include <span>

#include "autodiff/graph.h"

namespace titans::ops {

// ---- elementwise (ops/elementwise.cpp): numpy-style broadcasting, aligned from the right
Tensor add(Graph& g, const Tensor& a, const Tensor& b);
Tensor sub(Graph& g, const Tensor& a, const Tensor& b);
Tensor mul(Graph& g, const Tensor& a, const Tensor& b);
Tensor div(Graph& g, const Tensor& a, const Tensor& b);
Tensor swiglu(Graph& g, const Tensor& a, const Tensor& b);  // silu(a) ⊙ b, one op (broadcasting)
Tensor scale(Graph& g, const Tensor& x, double s);          // s · x
Tensor exp(Graph& g, const Tensor& x);
Tensor log(Graph& g, const Tensor& x);
Tensor sigmoid(Graph& g, const Tensor& x);
Tensor silu(Graph& g, const Tensor& x);  // x · sigmoid(x)
Tensor gelu(Graph& g, const Tensor& x);  // tanh form: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
Tensor tanh(Graph& g, const Tensor& x);
Tensor elu(Graph& g, const Tensor& x);  // alpha = 1: x > 0 ? x : eˣ − 1

// ---- shape (ops/shape.cpp)
Tensor reshape(Graph& g, const Tensor& x, const Shape& shape);    // view if x is contiguous
Tensor transpose(Graph& g, const Tensor& x, int dim0, int dim1);  // view
Tensor slice(Graph& g, const Tensor& x, int axis, int64_t start,
             int64_t end);                     // view, [start, end)
Tensor contiguous(Graph& g, const Tensor& x);  // x itself if already contiguous, else a copy
Tensor concat(Graph& g, std::initializer_list<Tensor> parts, int axis);  // up to kMaxOpInputs parts
Tensor concat(Graph& g, std::span<const Tensor> parts, int axis);        // up to kMaxOpInputs parts
// Any number of parts (a tree of concats; O(log n) copies of the result, not O(n) like a running
// one).
Tensor concat_all(Graph& g, std::span<const Tensor> parts, int axis);

// ---- reductions and row-wise ops (ops/reduce.cpp, ops/softmax.cpp, ops/norm.cpp)
Tensor sum(Graph& g, const Tensor& x, int axis, bool keepdim = false);
Tensor mean(Graph& g, const Tensor& x, int axis, bool keepdim = false);
Tensor softmax(Graph& g, const Tensor& x);  // over the last axis
// Mean over rows of −log softmax(logits)[target]; logits [N, V], targets i32 [N]; rows whose
// target is −1 are ignored (and not counted in the mean; if every row is, the loss is 0 with a zero
// gradient, where PyTorch gives NaN). Returns a scalar (shape []).
Tensor cross_entropy(Graph& g, const Tensor& logits, const Tensor& targets);
// x / sqrt(mean(x²) + eps) · weight over the last axis; weight [D].
Tensor rmsnorm(Graph& g, const Tensor& x, const Tensor& weight, double eps = 1e-6);
// x / sqrt(|x|² + eps) over the last axis (Titans' q/k normalisation).
Tensor l2norm(Graph& g, const Tensor& x, double eps = 1e-6);

// ---- products (ops/matmul.cpp)
// bf16: float32 operands rounded to bf16, products accumulated in fp32. float64 operands ignore it
// (float64 exists for gradient checks).
enum class Precision { fp32, bf16 };
// a [..., M, K] · b [K, N] (shared weight) or b [..., K, N] with a's batch dimensions.
Tensor matmul(Graph& g, const Tensor& a, const Tensor& b, Precision p = Precision::fp32);

// ---- sequence ops (ops/embedding.cpp, ops/rope.cpp, ops/conv1d.cpp, ops/mask.cpp)
Tensor embedding(Graph& g, const Tensor& table, const Tensor& ids);  // [V, D], i32 [...] → [..., D]
// Rotary embedding (θ base `theta`) of x [B, T, H, d_h] at positions pos0 … pos0+T−1; pairs are
// (i, i + d_h/2) ("rotate half").
Tensor rope(Graph& g, const Tensor& x, int64_t pos0, double theta = 10000.0);
// Causal depthwise convolution: x [B, T, C], w [C, K]; y[b,t,c] = Σ_k w[c,k] · x[b, t−K+1+k, c],
// positions before 0 read as zero.
Tensor causal_conv1d(Graph& g, const Tensor& x, const Tensor& w);
// x where mask == 0, `value` where mask != 0; mask i32 broadcastable to x.
Tensor masked_fill(Graph& g, const Tensor& x, const Tensor& mask, double value);

// ---- memory ops (ops/memory_ops.cpp)
// x [..., b] → [..., b, b]: P[..., i, j] = Π_{k=j+1..i} x[..., k] for i ≥ j (1 on the diagonal), 0
// above it — the in-chunk decay products of the Titans memory update (spec §4).
Tensor tri_cumprod(Graph& g, const Tensor& x);

}  // namespace titans::ops
