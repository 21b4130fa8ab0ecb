// Each command of `titans` lives in its own file and adds itself to the app here.
#pragma once

#include <CLI/CLI.hpp>

namespace titans::cli {

// Each returns the process exit code through *exit_code when its subcommand ran.
void add_version_command(CLI::App& app, int* exit_code);
void add_bench_command(CLI::App& app, int* exit_code);
void add_toy_command(CLI::App& app, int* exit_code);
void add_data_command(CLI::App& app, int* exit_code);
void add_inspect_command(CLI::App& app, int* exit_code);
void add_init_command(CLI::App& app, int* exit_code);
void add_forward_command(CLI::App& app, int* exit_code);
void add_train_command(CLI::App& app, int* exit_code);
void add_stream_command(CLI::App& app, int* exit_code);
void add_generate_command(CLI::App& app, int* exit_code);
void add_eval_command(CLI::App& app, int* exit_code);

}  // namespace titans::cli
