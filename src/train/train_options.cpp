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
  if (!(clip >= 0)) return Status::error(fmt::format("--clip must be >= 0, not {}", clip));
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0))
    return Status::error("AdamW needs 0 <= beta1, beta2 < 1 and eps > 0");
  return {};
}

nlohmann::json options_to_json(const TrainOptions& o) {
  return nlohmann::json{
      {"task", o.task},
      {"mqar_vocab", o.task_params.mqar_vocab},
      {"mqar_pairs", o.task_params.mqar_pairs},
      {"qa_facts", o.task_params.qa_facts},
      {"full_lm_loss", o.task_params.full_lm_loss},
      {"corpus", o.corpus},
      {"seq", o.seq},
      {"steps", o.steps},
      {"batch", o.batch},
      {"accum", o.accum},
      {"lr", o.lr},
      {"warmup", o.warmup},
      {"min_lr_ratio", o.min_lr_ratio},
      {"weight_decay", o.weight_decay},
      {"clip", o.clip},
      {"beta1", o.beta1},
      {"beta2", o.beta2},
      {"eps", o.eps},
      // A string: JSON readers often hold numbers as doubles, which would round a 64-bit seed.
      {"seed", std::to_string(o.seed)},
      {"eval_every", o.eval_every},
      {"eval_batches", o.eval_batches},
      {"ckpt_every", o.ckpt_every},
      {"keep", o.keep},
  };
}

Result<TrainOptions> options_from_json(const nlohmann::json& j) {
  TrainOptions o;
  try {
    j.at("task").get_to(o.task);
    j.at("mqar_vocab").get_to(o.task_params.mqar_vocab);
    j.at("mqar_pairs").get_to(o.task_params.mqar_pairs);
    j.at("qa_facts").get_to(o.task_params.qa_facts);
    j.at("full_lm_loss").get_to(o.task_params.full_lm_loss);
    j.at("corpus").get_to(o.corpus);
    j.at("seq").get_to(o.seq);
    j.at("steps").get_to(o.steps);
    j.at("batch").get_to(o.batch);
    j.at("accum").get_to(o.accum);
    j.at("lr").get_to(o.lr);
    j.at("warmup").get_to(o.warmup);
    j.at("min_lr_ratio").get_to(o.min_lr_ratio);
    j.at("weight_decay").get_to(o.weight_decay);
    j.at("clip").get_to(o.clip);
    j.at("beta1").get_to(o.beta1);
    j.at("beta2").get_to(o.beta2);
    j.at("eps").get_to(o.eps);
    o.seed = std::stoull(j.at("seed").get<std::string>());
    j.at("eval_every").get_to(o.eval_every);
    j.at("eval_batches").get_to(o.eval_batches);
    j.at("ckpt_every").get_to(o.ckpt_every);
    j.at("keep").get_to(o.keep);
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
