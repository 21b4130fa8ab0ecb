// The one list of built-in ops. Adding an op: see CONTRIBUTING.md ("Adding an op").
#include "ops/op_groups.h"

namespace titans {

Status register_builtin_ops(OpRegistry& registry) {
  using namespace ops;
  for (auto group : {register_elementwise_ops, register_shape_ops, register_reduce_ops,
                     register_softmax_ops, register_norm_ops, register_matmul_ops,
                     register_sequence_ops, register_memory_ops, register_attention_ops}) {
    Status s = group(registry);
    if (!s.ok()) return s;
  }
  return {};
}

}  // namespace titans
