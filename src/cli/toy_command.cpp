// `titans toy`: trains the character MLP end to end and prints its loss falling.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "train/toy_trainer.h"

namespace titans::cli {

namespace {

struct ToyArgs {
  ToyTrainConfig cfg;
  std::string text_file;
  int threads = 0;
  int64_t print_every = 25;
};

int run_toy(const ToyArgs& a) {
  apply_threads(a.threads);
  std::string text = toy_corpus();
  if (!a.text_file.empty()) {
    std::ifstream f(a.text_file, std::ios::binary);
    if (!f) {
      fmt::print(stderr, "titans: error: cannot read --text '{}'\n", a.text_file);
      return 2;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
  }
  auto made = ToyTrainer::create(text, a.cfg);
  if (!made.ok()) {
    fmt::print(stderr, "titans: error: {}\n", made.message());
    return 2;
  }
  ToyTrainer& trainer = *made.value();
  fmt::print("toy: character MLP ({} parameters) on {} bytes, {} steps of batch {}\n",
             trainer.params().numel(), text.size(), a.cfg.steps, a.cfg.batch);
  const double before = trainer.evaluate(8);
  fmt::print("initial loss {:.4f} (ln 256 = 5.5452)\n", before);
  double seconds = 0;
  train_toy(trainer, a.cfg.steps, [&](const ToyStepReport& r) {
    seconds += r.seconds;
    if (r.step % a.print_every == 0 || r.step == a.cfg.steps)
      fmt::print("step {:5d}/{} | loss {:.4f} | lr {:.2e} | grad norm {:.3f} | {:.2f} ms | {:.0f} tok/s\n",
                 r.step, a.cfg.steps, r.loss, r.lr, r.grad_norm, 1e3 * r.seconds,
                 double(r.tokens) / std::max(seconds, 1e-9));
  });
  const double after = trainer.evaluate(8);
  fmt::print("loss fell from {:.4f} to {:.4f} (÷{:.1f}) in {:.2f} s\n", before, after,
             before / after, seconds);
  return 0;
}

}  // namespace

void add_toy_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ToyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "toy", "train a tiny character MLP end to end and print its loss falling");
  cmd->add_option("--steps", args->cfg.steps, "optimisation steps")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40))
      ->capture_default_str();
  cmd->add_option("--batch", args->cfg.batch, "examples per step")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--lr", args->cfg.lr, "peak learning rate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--text", args->text_file, "train on this file instead of the built-in text");
  cmd->add_option("--print-every", args->print_every, "steps between progress lines")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_seed_option(*cmd, &args->cfg.seed);
  add_threads_option(*cmd, &args->threads);
  cmd->callback([args, exit_code] { *exit_code = run_toy(*args); });
}

}  // namespace titans::cli
