// Shared helpers of the trainer tests (trainer_test, checkpoint_test, mqar_test).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "model_test_util.h"
#include "models/model.h"
#include "train/trainer.h"

namespace titans::testing {

// A few steps of MQAR on a short sequence: what the resume and checkpoint tests train.
inline TrainOptions short_mqar_run(int64_t steps) {
  TrainOptions o;
  o.task = "mqar";
  o.seq = 64;
  o.steps = steps;
  o.batch = 4;
  o.lr = 1e-3;  // titans_mag-tiny's memory diverges within a few steps at 2e-3 (seed 11)
  o.warmup = 2;
  o.eval_every = 0;
  o.eval_batches = 1;
  o.ckpt_every = 0;
  o.seed = 11;
  return o;
}

// The tiny preset of `arch` (configs/<arch>-tiny.json), built with `seed`.
inline Result<std::unique_ptr<Model>> tiny_model(const std::string& arch, uint64_t seed) {
  Result<ModelConfig> cfg = resolve_config(arch + "-tiny");
  if (!cfg) return cfg.status();
  return create_model(*cfg, seed);
}

// Every parameter's bytes equal.
inline bool same_weights(const Model& a, const Model& b) {
  const auto& pa = a.params().params();
  const auto& pb = b.params().params();
  if (pa.size() != pb.size()) return false;
  for (size_t i = 0; i < pa.size(); ++i) {
    const Tensor &x = pa[i].tensor, &y = pb[i].tensor;
    if (pa[i].name != pb[i].name || x.numel() != y.numel() ||
        std::memcmp(x.data, y.data, size_t(x.numel()) * dtype_size(x.dtype)) != 0)
      return false;
  }
  return true;
}

inline std::vector<std::string> arch_names() {
  std::vector<std::string> v;
  for (const ArchInfo& a : architectures()) v.push_back(a.name);
  return v;
}

}  // namespace titans::testing
