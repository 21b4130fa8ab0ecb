// The settings of one training run (`titans train`), stored in every checkpoint as JSON so that a
// resumed run continues with exactly the same data and optimisation.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "data/tasks.h"
#include "util/status.h"

namespace titans {

struct TrainOptions {
  // The data: examples of `task` (data/tasks.h) of `seq` tokens.
  std::string task = "mqar";
  data::TaskParams task_params;
  std::string corpus;  // lm and natural-text tasks: the corpus path ("" = the default corpus)
  int64_t seq = 128;
  // The optimisation: `steps` AdamW updates, each on accum × batch examples.
  int64_t steps = 1000;
  int64_t batch = 8;
  int64_t accum = 1;  // micro-batches of `batch` examples per step (gradient accumulation)
  double lr = 1e-3;   // the peak learning rate (train/lr_schedule.h)
  int64_t warmup = 100;
  double min_lr_ratio = 0.1;
  double weight_decay = 0.1;  // on the groups of train/param_groups.h that decay
  double clip = 1.0;          // global gradient-norm clipping; 0: off
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  // Adds write_penalty × the mean learning-rate gate θ_t/θ_max of every neural-memory write to the
  // loss: memories learn to write only what the task needs (docs/TRAINING.md). 0: off.
  double write_penalty = 0;
  uint64_t seed = 0;  // the model's initialisation and both data streams (train/trainer.h)
  // Evaluation, checkpoints (0: only at the end).
  int64_t eval_every = 100;
  int64_t eval_batches = 4;  // the validation set: eval_batches × batch fixed examples
  int64_t ckpt_every = 100;
  int64_t keep = 3;  // complete checkpoints kept (the newest); 0 keeps all

  // Every value checked, naming the option: "--batch must be >= 1, not 0".
  Status validate() const;
};

nlohmann::json options_to_json(const TrainOptions& o);
// Every key must be present and of the right type (a checkpoint from another version is refused
// with the key named).
Result<TrainOptions> options_from_json(const nlohmann::json& j);

// A resumed run must compute what the interrupted one would have: every option that changes the
// data or the updates (all but steps, eval_every, eval_batches, ckpt_every, keep and corpus) must
// equal the checkpoint's. The error names the first that differs and both values.
Status check_resumable(const TrainOptions& checkpoint, const TrainOptions& now);

}  // namespace titans
