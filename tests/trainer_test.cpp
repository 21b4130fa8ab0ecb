// The trainer (train/): the schedule, the parameter groups, the options' JSON, and acceptance (1):
// 2N steps straight and N steps + resume + N steps give bit-identical losses, weights and final
// checkpoints, for every implemented architecture. Also: a non-finite loss stops the run naming
// the step and leaves the last checkpoint intact; an out folder holding a run is not overwritten.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "io_test_util.h"
#include "models/model_file.h"
#include "train/lr_schedule.h"
#include "train/param_groups.h"
#include "train_test_util.h"

namespace titans {
namespace {

using testing::arch_names;
using testing::same_weights;
using testing::short_mqar_run;
using testing::tiny_model;

TEST(LrSchedule, WarmupThenCosineToTheFloor) {
  const LrSchedule s{1e-3, 0.1, 10, 110};
  EXPECT_DOUBLE_EQ(learning_rate(s, 1), 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate(s, 10), 1e-3);
  EXPECT_DOUBLE_EQ(learning_rate(s, 60), 1e-4 + 0.9e-3 * 0.5);  // half-way: the mean of peak and floor
  EXPECT_DOUBLE_EQ(learning_rate(s, 110), 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate(s, 500), 1e-4);  // past the end: the floor
  for (int64_t t = 11; t < 110; ++t) EXPECT_LT(learning_rate(s, t + 1), learning_rate(s, t));
  EXPECT_DOUBLE_EQ(learning_rate({2e-3, 0.0, 0, 10}, 1), 2e-3 * 0.5 * (1 + std::cos(M_PI * 0.1)));
}

TEST(ParamGroups, NoDecayOnNormsGatesEmbeddingsPersistentAndBeta) {
  ModelConfig cfg;
  cfg.beta_lr_mult = 10;
  const struct {
    const char* name;
    bool decay;
    double lr_mult;
  } cases[] = {
      {"embed", false, 1},
      {"lm_head", true, 1},
      {"norm_f", false, 1},
      {"layers.0.norm_mix", false, 1},
      {"layers.1.norm_ffn", false, 1},
      {"layers.0.memory.norm_out", false, 1},
      {"layers.0.gate.norm_y", false, 1},
      {"layers.0.memory.b_theta", false, 1},
      {"layers.0.memory.b_eta", false, 1},
      {"layers.0.memory.b_alpha", false, 1},
      {"layers.0.memory.w_theta", true, 1},
      {"layers.0.memory.mem_w0.1", true, 1},
      {"layers.0.memory.conv_q", true, 1},
      {"layers.0.persistent", false, 1},
      {"layers.0.attn.beta", false, 10},
      {"layers.0.attn.w_q", true, 1},
      {"layers.0.ffn.w1", true, 1},
  };
  for (const auto& c : cases) {
    const ParamOptions o = param_group(c.name, cfg);
    EXPECT_EQ(o.decay, c.decay) << c.name;
    EXPECT_EQ(o.lr_mult, c.lr_mult) << c.name;
  }
}

// The builders' own options agree with the rules wherever a builder chose one (one source of
// truth in training; the rules add the embedding).
TEST(ParamGroups, AgreeWithTheBuildersOfEveryArchitecture) {
  for (const std::string& arch : arch_names()) {
    Result<std::unique_ptr<Model>> m = tiny_model(arch, 1);
    ASSERT_TRUE(m.ok()) << m.message();
    for (const Parameter& p : (*m)->params().params()) {
      const ParamOptions rule = param_group(p.name, (*m)->config());
      if (p.name == "embed") continue;
      EXPECT_EQ(rule.decay, p.options.decay) << arch << " " << p.name;
      EXPECT_EQ(rule.lr_mult, p.options.lr_mult) << arch << " " << p.name;
    }
  }
}

TEST(TrainOptions, JsonRoundTripAndResumeCheck) {
  TrainOptions o = short_mqar_run(7);
  o.seed = 0xfedcba9876543210ull;  // above 2^53: kept exactly (a string in the JSON)
  o.lr = 0.1 + 0.2;
  Result<TrainOptions> back = options_from_json(nlohmann::json::parse(options_to_json(o).dump()));
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(options_to_json(*back), options_to_json(o));
  EXPECT_EQ(back->seed, o.seed);

  TrainOptions more = o;
  more.steps = 100;  // a longer run, more checkpoints: allowed
  more.ckpt_every = 5;
  EXPECT_TRUE(check_resumable(o, more).ok());
  TrainOptions other = o;
  other.batch = 5;
  const Status s = check_resumable(o, other);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("batch is 5 here but 4 in the checkpoint"), std::string::npos) << s.message();

