// parallel_for: the one way the ops enter an OpenMP parallel region.
//
// libgomp allocates on every entry to a region whose team has one thread (it caches only teams of
// two or more, and only the last team of a given size), so `#pragma omp parallel for if (cond)`
// with a false condition, or any region under OMP_NUM_THREADS=1, costs a heap allocation per call.
// Serial work here never enters a region, and parallel work always uses the full team.
#pragma once

#include <omp.h>

#include <cstdint>

namespace titans {

// True when a region entered here would get a team of more than one thread: more than one
// thread is available and we are not already inside an active parallel region.
inline bool can_parallelize() { return omp_get_max_threads() > 1 && !omp_in_parallel(); }

// Runs f(begin, end) over [0, n) in contiguous static blocks, one per OpenMP thread, when
// `worth_it` and can_parallelize(); otherwise calls f(0, n) directly. f is called only with
// non-empty ranges. Block t of nt is [n·t/nt, n·(t+1)/nt): boundaries depend only on n and the
// thread count, so results are reproducible for a given thread count.
//
// Capture by value ([=]): each call runs on a private copy of f, so the pointers and sizes its
// loops read are registers. Read through a reference capture, GCC may reload them inside an
// `omp simd reduction` loop and leave it scalar, which changes the summation order (and the bits)
// compared with the same loop written inline.
template <class F>
void parallel_for(int64_t n, bool worth_it, const F& f) {
  if (n <= 0) return;
  if (n == 1 || !worth_it || !can_parallelize()) {
    F body = f;
    body(int64_t(0), n);
    return;
  }
  // Always the full team (never min(threads, n)): libgomp reuses a team only of the same size.
  const int threads = omp_get_max_threads();
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) {
      F body = f;
      body(begin, end);
    }
  }
}

}  // namespace titans
