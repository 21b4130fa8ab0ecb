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

// The inner loop alone (spec §4–§5), problems (b, h) in order: q, k, v [B, H, N, d_h], gates θ, η,
// α [B, H, N] used as given (cfg.momentum / decay ignored), w0[l] [H, out_l, in_l] shared by the
// batch, S_0 = 0. Returns y [B, H, N, d_h], then per layer W^l, then per layer S^l
// ([B, H, out_l, in_l]): the state after the last full chunk.
std::vector<double> naive_memory_loop(const NeuralMemoryConfig& cfg, int64_t B, int64_t N,
                                      const std::vector<double>& q, const std::vector<double>& k,
                                      const std::vector<double>& v, const std::vector<double>& theta,
                                      const std::vector<double>& eta,
                                      const std::vector<double>& alpha,
                                      const std::vector<std::vector<double>>& w0);

}  // namespace titans
