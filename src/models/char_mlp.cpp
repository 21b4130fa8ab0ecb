#include "models/char_mlp.h"

#include <cmath>

#include "ops/ops.h"

namespace titans {

CharMlp::CharMlp(const CharMlpConfig& c, ParamStore& params, Rng& rng) : cfg_(c) {
  embedding_ = params.add("embedding", Shape{c.vocab, c.embed}, {.decay = false});
  w1_ = params.add("w1", Shape{c.context * c.embed, c.hidden});
  b1_ = params.add("b1", Shape{c.hidden}, {.decay = false});
  w2_ = params.add("w2", Shape{c.hidden, c.vocab});
  b2_ = params.add("b2", Shape{c.vocab}, {.decay = false});
  init_normal(embedding_, rng, 1.0);
  init_normal(w1_, rng, 1.0 / std::sqrt(double(c.context * c.embed)));
  init_normal(w2_, rng, 1.0 / std::sqrt(double(c.hidden)));
}

Tensor CharMlp::forward(Graph& g, const Tensor& ids) const {
  const int64_t batch = ids.shape[0];
  Tensor e = ops::embedding(g, embedding_, ids);                    // [B, ctx, D]
  e = ops::reshape(g, e, Shape{batch, cfg_.context * cfg_.embed});  // [B, ctx·D]
  Tensor h = ops::gelu(g, ops::add(g, ops::matmul(g, e, w1_), b1_));
  return ops::add(g, ops::matmul(g, h, w2_), b2_);
}

}  // namespace titans
