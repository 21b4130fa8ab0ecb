// `titans eval`: a task's accuracy by length × needle depth (docs/EVALUATION.md) — the table on
// stdout, JSON records and an SVG heatmap on request, a live status line on stderr.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/task_text.h"
#include "eval/evaluator.h"
#include "eval/lengths.h"
#include "eval/report.h"
#include "models/model_file.h"

namespace titans::cli {

namespace {

struct EvalArgs {
  std::string model, task, lengths, depths = "0,0.25,0.5,0.75,1", json, svg, corpus;
  int samples = 5;
  uint64_t seed = 0;
  int64_t piece = 0;
  int threads = 0;
  bool no_sharing = false;
  data::TaskParams params;
};

std::string duration(double s) {
  if (s < 0) return "?";
  const int64_t t = int64_t(s + 0.5);
  return t >= 3600 ? fmt::format("{}h{:02d}m", t / 3600, t / 60 % 60)
                   : fmt::format("{}m{:02d}s", t / 60, t % 60);
}

// The live line: rewritten in place on a terminal, a line every 10 s in a log.
void print_progress(const eval::EvalProgress& p) {
  static const bool tty = isatty(STDERR_FILENO) != 0;
  static double last_line = -1e9;
  if (!tty && p.seconds - last_line < 10) return;
  last_line = p.seconds;
  const std::string line =
      fmt::format("eval: length {} depth {} sample {} | {}/{} examples | {:.0f} tok/s | ETA {}",
                  eval::format_length(p.length), p.depth < 0 ? "-" : fmt::format("{:g}", p.depth),
                  p.sample + 1, p.examples_done, p.examples_total,
                  double(p.tokens_fed) / std::max(p.seconds, 1e-9), duration(p.eta_seconds));
  if (tty)
    fmt::print(stderr, "\r\033[K{}", line);
  else
    fmt::print(stderr, "{}\n", line);
}

Status run_eval(const EvalArgs& a) {
  Result<data::TaskSpec> spec = data::parse_task(a.task);
  if (!spec) return spec.status();
  if (spec->is_mixture()) return Status::error("eval takes one task, not a mixture");
  eval::EvalOptions opt;
  Result<std::vector<int64_t>> lengths = eval::parse_lengths(a.lengths);
  if (!lengths) return lengths.status();
  opt.lengths = *lengths;
  Result<std::vector<double>> depths = eval::parse_depths(a.depths);
  if (!depths) return depths.status();
  opt.depths = *depths;
  opt.samples = a.samples;
  opt.seed = a.seed;
  opt.piece = a.piece;
  opt.share_prefixes = !a.no_sharing;
  opt.progress = print_progress;
  data::TaskText text;
  data::TaskContext context;
  context.params = a.params;
  if (Status s = data::load_task_text(*spec, a.corpus, &text, &context); !s) return s;
  Result<std::unique_ptr<Model>> model = load_model(a.model);
  if (!model) return model.status();
  apply_threads(a.threads);
  Result<eval::EvalReport> rep = eval::evaluate(**model, *spec, context, opt);
  if (isatty(STDERR_FILENO)) fmt::print(stderr, "\n");
  if (!rep) return rep.status();
  const std::string title =
      fmt::format("{} ({}) on {}", a.model, (*model)->config().arch, rep->task);
  fmt::print("titans eval: {}, {} samples per cell, seed {}\n\n", title, a.samples, a.seed);
  fmt::print("{}\n", eval::format_table(*rep));
  fmt::print("scoring: {}; {} tokens through the model (shared prefixes once) in {:.1f} s\n",
             data::scoring_rule(rep->scoring), rep->tokens_fed, rep->seconds);
  if (!a.json.empty())
    if (Status s = eval::write_text(a.json, eval::to_json(*rep)); !s) return s;
  if (!a.svg.empty())
    if (Status s = eval::write_text(a.svg, eval::to_svg(*rep, "titans eval: " + title)); !s)
      return s;
  return {};
}

}  // namespace

// Values are checked by the library (one-line error, exit 2), not by CLI11.
void add_eval_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "accuracy by length x needle depth: table, JSON, SVG heatmap (docs/EVALUATION.md)");
  cmd->add_option("--model", args->model, "the model file (.safetensors)")->required();
  cmd->add_option("--task", args->task, "passkey, sniah1-3, qa1-3, mqar or lm (no mixtures)")
      ->required();
  cmd->add_option("--lengths", args->lengths,
                  "lengths in tokens, comma-separated: K = 1000, M = 1000000 (1K,4K,1M,10M)")
      ->required();
  cmd->add_option("--depths", args->depths,
                  "needle depths in [0, 1], comma-separated (tasks without a needle ignore them)")
      ->capture_default_str();
  cmd->add_option("--samples", args->samples, "examples per (length, depth) cell")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--json", args->json, "write the cells as JSON records here");
  cmd->add_option("--svg", args->svg, "write an SVG heatmap here");
  cmd->add_option("--piece", args->piece, "tokens per forward call (0: the Streamer's default)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 24));
  cmd->add_option("--corpus", args->corpus,
                  "text for sniah2/3, qa1-3, lm (default: data/kjv.txt, from scripts/setup.sh)");
  cmd->add_flag("--no-prefix-sharing", args->no_sharing,
                "feed every example on its own (slower; the results are the same)");
  add_seed_option(*cmd, &args->seed);
  add_threads_option(*cmd, &args->threads);
  cmd->callback([args, exit_code] {
    const Status s = run_eval(*args);
    if (!s) fmt::print(stderr, "titans: error: {}\n", s.message());
    *exit_code = s ? 0 : 2;
  });
}

}  // namespace titans::cli
