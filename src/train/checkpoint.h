// Training checkpoints (docs/TRAINING.md, "Checkpoints"): everything a run needs to continue
// bit-identically, in ONE safetensors file per checkpoint, `<dir>/step-<N>.safetensors`:
//   param.<name>    the weights, in the model's dtype (F32, or F64 for a float64 model)
//   adam_m.<name>   AdamW's first moments, F64
//   adam_v.<name>   AdamW's second moments, F64
//   metadata        "kind": "checkpoint", "step", "adam_t", "rng" (the trainer's xoshiro state as
//                   four decimal u64 strings), "data_position" (the training stream's
//                   SamplerPosition), "threads", "config" (the model config JSON) and
//                   "train_options" (TrainOptions JSON).
// Crash safety: the file is written atomically (temporary, fsync, rename, fsync of the folder);
// THEN its completion marker `<dir>/step-<N>.done` is written the same way. The marker holds the
// file's size and FNV-1a 64 hash, so a resume trusts a checkpoint only when its marker exists and
// the bytes still match. A run killed at any moment leaves every marked checkpoint readable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/sampler.h"
#include "io/safetensors.h"
#include "models/model.h"
#include "optim/adamw.h"
#include "train/train_options.h"

namespace titans {

// The trainer's position besides the tensors.
struct TrainState {
  int64_t step = 0;             // optimiser steps completed
  uint64_t rng[4] = {0, 0, 0, 0};  // the trainer's generator (Rng::get_state)
  data::SamplerPosition data;   // the next training example
  int threads = 0;              // OpenMP threads of the run that wrote it (bit-exactness needs the same)
};

std::string checkpoint_file(const std::string& dir, int64_t step);  // <dir>/step-<N>.safetensors
std::string marker_file(const std::string& dir, int64_t step);      // <dir>/step-<N>.done

// Writes the checkpoint of `step` and then its marker (the order is the guarantee; see above).
// `opt` is not changed (its moment accessors are not const).
Status write_checkpoint(const std::string& dir, const Model& model, AdamW& opt, const TrainState& state,
                        const TrainOptions& options);

// The step numbers of the markers in `dir`, newest first (other files are ignored).
std::vector<int64_t> marked_steps(const std::string& dir);

// A checkpoint read back and validated: marker size and hash, the container, and metadata.
struct Checkpoint {
  std::string path;
  io::SafetensorsFile file;
  ModelConfig config;
  TrainOptions options;
  TrainState state;
  int64_t adam_t = 0;
};
// Reads `<dir>/step-<step>` against its marker. Errors name the file and the problem.
Result<Checkpoint> read_checkpoint(const std::string& dir, int64_t step);

// The newest checkpoint of `dir` that validates. Each newer one that does not (a marker whose file
// is missing, truncated or corrupted) is skipped with a line in *notes. An error when none does.
Result<Checkpoint> latest_checkpoint(const std::string& dir, std::vector<std::string>* notes);

// Copies the checkpoint's weights into `model` and its moments and step count into `opt`; every
// tensor is checked by name, dtype and shape, and tensors the model lacks are refused.
Status restore_checkpoint(const Checkpoint& ckpt, Model& model, AdamW& opt);

// Keeps the newest `keep` marked checkpoints (0: all) and deletes older ones — the marker first,
// so a marker never points to a deleted file — and files of unfinished writes of this folder
// (unmarked step files older than the newest marked one, leftover temporaries of dead processes).
// Called only after the newest checkpoint is complete.
Status prune_checkpoints(const std::string& dir, int64_t keep);

}  // namespace titans
