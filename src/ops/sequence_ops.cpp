// The sequence group: embedding, rope, causal_conv1d and masked_fill, each defined in its own file.
#include "ops/op_groups.h"

namespace titans::ops {

Status register_sequence_ops(OpRegistry& r) {
  for (auto one : {register_embedding_op, register_rope_op, register_causal_conv1d_op,
                   register_masked_fill_op}) {
    Status s = one(r);
    if (!s.ok()) return s;
  }
  return {};
}

}  // namespace titans::ops
