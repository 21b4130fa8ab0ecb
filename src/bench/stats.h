// Small statistics shared by the benchmarks.
#pragma once

#include <algorithm>
#include <vector>

namespace titans {

// The median of `v` (the upper one of the middle two for an even count); 0 when empty.
inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace titans
