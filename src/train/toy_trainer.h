// Trains the character MLP on a text with AdamW: the foundation's end-to-end training loop, used by
// `titans toy`, the training tests and the allocation test. Steady-state steps allocate nothing:
// batches go into buffers made once, activations into the graph's arena.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/char_mlp.h"
#include "optim/adamw.h"
#include "util/status.h"

namespace titans {

struct ToyTrainConfig {
  CharMlpConfig model;
  int64_t steps = 300;
  int64_t batch = 64;
  double lr = 3e-3;
  int64_t warmup = 20;
  uint64_t seed = 1;
  AdamWConfig adamw;
};

struct ToyStepReport {
  int64_t step;  // 1-based
  double loss, grad_norm, lr, seconds;
  int64_t tokens;  // predicted bytes so far
};

class ToyTrainer {
 public:
  // Fails if the text is shorter than context + 1 bytes.
  static Result<std::unique_ptr<ToyTrainer>> create(std::string text, const ToyTrainConfig& config);
  // One optimisation step; returns its loss (before the update).
  double step();
  // The mean loss over `batches` fresh batches, without updating (no recording).
  double evaluate(int64_t batches);
  const ToyStepReport& last() const { return last_; }
  const ParamStore& params() const { return params_; }

 private:
  ToyTrainer(std::string text, const ToyTrainConfig& config);
  void sample_batch();
  double learning_rate(int64_t step) const;

  ToyTrainConfig cfg_;
  std::string text_;
  Rng rng_;
  ParamStore params_;
  CharMlp model_;
  AdamW opt_;
  Graph graph_;
  std::vector<int32_t> ids_, targets_;
  ToyStepReport last_{};
};

// Runs `config.steps` steps, calling `on_step` after each; returns every step's loss.
std::vector<double> train_toy(ToyTrainer& trainer, int64_t steps,
                              const std::function<void(const ToyStepReport&)>& on_step);

// A built-in public-domain text (the opening of Genesis, KJV) for the toy model.
const std::string& toy_corpus();

}  // namespace titans
