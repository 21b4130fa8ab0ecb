// Proves that steady-state training steps make no heap allocation. Every allocation entry point of
// the C library is replaced in this executable (operator new reaches malloc, so C++ allocations are
// counted too), on every thread, OpenMP workers included.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cerrno>

#include "train/toy_trainer.h"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<long> g_allocations{0};
std::atomic<bool> g_counting{false};
void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
}
}  // namespace

extern "C" {
void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
  count();
  return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void* memalign(size_t a, size_t n) {
  count();
  return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) {
  count();
  return __libc_memalign(a, n);
}
int posix_memalign(void** p, size_t a, size_t n) {
  count();
  *p = __libc_memalign(a, n);
  return *p ? 0 : ENOMEM;
}
void free(void* p) { __libc_free(p); }
}

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
