// This process's peak resident set, for the benchmarks' "peak RSS" columns.
#pragma once

#include <sys/resource.h>

#include <fstream>

namespace titans {

// getrusage's ru_maxrss is the kernel's peak-RSS counter, which Linux lets a process reset to its
// current RSS (clear_refs 5): each configuration then reports its own peak. Where the reset is not
// allowed, the value is the process's peak so far.
inline void reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (f) f << "5";
}

inline double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

}  // namespace titans
