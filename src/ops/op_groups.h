// Each ops/*.cpp file registers its ops through one of these; src/ops/op_list.cpp calls them all.
#pragma once

#include "autodiff/op_registry.h"

namespace titans::ops {

Status register_elementwise_ops(OpRegistry& r);
Status register_shape_ops(OpRegistry& r);
Status register_reduce_ops(OpRegistry& r);
Status register_softmax_ops(OpRegistry& r);
Status register_norm_ops(OpRegistry& r);
Status register_matmul_ops(OpRegistry& r);
Status register_sequence_ops(OpRegistry& r);
Status register_memory_ops(OpRegistry& r);  // ops/memory_ops.cpp
Status register_attention_ops(OpRegistry& r);  // ops/attention.cpp
// The fused memory inner loop (memory/memory_fused_op.cpp); register_memory_ops calls it.
Status register_memory_loop_op(OpRegistry& r);
// The sequence group's ops, one per file; register_sequence_ops (ops/sequence_ops.cpp) calls them.
Status register_embedding_op(OpRegistry& r);
Status register_rope_op(OpRegistry& r);
Status register_causal_conv1d_op(OpRegistry& r);
Status register_masked_fill_op(OpRegistry& r);

}  // namespace titans::ops
