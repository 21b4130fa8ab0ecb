// TEMPORARY: ops::attention through the composed reference until the block-wise kernel lands.
#include "ops/attention_composed.h"

namespace titans::ops {

Tensor attention(Graph& g, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMask& mask,
                 double scale) {
  return attention_composed(g, q, k, v, mask, scale);
}

}  // namespace titans::ops
