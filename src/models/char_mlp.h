// A one-hidden-layer character model (Bengio et al. 2003): the embeddings of the previous
// `context` bytes, concatenated, feed a GELU layer and a softmax over the 256 byte values. It is
// the foundation's end-to-end check — small enough to train in seconds, large enough to exercise
// embedding, matmul, broadcasting, activations, the fused cross-entropy and AdamW.
#pragma once

#include "autodiff/graph.h"
#include "optim/params.h"

namespace titans {

struct CharMlpConfig {
  int64_t vocab = 256;
  int64_t context = 8;
  int64_t embed = 16;
  int64_t hidden = 128;
};

class CharMlp {
 public:
  CharMlp(const CharMlpConfig& config, ParamStore& params, Rng& rng);
  // ids [B, context] (i32) → logits [B, vocab].
  Tensor forward(Graph& g, const Tensor& ids) const;
  const CharMlpConfig& config() const { return cfg_; }

 private:
  CharMlpConfig cfg_;
  Tensor embedding_, w1_, b1_, w2_, b2_;
};

}  // namespace titans
