#include "ops/attention_composed.h"

#include "ops/ops.h"

namespace titans::ops {

bool attention_visible(const AttentionMask& m, int64_t i, int64_t j, int64_t Tk) {
  if (j < m.n_prefix) return true;
  if (!m.causal) return true;
  const int64_t block = (Tk - m.n_prefix) / m.n_blocks;
  const int64_t r = m.k_pos0 + (j - m.n_prefix) % block, p = m.q_pos0 + i;
  return r <= p && (m.window == 0 || p - r < m.window);
}

Tensor attention_composed(Graph& g, const Tensor& q, const Tensor& k, const Tensor& v,
                          const AttentionMask& m, double scale_by) {
  const int64_t Tq = q.shape[1], Tk = k.shape[1];
  // hidden[i, j] = 1 where query i must not see key j; seen[i] = 0 for a row that sees nothing.
  const Tensor hidden = g.new_tensor(Shape{Tq, Tk}, DType::i32, false);
  const Tensor seen = g.new_tensor(Shape{Tq, 1}, q.dtype, false);
  for (int64_t i = 0; i < Tq; ++i) {
    bool any = false;
    for (int64_t j = 0; j < Tk; ++j) {
      const bool vis = attention_visible(m, i, j, Tk);
      hidden.ptr<int32_t>()[i * Tk + j] = vis ? 0 : 1;
      any = any || vis;
    }
    dispatch_float(q.dtype, [&](auto zero) { seen.ptr<decltype(zero)>()[i] = any ? 1 : 0; });
  }
  const Tensor qh = transpose(g, q, 1, 2), kh = transpose(g, k, 1, 2), vh = transpose(g, v, 1, 2);
  const Tensor scores = scale(g, matmul(g, qh, transpose(g, kh, 2, 3)), scale_by);
  const Tensor p = mul(g, softmax(g, masked_fill(g, scores, hidden, -1e30)), seen);
  return contiguous(g, transpose(g, matmul(g, p, vh), 1, 2));
}

}  // namespace titans::ops
