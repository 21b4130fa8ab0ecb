// `titans init --config C --seed S --out model.safetensors`: a freshly initialised model file.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "models/model_file.h"

namespace titans::cli {

namespace {

struct InitArgs {
  std::string config, out;
  uint64_t seed = 0;
};

Status run_init(const InitArgs& a) {
  Result<ModelConfig> cfg = resolve_config(a.config);
  if (!cfg) return cfg.status();
  Result<std::unique_ptr<Model>> model = create_model(*cfg, a.seed);
  if (!model) return model.status();
  if (Status s = save_model(a.out, **model); !s) return s;
  fmt::print("{}: {} model, {} parameters (seed {})\n", a.out, cfg->arch, (*model)->params().numel(), a.seed);
  return {};
}

}  // namespace

void add_init_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<InitArgs>();
  CLI::App* cmd = app.add_subcommand("init", "write a freshly initialised model file");
  cmd->add_option("--config", args->config, "a preset name (e.g. transformer-tiny) or a config file")->required();
  cmd->add_option("--out", args->out, "the model file to write (.safetensors)")->required();
  add_seed_option(*cmd, &args->seed);
  cmd->callback([args, exit_code] {
    const Status s = run_init(*args);
    if (!s) fmt::print(stderr, "titans: error: {}\n", s.message());
    *exit_code = s ? 0 : 2;
  });
}

}  // namespace titans::cli
