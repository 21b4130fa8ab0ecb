// Attention composed of engine ops (matmul, masked_fill, softmax): it materialises the Tq×Tk
// scores, so it is for tests and short sequences only — the reference the block-wise kernel
// (ops/attention.h) and the models' streaming tests are held against.
#pragma once

#include "ops/attention.h"

namespace titans::ops {

// Whether query i sees key j (of Tk keys) under `m` (the rule documented in ops/attention.h).
bool attention_visible(const AttentionMask& m, int64_t i, int64_t j, int64_t Tk);

// Same contract as ops::attention.
Tensor attention_composed(Graph& g, const Tensor& q, const Tensor& k, const Tensor& v,
                          const AttentionMask& mask, double scale);

}  // namespace titans::ops
