// The sequential reference of the Titans memory, for tests only: token by token with chunk-frozen
// inner gradients (spec §4; chunk = 1 is the exact recurrence of Eq. 13–14), on plain double
// buffers, forward only. Written as obviously-correct loops, independently of NeuralMemory.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "memory/memory_config.h"

namespace titans {

// Parameters by the reference's names (reference/neural_memory.py), row-major.
using NaiveMemoryParams = std::map<std::string, std::vector<double>>;

// x [B, T, d_model] row-major → out [B, T, d_model], starting from the learned W_0 at position 0.
std::vector<double> naive_memory_forward(const NeuralMemoryConfig& cfg, const NaiveMemoryParams& p,
                                         const std::vector<double>& x, int64_t B, int64_t T);

}  // namespace titans