  nlohmann::json missing = options_to_json(o);
  missing.erase("clip");
  EXPECT_FALSE(options_from_json(missing).ok());
}

TEST(TrainOptions, ValidateNamesTheOption) {
  TrainOptions o = short_mqar_run(1);
  o.accum = 0;
  EXPECT_EQ(o.validate().message(), "--accum must be >= 1, not 0");
  o = short_mqar_run(1);
  o.lr = -1;
  EXPECT_NE(o.validate().message().find("--lr"), std::string::npos);
}

class TrainerTest : public io::testing::ScratchDir {
 protected:
  // A run of `o` on `arch` in folder `out` (created), returning every step's loss.
  std::unique_ptr<Trainer> make(const std::string& arch, const TrainOptions& o, const std::string& out) {
    Result<std::unique_ptr<Model>> m = tiny_model(arch, o.seed);
    if (!m) {
      ADD_FAILURE() << m.message();
      return nullptr;
    }
    Result<std::unique_ptr<Trainer>> t = Trainer::create(std::move(m.value()), o, out, {}, {});
    if (!t) {
      ADD_FAILURE() << t.message();
      return nullptr;
    }
    return std::move(t.value());
  }
  static TrainCallbacks recorder(std::vector<double>* losses) {
    TrainCallbacks cb;
    cb.on_step = [losses](const StepReport& r) { losses->push_back(r.loss); };
    return cb;
  }
  static std::vector<double> log_losses(const std::string& path) {
    std::vector<double> v;
    std::ifstream f(path);
    std::string line;
    while (std::getline(f, line)) {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (j.contains("loss")) v.push_back(j["loss"].get<double>());
    }
    return v;
  }
};

class ResumeTest : public TrainerTest, public ::testing::WithParamInterface<std::string> {};

// Acceptance (1): the same losses (memcmp), the same weights, the same final checkpoint bytes
// (weights, moments, step, generator, data position) and the same log losses.
TEST_P(ResumeTest, StraightAndResumedRunsAreBitIdentical) {
  const std::string arch = GetParam();
  constexpr int64_t N = 4;
  TrainOptions o = short_mqar_run(2 * N);
  o.accum = 2;  // accumulation is part of what must resume exactly
  o.eval_every = 3;
  o.ckpt_every = N;

  std::vector<double> straight, resumed;
  std::unique_ptr<Trainer> a = make(arch, o, path("straight"));
  ASSERT_TRUE(a);
  const Status sa = a->run(recorder(&straight));
  ASSERT_TRUE(sa.ok()) << sa.message();

  {
    std::unique_ptr<Trainer> first = make(arch, o, path("resumed"));
    ASSERT_TRUE(first);
    ASSERT_TRUE(first->run(recorder(&resumed), N).ok());
    // Steps past the checkpoint that a killed run would have logged: the resume drops them.
    ASSERT_TRUE(first->run(recorder(&resumed), N + 1).ok());
    resumed.pop_back();
  }
  std::vector<std::string> notes;
  Result<Checkpoint> ckpt = latest_checkpoint(path("resumed/checkpoints"), &notes);
  ASSERT_TRUE(ckpt.ok()) << ckpt.message();
  EXPECT_EQ(ckpt->state.step, N);
  EXPECT_TRUE(notes.empty());
  Result<std::unique_ptr<Trainer>> b = Trainer::resume(std::move(ckpt.value()), o, path("resumed"), {}, {});
  ASSERT_TRUE(b.ok()) << b.message();
  ASSERT_TRUE((*b)->run(recorder(&resumed)).ok());

  ASSERT_EQ(straight.size(), size_t(2 * N));
  ASSERT_EQ(resumed.size(), straight.size());
  EXPECT_EQ(std::memcmp(straight.data(), resumed.data(), straight.size() * sizeof(double)), 0);
  EXPECT_TRUE(same_weights(a->model(), (*b)->model()));
  const std::string last = "checkpoints/step-" + std::to_string(2 * N) + ".safetensors";
  EXPECT_EQ(io::testing::read_bytes(path("straight/" + last)), io::testing::read_bytes(path("resumed/" + last)));
  EXPECT_EQ(io::testing::read_bytes(path("straight/model.safetensors")),
            io::testing::read_bytes(path("resumed/model.safetensors")));
  const std::vector<double> la = log_losses(path("straight/log.jsonl")), lb = log_losses(path("resumed/log.jsonl"));
  EXPECT_EQ(la, straight);
  EXPECT_EQ(lb, straight);
}

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, ResumeTest, ::testing::ValuesIn(arch_names()),
                         [](const auto& info) { return info.param; });

TEST_F(TrainerTest, NonFiniteLossStopsNamingTheStepAndKeepsTheCheckpoint) {
  TrainOptions o = short_mqar_run(10);
  o.ckpt_every = 2;
  std::unique_ptr<Trainer> t = make("transformer", o, path("run"));
  ASSERT_TRUE(t);
  ASSERT_TRUE(t->run({}, 2).ok());
  const std::vector<uint8_t> before = io::testing::read_bytes(path("run/checkpoints/step-2.safetensors"));
  // A weight turned NaN (as a diverging run would): the next loss is NaN.
  const Tensor& w = t->model().params().params()[0].tensor;
  w.ptr<float>()[0] = std::nanf("");
  const Status s = t->run({});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("step 3: the loss is nan"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("the checkpoint of step 2 is intact"), std::string::npos) << s.message();
  EXPECT_EQ(marked_steps(path("run/checkpoints")), std::vector<int64_t>{2});
  EXPECT_EQ(io::testing::read_bytes(path("run/checkpoints/step-2.safetensors")), before);
  EXPECT_TRUE(read_checkpoint(path("run/checkpoints"), 2).ok());
  EXPECT_FALSE(std::filesystem::exists(path("run/model.safetensors")));
}

