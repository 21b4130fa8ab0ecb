// Proves that steady-state training steps make no heap allocation. Every allocation entry point of
// the C library is replaced in this executable (operator new reaches malloc, so C++ allocations are
// counted too), on every thread, OpenMP workers included.
#include <gtest/gtest.h>

#include "alloc_hook.h"
#include "train/toy_trainer.h"

namespace titans {
namespace {

TEST(AllocationHook, CountsAllocations) {  // the hook itself works: the test below can fail
  g_allocations = 0;
  g_counting = true;
  void* volatile p = malloc(100);
  int* volatile q = new int[4];
  g_counting = false;
  free(p);
  delete[] q;
  EXPECT_EQ(g_allocations.load(), 2);
}

TEST(SteadyState, TrainingStepsMakeNoHeapAllocation) {
  ToyTrainConfig c;
  c.steps = 40;
  auto t = ToyTrainer::create(toy_corpus(), c);
  ASSERT_TRUE(t.ok());
  ToyTrainer& trainer = *t.value();
  for (int i = 0; i < 5; ++i) trainer.step();  // warm-up: arena, tape and workspaces find their size
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 30; ++i) trainer.step();
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0) << "heap allocations in 30 steady-state training steps";
  EXPECT_LT(trainer.last().loss, 5.0);  // the steps did train
}

}  // namespace
}  // namespace titans
