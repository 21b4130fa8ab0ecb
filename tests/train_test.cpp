// End to end: the character MLP trains with AdamW, its loss falls, and runs are reproducible.
#include <gtest/gtest.h>

#include <cstring>

#include "train/toy_trainer.h"

namespace titans {
namespace {

ToyTrainConfig small_config(uint64_t seed) {
  ToyTrainConfig c;
  c.steps = 300;
  c.seed = seed;
  return c;
}

std::unique_ptr<ToyTrainer> make(uint64_t seed) {
  auto t = ToyTrainer::create(toy_corpus(), small_config(seed));
  EXPECT_TRUE(t.ok());
  return std::move(t.value());
}

TEST(ToyTraining, LossFallsByAFactorOfThree) {
  auto trainer = make(1);
  const double before = trainer->evaluate(8);
  train_toy(*trainer, 300, nullptr);
  const double after = trainer->evaluate(8);
  EXPECT_GT(before, 5.0);  // about ln 256 = 5.55 at initialisation
  EXPECT_LT(after, before / 3) << "before " << before << " after " << after;
}

TEST(ToyTraining, SameSeedGivesBitIdenticalLossesAndWeights) {
  auto a = make(7), b = make(7);
  const std::vector<double> la = train_toy(*a, 60, nullptr);
  const std::vector<double> lb = train_toy(*b, 60, nullptr);
  ASSERT_EQ(la.size(), lb.size());
  EXPECT_EQ(std::memcmp(la.data(), lb.data(), la.size() * sizeof(double)), 0);
  for (size_t i = 0; i < a->params().params().size(); ++i) {
    const Tensor& x = a->params().params()[i].tensor;
    const Tensor& y = b->params().params()[i].tensor;
    EXPECT_EQ(std::memcmp(x.data, y.data, size_t(x.numel()) * sizeof(float)), 0)
        << a->params().params()[i].name;
  }
  // The comparison can fail: another seed gives other losses.
  auto c = make(8);
  const std::vector<double> lc = train_toy(*c, 60, nullptr);
  EXPECT_NE(std::memcmp(la.data(), lc.data(), la.size() * sizeof(double)), 0);
}

TEST(ToyTraining, RefusesATextShorterThanTheContext) {
  auto t = ToyTrainer::create("short", small_config(1));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find("at least"), std::string::npos) << t.message();
}

}  // namespace
}  // namespace titans
