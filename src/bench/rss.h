// This process's peak resident set, for the benchmarks' "peak RSS" columns.
#pragma once

#include <sys/resource.h>

#include <fstream>
#include <string>

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

// A "VmXXX:  1234 kB" line of /proc/self/status in MiB (0 where the field is missing). VmHWM is the
// peak resident set like ru_maxrss; VmRSS the current one (the streaming bench reports both).
inline double proc_status_mib(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string name;
  double kib = 0;
  while (f >> name) {
    if (name == field + ":" && f >> kib) return kib / 1024.0;
    f.ignore(1 << 20, '\n');
  }
  return 0;
}
inline double vm_hwm_mib() { return proc_status_mib("VmHWM"); }
inline double vm_rss_mib() { return proc_status_mib("VmRSS"); }

}  // namespace titans
