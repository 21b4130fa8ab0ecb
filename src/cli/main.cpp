// titans: train, run and evaluate sequence models with test-time memory.
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"titans: sequence models with test-time memory (Titans, Infini-attention)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", TITANS_VERSION);
  int exit_code = 0;
  titans::cli::add_version_command(app, &exit_code);
  titans::cli::add_bench_command(app, &exit_code);
  titans::cli::add_toy_command(app, &exit_code);
  titans::cli::add_data_command(app, &exit_code);
  titans::cli::add_inspect_command(app, &exit_code);
  titans::cli::add_init_command(app, &exit_code);
  titans::cli::add_forward_command(app, &exit_code);
  titans::cli::add_train_command(app, &exit_code);
  titans::cli::add_stream_command(app, &exit_code);
  titans::cli::add_generate_command(app, &exit_code);
  titans::cli::add_eval_command(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message; every usage error exits 2 like every other error (help: 0).
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}
