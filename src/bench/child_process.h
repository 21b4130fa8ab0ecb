// Runs a program as a child process and collects its standard output; its standard error goes to
// ours (progress lines). The benchmarks run each configuration in a fresh process of this binary so
// that a peak-RSS figure belongs to that configuration alone.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace titans {

// argv[0] is the program's path (no PATH search). Errors: the program could not start, or it
// exited non-zero or died of a signal (the message says which).
Result<std::string> run_child(const std::vector<std::string>& argv);

// The path of the running executable (/proc/self/exe), to run this binary again.
std::string self_executable();

}  // namespace titans
