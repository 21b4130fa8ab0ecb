#include <fmt/format.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "cli/commands.h"

namespace titans::cli {

void add_version_command(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("version", "print the version and the build's libraries");
  cmd->callback([exit_code] {
    const dnnl_version_t* v = dnnl_version();
    fmt::print("titans {}\n", TITANS_VERSION);
    fmt::print("oneDNN {}.{}.{}, OpenMP threads {}\n", v->major, v->minor, v->patch,
               omp_get_max_threads());
    *exit_code = 0;
  });
}

}  // namespace titans::cli
