#include "train/train_options.h"

#include <fmt/format.h>

namespace titans {

namespace {

Status at_least(const char* option, int64_t value, int64_t least) {
  if (value >= least) return {};
  return Status::error(fmt::format("--{} must be >= {}, not {}", option, least, value));
}

// The keys a resumed run may change: they decide how long to train, what to report and what to
// keep, never what a step computes.
bool may_change_on_resume(const std::string& key) {
  return key == "steps" || key == "eval_every" || key == "eval_batches" || key == "ckpt_every" ||
         key == "keep" || key == "corpus";
}

}  // namespace

Status TrainOptions::validate() const {
  if (Status s = at_least("steps", steps, 1); !s) return s;
  if (Status s = at_least("batch", batch, 1); !s) return s;
  if (Status s = at_least("accum", accum, 1); !s) return s;
  if (Status s = at_least("seq", seq, 1); !s) return s;
  if (Status s = at_least("warmup", warmup, 0); !s) return s;
  if (Status s = at_least("eval-every", eval_every, 0); !s) return s;
  if (Status s = at_least("eval-batches", eval_batches, 1); !s) return s;
  if (Status s = at_least("ckpt-every", ckpt_every, 0); !s) return s;
  if (Status s = at_least("keep", keep, 0); !s) return s;
  if (!(lr > 0)) return Status::error(fmt::format("--lr must be > 0, not {}", lr));
  if (!(min_lr_ratio >= 0 && min_lr_ratio <= 1))
    return Status::error(fmt::format("--min-lr-ratio must be in [0, 1], not {}", min_lr_ratio));
  if (!(weight_decay >= 0)) return Status::error(fmt::format("--weight-decay must be >= 0, not {}", weight_decay));
  if (!(write_penalty >= 0))
    return Status::error(fmt::format("--write-penalty must be >= 0, not {}", write_penalty));
  if (!(clip >= 0)) return Status::error(fmt::format("--clip must be >= 0, not {}", clip));
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0))
    return Status::error("AdamW needs 0 <= beta1, beta2 < 1 and eps > 0");
  return {};
}

// Every option but the seed, as (JSON key, field): one list for both directions, so writing and
// reading cannot drift apart.
#define TITANS_TRAIN_OPTIONS(X)                                                                      \
  X("task", task) X("mqar_vocab", task_params.mqar_vocab) X("mqar_pairs", task_params.mqar_pairs)    \
  X("qa_facts", task_params.qa_facts) X("full_lm_loss", task_params.full_lm_loss) X("corpus", corpus) \
  X("tail_jitter", task_params.tail_jitter)                                                           \
  X("seq", seq) X("steps", steps) X("batch", batch) X("accum", accum) X("lr", lr) X("warmup", warmup) \
  X("min_lr_ratio", min_lr_ratio) X("weight_decay", weight_decay) X("clip", clip) X("beta1", beta1)   \
  X("beta2", beta2) X("eps", eps) X("write_penalty", write_penalty) X("eval_every", eval_every) X("eval_batches", eval_batches)         \
  X("ckpt_every", ckpt_every) X("keep", keep)

nlohmann::json options_to_json(const TrainOptions& o) {
  nlohmann::json j;
#define TITANS_WRITE(key, field) j[key] = o.field;
  TITANS_TRAIN_OPTIONS(TITANS_WRITE)
#undef TITANS_WRITE
  // A string: JSON readers often hold numbers as doubles, which would round a 64-bit seed.
  j["seed"] = std::to_string(o.seed);
  return j;
}

Result<TrainOptions> options_from_json(const nlohmann::json& j) {
  TrainOptions o;
  try {
#define TITANS_READ(key, field) j.at(key).get_to(o.field);
    TITANS_TRAIN_OPTIONS(TITANS_READ)
#undef TITANS_READ
    o.seed = std::stoull(j.at("seed").get<std::string>());
  } catch (const std::exception& e) {
    return Status::error(fmt::format("bad training options: {}", e.what()));
  }
  return o;
}

Status check_resumable(const TrainOptions& checkpoint, const TrainOptions& now) {
  const nlohmann::json a = options_to_json(checkpoint), b = options_to_json(now);
  for (const auto& [key, value] : a.items()) {
    if (may_change_on_resume(key) || b.at(key) == value) continue;
    return Status::error(fmt::format("{} is {} here but {} in the checkpoint; a resumed run keeps "
                                     "every setting that changes what a step computes",
                                     key, b.at(key).dump(), value.dump()));
  }
  return {};
}

}  // namespace titans
