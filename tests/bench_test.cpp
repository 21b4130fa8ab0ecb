// The benchmarks' analytic FLOP count (src/bench/memory_bench.cpp) against a hand computation.
// No timings here: benchmarks time, tests do not.
#include <gtest/gtest.h>

#include "bench/memory_bench.h"

namespace titans {
namespace {

// d_model 8, 2 heads of d 4, depth 2 (W¹ 8×4, W² 4×8: P = 64, P_1 = 32, Σ(i + o) = 24), chunk 2,
// batch 1, all three gates.
NeuralMemoryConfig tiny() {
  NeuralMemoryConfig c;
  c.d_model = 8;
  c.n_heads = 2;
  c.depth = 2;
  c.chunk = 2;
  return c;
}

TEST(MemoryStepFlops, HandCountedTinyConfig) {
  // T = 4, two full chunks. Projections 2·4·8·(4·8 + 3·2) = 2432, output 2·4·8·8 = 512.
  // Per chunk and head: coefficients 2·4 + 2·8 = 24, key path 2·2·64 = 256, inner backward
  // 2·2·32 = 128, reads 4·2·64 + 2·4·24 = 704, advance 4·2·64 = 512: 1624, times 2 heads × 2
  // chunks. Forward 2432 + 512 + 6496 = 9440; forward + backward 3 × 9440.
  EXPECT_DOUBLE_EQ(memory_step_flops(tiny(), 1, 4), 28320.0);
  // T = 5: three chunks, the last one padded and not advanced: 3680 dense + 2·(3·1112 + 2·512).
  EXPECT_DOUBLE_EQ(memory_step_flops(tiny(), 1, 5), 3.0 * (3680 + 2 * (3 * 1112 + 2 * 512)));
  // Batch multiplies everything.
  EXPECT_DOUBLE_EQ(memory_step_flops(tiny(), 3, 4), 3 * 28320.0);
}

TEST(MemoryStepFlops, DisabledGatesAreNotCounted) {
  NeuralMemoryConfig c = tiny();
  c.momentum = false;
  c.decay = false;
  EXPECT_DOUBLE_EQ(memory_step_flops(c, 1, 4), 28320.0 - 3 * (2 * 4 * 8 * 2 * 2));
}

}  // namespace
}  // namespace titans
