// Tensor views, the arena and the tape: the pieces under every op.
#include <gtest/gtest.h>

#include "autodiff/graph.h"
#include "ops/ops.h"

namespace titans {
namespace {

TEST(Tensor, ViewsShareDataAndGradient) {
  Graph g;
  Tensor x = g.zeros(Shape{3, 4}, DType::f32, true);
  for (int i = 0; i < 12; ++i) x.ptr<float>()[i] = float(i);
  Tensor t = ops::transpose(g, x, 0, 1);
  EXPECT_EQ(t.shape, (Shape{4, 3}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.ptr<float>()[1 * t.strides[0] + 2 * t.strides[1]], 9.0f);  // t[1][2] = x[2][1]
  Tensor s = ops::slice(g, x, 1, 1, 3);
  EXPECT_EQ(s.shape, (Shape{3, 2}));
  EXPECT_EQ(s.ptr<float>()[s.strides[0] * 2 + 1], 10.0f);  // s[2][1] = x[2][2]
  EXPECT_EQ(static_cast<char*>(s.grad) - static_cast<char*>(x.grad), 4);
}

TEST(Tensor, ReshapeOfStridedTensorCopies) {
  Graph g;
  Tensor x = g.zeros(Shape{2, 3}, DType::f32, false);
  for (int i = 0; i < 6; ++i) x.ptr<float>()[i] = float(i);
  Tensor r = ops::reshape(g, ops::transpose(g, x, 0, 1), Shape{6});
  const float expect[6] = {0, 3, 1, 4, 2, 5};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(r.ptr<float>()[i], expect[i]);
}

TEST(Arena, ConsolidatesAndStopsGrowing) {
  Arena a(1024);
  for (int step = 0; step < 3; ++step) {
    for (int i = 0; i < 100; ++i) a.alloc(1000);
    a.reset();
  }
  const int64_t blocks = a.heap_blocks();
  for (int step = 0; step < 10; ++step) {
    for (int i = 0; i < 100; ++i) a.alloc(1000);
    a.reset();
  }
  EXPECT_EQ(a.heap_blocks(), blocks);
  EXPECT_GE(a.capacity(), size_t(100 * 1024));
}

TEST(Graph, RecordsOnlyWhenAGradientFlows) {
  Graph g;
  Tensor a = g.zeros(Shape{4}, DType::f32, false);
  Tensor b = g.zeros(Shape{4}, DType::f32, true);
  ops::add(g, a, a);
  EXPECT_EQ(g.tape().size(), 0u);
  Tensor c = ops::add(g, a, b);
  EXPECT_EQ(g.tape().size(), 1u);
  EXPECT_TRUE(c.requires_grad());
  {
    NoGradScope off(g);
    ops::add(g, a, b);
  }
  EXPECT_EQ(g.tape().size(), 1u);
}

TEST(Graph, BackwardAccumulatesThroughSharedInputs) {
  Graph g;
  Tensor x = g.zeros(Shape{3}, DType::f64, true);
  for (int i = 0; i < 3; ++i) x.ptr<double>()[i] = i + 1.0;
  // y = x*x + x  ⇒ dy/dx = 2x + 1
  Tensor y = ops::add(g, ops::mul(g, x, x), x);
  g.backward(y);
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(x.gptr<double>()[i], 2 * (i + 1.0) + 1);
}

}  // namespace
}  // namespace titans
