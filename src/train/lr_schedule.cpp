#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace titans {

double learning_rate(const LrSchedule& s, int64_t step) {
  if (step <= s.warmup) return s.peak * double(step) / double(std::max<int64_t>(1, s.warmup));
  const double floor = s.peak * s.min_ratio;
  const double progress =
      std::clamp(double(step - s.warmup) / double(std::max<int64_t>(1, s.total - s.warmup)), 0.0, 1.0);
  return floor + (s.peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace titans