TEST_F(TrainerTest, RefusesAnOutFolderHoldingARunAndAnUnwritableOne) {
  TrainOptions o = short_mqar_run(1);
  std::unique_ptr<Trainer> t = make("transformer", o, path("run"));
  ASSERT_TRUE(t);
  ASSERT_TRUE(t->run({}).ok());
  Result<std::unique_ptr<Model>> m = tiny_model("transformer", 1);
  ASSERT_TRUE(m.ok());
  Result<std::unique_ptr<Trainer>> again = Trainer::create(std::move(m.value()), o, path("run"), {}, {});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.message().find("already holds checkpoints"), std::string::npos) << again.message();

  io::testing::write_bytes(path("file"), {1, 2, 3});
  m = tiny_model("transformer", 1);
  Result<std::unique_ptr<Trainer>> bad = Trainer::create(std::move(m.value()), o, path("file/run"), {}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("cannot create the output folder"), std::string::npos) << bad.message();
}

TEST_F(TrainerTest, TaskTokensMustFitTheVocabulary) {
  Result<ModelConfig> cfg = resolve_config("transformer-tiny");
  ASSERT_TRUE(cfg.ok());
  cfg->vocab_size = 64;
  Result<std::unique_ptr<Model>> m = create_model(*cfg, 1);
  ASSERT_TRUE(m.ok()) << m.message();
  Result<std::unique_ptr<Trainer>> t = Trainer::create(std::move(m.value()), short_mqar_run(1), "", {}, {});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("vocab_size is 64 (--mqar-vocab must not exceed it)"), std::string::npos) << t.message();
}

TEST_F(TrainerTest, WritesTheLogAndALoadableFinalModel) {
  TrainOptions o = short_mqar_run(3);
  o.eval_every = 2;
  std::unique_ptr<Trainer> t = make("transformer", o, path("run"));
  ASSERT_TRUE(t);
  std::vector<EvalReport> evals;
  TrainCallbacks cb;
  cb.on_eval = [&](const EvalReport& e) { evals.push_back(e); };
  ASSERT_TRUE(t->run(cb).ok());
  ASSERT_EQ(evals.size(), 2u);  // step 2 and the end
  EXPECT_EQ(evals[1].step, 3);
  EXPECT_EQ(evals[1].targets, o.batch * o.task_params.mqar_pairs);  // one batch, 8 queried keys each
  std::ifstream f(path("run/log.jsonl"));
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 5u);  // steps 1, 2, eval 2, step 3, eval 3
  for (const char* key : {"step", "loss", "lr", "grad_norm", "tokens_per_s"}) EXPECT_TRUE(lines[0].contains(key)) << key;
  EXPECT_EQ(lines[2]["step"], 2);
  EXPECT_TRUE(lines[2].contains("eval_accuracy"));
  Result<std::unique_ptr<Model>> loaded = load_model(path("run/model.safetensors"));
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  EXPECT_TRUE(same_weights(**loaded, t->model()));
}

// --write-penalty adds λ · mean θ/θ_max to the loss: the gates close on what the task does not need.
TEST_F(TrainerTest, WritePenaltyClosesTheMemoryWriteGates) {
  TrainOptions o = short_mqar_run(30);
  o.lr = 3e-3;
  const auto gates = [&](double penalty) {
    o.write_penalty = penalty;
    std::vector<double> g;
    std::unique_ptr<Trainer> t = make("titans_lmm", o, "");
    if (!t) return g;
    for (int i = 0; i < 30; ++i) {
      Result<StepReport> r = t->step();
      if (!r) {
        ADD_FAILURE() << r.message();
        return g;
      }
      g.push_back(r->write_gate);
    }
    return g;
  };
  const std::vector<double> off = gates(0), on = gates(10);
  ASSERT_EQ(off.size(), 30u);
  ASSERT_EQ(on.size(), 30u);
  EXPECT_EQ(off.back(), -1.0);  // not measured without the penalty
  EXPECT_GT(on.front(), 0.003);  // θ ≈ theta_init (0.005 in the tiny presets) at the start
  EXPECT_LT(on.back(), 0.5 * on.front()) << "first " << on.front() << ", last " << on.back();

  o.write_penalty = 1;
  std::unique_ptr<Trainer> t = make("transformer", o, "");
  ASSERT_TRUE(t);
  Result<StepReport> r = t->step();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("--write-penalty: the model has no neural memory"), std::string::npos) << r.message();
}

}  // namespace
}  // namespace titans
