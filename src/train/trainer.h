// The training loop of `titans train` (docs/TRAINING.md): a Model on examples of a task, AdamW with
// parameter groups (train/param_groups.h), warm-up + cosine schedule (train/lr_schedule.h), global
// gradient clipping, gradient accumulation, evaluation on a fixed validation set, a JSONL log,
// checkpoints (train/checkpoint.h) and a final model file.
//
// Determinism: the model's initialisation (seed), the training stream (seed → train_stream_seed)
// and the validation set (seed → validation_stream_seed) are all derived from TrainOptions::seed.
// With the same thread count a run is bit-identical to any run of the same options, including one
// interrupted and resumed from a checkpoint.
//
// The output folder (may be "" for none: nothing is written):
//   <out>/log.jsonl            one JSON object a line: steps and evaluations
//   <out>/checkpoints/         step-<N>.safetensors + step-<N>.done (train/checkpoint.h)
//   <out>/model.safetensors    the final model (models/model_file.h), at the end of the run
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/sampler.h"
#include "models/model.h"
#include "optim/adamw.h"
#include "train/checkpoint.h"
#include "train/lr_schedule.h"
#include "train/train_options.h"

namespace titans {

struct StepReport {
  int64_t step = 0, total = 0;  // 1-based step of total
  double loss = 0;              // mean cross-entropy of the step's micro-batches (before the update)
  double lr = 0;
  double grad_norm = 0;         // global norm before clipping
  double seconds = 0;           // this step
  double tokens_per_s = 0;      // tokens read (batch · accum · seq per step) over this run's time
  double eta_s = 0;             // remaining steps × this run's mean step time
  double write_gate = -1;       // with --write-penalty: mean θ/θ_max of the step's memory writes
};

struct EvalReport {
  int64_t step = 0;
  double loss = 0;      // mean cross-entropy over every target position of the validation set
  double accuracy = 0;  // the fraction of target positions where argmax(logits) == target
  int64_t targets = 0;  // target positions scored
};

struct TrainCallbacks {
  std::function<void(const StepReport&)> on_step;
  std::function<void(const EvalReport&)> on_eval;
  std::function<void(const std::string&)> on_note;  // one line for people (checkpoint written, …)
};

// The data streams of a run (train/trainer.cpp explains the derivation).
uint64_t train_stream_seed(uint64_t seed);
uint64_t validation_stream_seed(uint64_t seed);

class Trainer {
 public:
  // A new run. `train` / `validation` supply the texts the task needs (validation: held-out text,
  // e.g. Corpus::validation()); they must outlive the trainer. Refuses an out folder that already
  // holds checkpoints (resume it instead) or that cannot be written.
  static Result<std::unique_ptr<Trainer>> create(std::unique_ptr<Model> model, const TrainOptions& options,
                                                 const std::string& out_dir, const data::TaskContext& train,
                                                 const data::TaskContext& validation);
  // Continues the run of `ckpt` (latest_checkpoint of <out>/checkpoints): its model, optimiser,
  // step, generator and data position. `options` must pass check_resumable against the
  // checkpoint's; steps may grow (a different total changes the cosine from here on).
  static Result<std::unique_ptr<Trainer>> resume(Checkpoint ckpt, const TrainOptions& options,
                                                 const std::string& out_dir, const data::TaskContext& train,
                                                 const data::TaskContext& validation);
  ~Trainer();

  // Steps until `until` (default: options.steps), with evaluations, log records and checkpoints on
  // their schedules. Reaching options.steps also evaluates, checkpoints and writes the final model
  // (once). A non-finite loss or gradient stops it with an error naming the step; no checkpoint is
  // written after the last good one.
  Status run(const TrainCallbacks& callbacks, std::optional<int64_t> until = std::nullopt);

  // One optimisation step (no log, evaluation or checkpoint).
  Result<StepReport> step();
  // The validation set's loss and accuracy, without changing anything.
  Result<EvalReport> evaluate();
  // Writes the checkpoint of the current step into <out>/checkpoints, then prunes older ones.
  Status save_checkpoint();

  int64_t current_step() const { return step_; }
  const Model& model() const { return *model_; }
  Model& model() { return *model_; }
  const TrainOptions& options() const { return opts_; }
  std::string checkpoint_dir() const;  // "" without an out folder

 private:
  Trainer(std::unique_ptr<Model> model, const TrainOptions& options, std::string out_dir,
          data::ExampleSampler train, data::ExampleSampler validation);
  static Result<std::unique_ptr<Trainer>> build(std::unique_ptr<Model> model, const TrainOptions& options,
                                                const std::string& out_dir, const data::TaskContext& train,
                                                const data::TaskContext& validation);
  Status open_log(bool append);
  void log(const nlohmann::json& record);
  Status evaluate_and_report(const TrainCallbacks& callbacks);  // evaluate(), then log and callback
  Status finish(const TrainCallbacks& callbacks);
  // Forward of one batch: the loss tensor (and the logits into *logits when not null).
  Result<Tensor> batch_loss(const data::Batch& b, Tensor* logits);

  std::unique_ptr<Model> model_;
  TrainOptions opts_;
  std::string out_dir_;
  data::ExampleSampler train_;
  data::ExampleSampler validation_;
  std::vector<data::Batch> validation_set_;  // made once: the same examples at every evaluation
  AdamW opt_;
  Graph graph_;
  Rng rng_;  // no stochastic op draws from it yet (no dropout); checkpointed so one can be added
  int64_t step_ = 0;
  int64_t last_checkpoint_ = -1;  // the step of the newest checkpoint this run knows is complete
  std::FILE* log_ = nullptr;
  // This run's clock, for tokens/s and the ETA.
  double run_seconds_ = 0;
  int64_t run_steps_ = 0;
};

}  // namespace titans
