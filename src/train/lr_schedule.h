// The learning-rate schedule of `titans train`: linear warm-up, then cosine decay to a floor.
#pragma once

#include <cstdint>

namespace titans {

struct LrSchedule {
  double peak = 1e-3;         // the learning rate at the end of the warm-up
  double min_ratio = 0.1;     // the floor, as a fraction of the peak, reached at the last step
  int64_t warmup = 0;         // warm-up steps
  int64_t total = 1;          // the run's steps (the cosine ends here)
};

// The learning rate of step `step` (1-based):
//   step ≤ warmup:  peak · step / warmup
//   otherwise:      min + (peak − min) · ½ (1 + cos(π · p)),  p = (step − warmup) / (total − warmup),
//   with min = peak · min_ratio and p clamped to [0, 1] (steps past the total stay at the floor).
double learning_rate(const LrSchedule& s, int64_t step);

}  // namespace titans
