// Acceptance (4): a tiny model of every registered architecture learns MQAR (8 key-value pairs,
// sequences of 128 tokens) to >= 95% accuracy at the queried positions of held-out examples.
// Settings (docs/TRAINING.md, "The MQAR test"): placeholder until tuned.
#include <gtest/gtest.h>

#include <chrono>

#include "train_test_util.h"

namespace titans {
namespace {

class MqarTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MqarTest, LearnsEightPairsAtLength128) {
  const std::string arch = GetParam();
  Result<ModelConfig> cfg = resolve_config(arch + "-tiny");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  Result<std::unique_ptr<Model>> model = create_model(*cfg, 1);
  if (!model && not_implemented(model.message())) GTEST_SKIP() << model.message();
  ASSERT_TRUE(model.ok()) << model.message();

  TrainOptions o;
  o.task = "mqar";
  o.task_params.mqar_pairs = 8;
  o.seq = 128;
  o.steps = std::stoll(std::getenv("MQAR_STEPS") ? std::getenv("MQAR_STEPS") : "300");
  o.batch = std::stoll(std::getenv("MQAR_BATCH") ? std::getenv("MQAR_BATCH") : "16");
  o.lr = std::stod(std::getenv("MQAR_LR") ? std::getenv("MQAR_LR") : "3e-3");
  o.warmup = o.steps / 10;
  o.weight_decay = 0.0;
  o.eval_every = std::stoll(std::getenv("MQAR_EVAL") ? std::getenv("MQAR_EVAL") : "50");
  o.eval_batches = 8;
  o.ckpt_every = 0;
  o.seed = 1;
  Result<std::unique_ptr<Trainer>> t = Trainer::create(std::move(model.value()), o, "", {}, {});
  ASSERT_TRUE(t.ok()) << t.message();
  const auto t0 = std::chrono::steady_clock::now();
  double accuracy = 0;
  TrainCallbacks cb;
  cb.on_step = [&](const StepReport& r) {
    if (r.step % 25 == 0) std::printf("%s step %ld loss %.4f (%.0f tok/s)\n", arch.c_str(), long(r.step), r.loss, r.tokens_per_s);
  };
  cb.on_eval = [&](const EvalReport& e) {
    accuracy = e.accuracy;
    std::printf("%s eval step %ld loss %.4f accuracy %.4f\n", arch.c_str(), long(e.step), e.loss, e.accuracy);
    std::fflush(stdout);
  };
  ASSERT_TRUE((*t)->run(cb).ok());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s: MQAR accuracy %.4f after %ld steps in %.1f s\n", arch.c_str(), accuracy, long(o.steps), seconds);
  EXPECT_GE(accuracy, 0.95);
}

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, MqarTest, ::testing::ValuesIn(testing::arch_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace titans
