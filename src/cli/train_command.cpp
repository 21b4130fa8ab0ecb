// `titans train --config C --task T --out DIR [...]`: trains a model on a task (docs/TRAINING.md).
// `--resume` continues the run in DIR from its newest complete checkpoint.
#include <fmt/format.h>
#include <omp.h>

#include <filesystem>
#include <functional>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/corpus.h"
#include "data/sentences.h"
#include "models/model_file.h"
#include "train/trainer.h"

namespace titans::cli {

namespace {

using data::TaskContext;

struct TrainArgs {
  std::string config, out;
  std::string init;  // a model file whose weights start a new run (a curriculum's next stage)
  bool resume = false;
  TrainOptions opts;
  int threads = 0;
  int64_t print_every = 10;
};

// The texts a task reads: the corpus's training part for training, its validation part for the
// validation set (the natural-text haystack draws sentences from each part alike).
struct TaskTexts {
  std::optional<data::Corpus> corpus;
  data::SentenceBank train_bank, valid_bank;
  TaskContext train, validation;
};

Status load_texts(const TrainOptions& o, TaskTexts& t) {
  Result<data::TaskSpec> spec = data::parse_task(o.task);
  if (!spec) return spec.status();
  bool needs_text = false;
  for (const data::TaskInfo& info : data::task_registry())
    for (const auto& [name, weight] : spec->parts)
      if (info.name == name) needs_text = needs_text || info.needs_lm_text || info.needs_natural_text;
  if (!needs_text) return {};
  Result<data::Corpus> corpus = data::load_corpus(o.corpus.empty() ? data::default_corpus_path() : o.corpus);
  if (!corpus) return corpus.status();
  t.corpus = std::move(corpus.value());
  t.train_bank = data::SentenceBank::from_text(t.corpus->train());
  t.valid_bank = data::SentenceBank::from_text(t.corpus->validation());
  t.train = {t.corpus->train(), &t.train_bank, o.task_params};
  t.validation = {t.corpus->validation(), &t.valid_bank, o.task_params};
  return {};
}

std::string duration(double seconds) {
  const int64_t s = int64_t(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

// The options a resumed run takes from the command line when given there (the rest come from the
// checkpoint; Trainer::resume refuses a change to anything that alters a step).
using Override = std::pair<const char*, std::function<void(TrainOptions&, const TrainOptions&)>>;
const std::vector<Override>& overrides() {
#define TITANS_OVERRIDE(flag, field) {flag, [](TrainOptions& to, const TrainOptions& from) { to.field = from.field; }}
  static const std::vector<Override> list = {
      TITANS_OVERRIDE("--task", task),           TITANS_OVERRIDE("--steps", steps),
      TITANS_OVERRIDE("--batch", batch),         TITANS_OVERRIDE("--seq", seq),
      TITANS_OVERRIDE("--accum", accum),         TITANS_OVERRIDE("--lr", lr),
      TITANS_OVERRIDE("--warmup", warmup),       TITANS_OVERRIDE("--min-lr-ratio", min_lr_ratio),
      TITANS_OVERRIDE("--weight-decay", weight_decay), TITANS_OVERRIDE("--clip", clip),
      TITANS_OVERRIDE("--seed", seed),           TITANS_OVERRIDE("--eval-every", eval_every),
      TITANS_OVERRIDE("--eval-batches", eval_batches), TITANS_OVERRIDE("--ckpt-every", ckpt_every),
      TITANS_OVERRIDE("--keep", keep),           TITANS_OVERRIDE("--corpus", corpus),
      TITANS_OVERRIDE("--pairs", task_params.mqar_pairs), TITANS_OVERRIDE("--mqar-vocab", task_params.mqar_vocab),
      TITANS_OVERRIDE("--facts", task_params.qa_facts),
      TITANS_OVERRIDE("--full-lm-loss", task_params.full_lm_loss),
      TITANS_OVERRIDE("--tail-jitter", task_params.tail_jitter),
      TITANS_OVERRIDE("--write-penalty", write_penalty),
  };
#undef TITANS_OVERRIDE
  return list;
}

// Builds the trainer of a new or resumed run. Lines for people go to *notes, printed only when it
// succeeds (an error is one line on its own).
Result<std::unique_ptr<Trainer>> start(const TrainArgs& a, const CLI::App& cmd, TaskTexts& texts,
                                       std::vector<std::string>* notes) {
  const auto note = [notes](std::string line) { notes->push_back(std::move(line)); };
  if (a.out.empty()) return Status::error("--out DIR is required (the run's log, checkpoints and final model)");
  if (!a.resume) {
    if (a.config.empty()) return Status::error("--config is required (a preset such as transformer-tiny, or a file)");
    if (a.opts.task.empty()) return Status::error("--task is required (e.g. mqar; titans data lists the tasks)");
    Result<ModelConfig> cfg = resolve_config(a.config);
    if (!cfg) return cfg.status();
    if (Status s = a.opts.validate(); !s) return s;
    if (Status s = load_texts(a.opts, texts); !s) return s;
    Result<std::unique_ptr<Model>> model =
        a.init.empty() ? create_model(*cfg, a.opts.seed) : load_model(a.init);
    if (!model) return model.status();
    // The config stays required and must be the model file's, so a stage's command says what it trains.
    if (!a.init.empty() && config_to_json((*model)->config()) != config_to_json(*cfg))
      return Status::error("--init: the config of " + a.init + " differs from --config " +
                           a.config);
    if (!a.init.empty())
      note("weights from " + a.init + " (--init); a fresh optimiser and schedule");
    note(fmt::format("{} model, {} parameters; task {}, {} steps of {} x {} x {} tokens", cfg->arch,
                     (*model)->params().numel(), a.opts.task, a.opts.steps, a.opts.accum, a.opts.batch, a.opts.seq));
    return Trainer::create(std::move(model.value()), a.opts, a.out, texts.train, texts.validation);
  }
  const std::string dir = a.out + "/checkpoints";
  if (!std::filesystem::is_directory(dir)) return Status::error("--resume: " + a.out + " holds no checkpoints to resume from");
  Result<Checkpoint> ckpt = latest_checkpoint(dir, notes);
  if (!ckpt) return Status::error("--resume: " + ckpt.message());
  if (!a.config.empty()) {
    Result<ModelConfig> cfg = resolve_config(a.config);
    if (!cfg) return cfg.status();
    if (config_to_json(*cfg) != config_to_json(ckpt->config))
      return Status::error("--resume: --config " + a.config + " differs from the config of " + ckpt->path);
  }
  TrainOptions opts = ckpt->options;
  for (const auto& [flag, apply] : overrides())
    if (cmd.count(flag) > 0) apply(opts, a.opts);
  if (Status s = opts.validate(); !s) return s;
  if (Status s = load_texts(opts, texts); !s) return s;
  if (const int threads = omp_get_max_threads(); threads != ckpt->state.threads)
    note(fmt::format("the checkpoint was written with {} threads, this run has {}: the result will not be "
                     "bit-identical to an uninterrupted run", ckpt->state.threads, threads));
  note(fmt::format("resuming from {} (step {} of {})", ckpt->path, ckpt->state.step, opts.steps));
  return Trainer::resume(std::move(ckpt.value()), opts, a.out, texts.train, texts.validation);
}

Status run_train(const TrainArgs& a, const CLI::App& cmd) {
  apply_threads(a.threads);
  const auto note = [](const std::string& line) { fmt::print(stderr, "titans: {}\n", line); };
  TaskTexts texts;
  std::vector<std::string> notes;
  Result<std::unique_ptr<Trainer>> trainer = start(a, cmd, texts, &notes);
  if (!trainer) return trainer.status();
  for (const std::string& line : notes) note(line);
  TrainCallbacks cb;
  cb.on_note = note;
  cb.on_step = [&](const StepReport& r) {
    if (r.step % a.print_every != 0 && r.step != r.total) return;
    const std::string gate = r.write_gate >= 0 ? fmt::format(" | write gate {:.2e}", r.write_gate) : "";
    fmt::print(stderr, "step {}/{} | loss {:.4f}{} | lr {:.2e} | grad norm {:.3f} | {:.0f} tok/s | ETA {}\n", r.step,
               r.total, r.loss, gate, r.lr, r.grad_norm, r.tokens_per_s, duration(r.eta_s));
  };
  cb.on_eval = [](const EvalReport& e) {
    fmt::print(stderr, "eval @ step {} | loss {:.4f} | accuracy {:.2f}% of {} targets\n", e.step, e.loss,
               100 * e.accuracy, e.targets);
  };
  return (*trainer)->run(cb);
}

}  // namespace

void add_train_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<TrainArgs>();
  TrainOptions& o = args->opts;
  o.task.clear();  // required for a new run; a resumed run takes the checkpoint's
  CLI::App* cmd = app.add_subcommand("train", "train a model on a task, with checkpoints (docs/TRAINING.md)");
  cmd->add_option("--config", args->config, "a preset name (e.g. transformer-tiny) or a config file");
  cmd->add_option("--task", o.task, "mqar, passkey, sniah1-3, qa1-3, lm or mix:TASK=W,... (docs/TASKS.md)");
  cmd->add_option("--out", args->out, "the run's folder: model.safetensors, log.jsonl, checkpoints/");
  cmd->add_flag("--resume", args->resume, "continue the run in --out from its newest complete checkpoint");
  cmd->add_option("--init", args->init,
                  "a new run starts from this model file's weights (curriculum stages)")
      ->excludes("--resume");
  cmd->add_option("--steps", o.steps, "optimisation steps in all")->capture_default_str();
  cmd->add_option("--batch", o.batch, "examples per micro-batch")->capture_default_str();
  cmd->add_option("--seq", o.seq, "tokens per example")->capture_default_str();
  cmd->add_option("--accum", o.accum, "micro-batches per step (gradient accumulation)")->capture_default_str();
  cmd->add_option("--lr", o.lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "linear warm-up steps")->capture_default_str();
  cmd->add_option("--min-lr-ratio", o.min_lr_ratio, "the cosine's floor, a fraction of --lr")->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "AdamW's decoupled weight decay")->capture_default_str();
  cmd->add_option("--clip", o.clip, "global gradient-norm clipping (0: off)")->capture_default_str();
  cmd->add_option("--eval-every", o.eval_every, "steps between evaluations (0: at the end only)")->capture_default_str();
  cmd->add_option("--eval-batches", o.eval_batches, "validation set: this many batches")->capture_default_str();
  cmd->add_option("--ckpt-every", o.ckpt_every, "steps between checkpoints (0: at the end only)")->capture_default_str();
  cmd->add_option("--keep", o.keep, "complete checkpoints kept (0: all)")->capture_default_str();
  cmd->add_option("--corpus", o.corpus, "lm and natural-text tasks: text file or folder (default: data/kjv.txt)");
  cmd->add_option("--pairs", o.task_params.mqar_pairs, "mqar: key-value pairs")->capture_default_str();
  cmd->add_option("--mqar-vocab", o.task_params.mqar_vocab, "mqar: token ids below this (<= the model's vocab)")
      ->capture_default_str();
  cmd->add_option("--facts", o.task_params.qa_facts, "qa1-qa3: facts per story (0: the task's default)");
  // Retrieval tasks otherwise label only the answer, so nothing teaches what follows it (a passkey
  // model that never saw a key end keeps emitting digits, and "the first integer" is then wrong).
  cmd->add_flag("--full-lm-loss", o.task_params.full_lm_loss,
                "retrieval tasks: label every next token, not only the answer");
  cmd->add_option("--tail-jitter", o.task_params.tail_jitter,
                  "text tasks: end each example with 0..N unlabelled spaces (uniform) after the "
                  "answer, moving the question across segment offsets")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--write-penalty", o.write_penalty,
                  "neural memory: add this × the mean write gate θ/θ_max to the loss (writes only "
                  "what the task needs; 0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--print-every", args->print_every, "steps between progress lines")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_seed_option(*cmd, &o.seed);
  add_threads_option(*cmd, &args->threads);
  cmd->callback([args, exit_code, cmd] {
    const Status s = run_train(*args, *cmd);
    if (!s) fmt::print(stderr, "titans: error: {}\n", s.message());
    *exit_code = s ? 0 : 2;
  });
}

}  // namespace titans::cli
