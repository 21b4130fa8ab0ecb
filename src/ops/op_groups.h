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

}  // namespace titans::ops
