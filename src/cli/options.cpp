#include "cli/options.h"

#include <omp.h>

namespace titans::cli {

void add_threads_option(CLI::App& cmd, int* threads) {
  cmd.add_option("--threads", *threads, "OpenMP threads (0: all cores)")
      ->check(CLI::Range(0, 1024))
      ->envname("TITANS_THREADS");
}

void add_seed_option(CLI::App& cmd, uint64_t* seed) {
  cmd.add_option("--seed", *seed, "seed for every random choice")->capture_default_str();
}

void add_state_options(CLI::App& cmd, std::string* state_in, std::string* state_out) {
  cmd.add_option("--state-in", *state_in, "continue from this memory-state snapshot (its position goes on)");
  cmd.add_option("--state-out", *state_out, "write the memory state at the end to this snapshot (atomically)");
}

void apply_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

}  // namespace titans::cli
