// Options shared by several commands, each declared once here (name, help, default, check).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace titans::cli {

// --threads N: OpenMP threads for the command (default: all cores).
void add_threads_option(CLI::App& cmd, int* threads);
// --seed S: the seed of every random choice the command makes.
void add_seed_option(CLI::App& cmd, uint64_t* seed);
// --state-in S / --state-out S: a memory-state snapshot to continue from / to write at the end.
void add_state_options(CLI::App& cmd, std::string* state_in, std::string* state_out);
// Applies --threads (0 keeps the OpenMP default).
void apply_threads(int threads);

}  // namespace titans::cli
