// The benchmarks' analytic FLOP count (src/bench/memory_bench.cpp) against a hand computation.
// No timings here: benchmarks time, tests do not.
#include <gtest/gtest.h>

#include "bench/memory_bench.h"
#include "bench/train_bench.h"

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

// d_model 8 = 2 heads × 4, FFN 16, vocab 10, one layer, batch 1, T = 4.
ModelConfig tiny_model(const char* arch) {
  ModelConfig c;
  c.arch = arch;
  c.vocab_size = 10;
  c.d_model = 8;
  c.n_heads = 2;
  c.ffn_hidden = 16;
  c.window = 2;
  c.segment = 2;
  c.n_persistent = 1;
  c.memory.chunk = 2;
  return c;
}

TEST(ModelStepFlops, HandCountedTinyConfigs) {
  // FFN 3·2·4·8·16 = 3072, q k v o 4·2·4·8·8 = 2048, head 2·4·8·10 = 640.
  // Causal: 10 visible pairs, 4·d_h·10·H = 320.
  const ModelFlops t = model_forward_flops(tiny_model("transformer"), 1, 4);
  EXPECT_DOUBLE_EQ(t.dense, 3072 + 2048);
  EXPECT_DOUBLE_EQ(t.attention, 320);
  EXPECT_DOUBLE_EQ(t.head, 640);
  EXPECT_DOUBLE_EQ(model_step_flops(tiny_model("transformer"), 1, 4), 3 * 6080.0);
  EXPECT_DOUBLE_EQ(model_step_flops(tiny_model("transformer"), 3, 4), 9 * 6080.0);
  // Window 2: 1 + 2 + 2 + 2 = 7 visible pairs.
  EXPECT_DOUBLE_EQ(model_forward_flops(tiny_model("swa"), 1, 4).attention, 4 * 4 * 7 * 2);
  // Infini, two segments of 2: 3 + 3 pairs; memory read and write, each 2·(N·H)·d_h² + 2·N·H·d_h.
  const ModelFlops inf = model_forward_flops(tiny_model("infini"), 1, 4);
  EXPECT_DOUBLE_EQ(inf.attention, 4 * 4 * 6 * 2);
  EXPECT_DOUBLE_EQ(inf.memory, 2 * (2 * 8 * 4 * 4 + 2 * 4 * 2 * 4));
  // titans_lmm: the memory over P ‖ n (T + N_p tokens) and the FFN.
  const ModelConfig lmm = tiny_model("titans_lmm");
  const ModelFlops m = model_forward_flops(lmm, 1, 4);
  EXPECT_DOUBLE_EQ(m.memory, memory_forward_flops(lmm.memory_config(), 1, 5));
  EXPECT_DOUBLE_EQ(m.dense, 3072);
  EXPECT_DOUBLE_EQ(m.attention, 0);
  // titans_mac, two segments of 2 with N_p = 1: per segment s·N_p + s(s + 1) = 8 pairs.
  EXPECT_DOUBLE_EQ(model_forward_flops(tiny_model("titans_mac"), 1, 4).attention, 4 * 4 * 16 * 2);
}

}  // namespace
}  // namespace titans
