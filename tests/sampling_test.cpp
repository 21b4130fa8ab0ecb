// Sampling (infer/sampling.h): greedy is the argmax, top-k and top-p keep the right sets, the same
// seed draws the same tokens, and many draws follow the distribution.
#include "infer/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace titans {
namespace {

// softmax(logits / t)
std::vector<double> softmax(const std::vector<float>& logits, double t) {
  std::vector<double> p;
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l) / t);
  for (float l : logits) p.push_back(std::exp(double(l) / t) / sum);
  return p;
}

const std::vector<float> kLogits = {0.5f, 2.0f, -1.0f, 1.5f, 2.0f, 0.0f};

TEST(Sampling, GreedyIsTheFirstArgmax) {
  Rng rng(1);
  for (SamplingOptions o :
       {SamplingOptions{0.0, 0, 1.0}, SamplingOptions{1.0, 1, 1.0}, SamplingOptions{5.0, 1, 0.3}}) {
    EXPECT_EQ(sample_token(kLogits, o, rng), 1);  // 2.0 at ids 1 and 4: the first
    const std::vector<double> p = sampling_distribution(kLogits, o);
    EXPECT_EQ(p, (std::vector<double>{0, 1, 0, 0, 0, 0}));
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(sample_token(std::vector<float>{nan, -1.0f, 3.0f}, {0.0, 0, 1.0}, rng), 2);
}

TEST(Sampling, TemperatureScalesTheLogits) {
  for (double t : {0.5, 1.0, 2.0}) {
    const std::vector<double> p = sampling_distribution(kLogits, {t, 0, 1.0}),
                              want = softmax(kLogits, t);
    for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(p[i], want[i], 1e-12) << t << " " << i;
  }
}

TEST(Sampling, TopKKeepsTheKMostLikely) {
  const std::vector<double> p = sampling_distribution(kLogits, {1.0, 3, 1.0});
  // ids 1, 4 (2.0) and 3 (1.5), renormalised.
  const double z = 2 * std::exp(2.0) + std::exp(1.5);
  const std::vector<double> want = {0, std::exp(2.0) / z, 0, std::exp(1.5) / z, std::exp(2.0) / z,
                                    0};
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(p[i], want[i], 1e-12) << i;
}

TEST(Sampling, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.5, 0.3, 0.15, 0.05 (as logits: their logs).
  const std::vector<float> l = {std::log(0.15f), std::log(0.5f), std::log(0.05f), std::log(0.3f)};
  const auto kept = [&](double p) {
    std::vector<int> k;
    const std::vector<double> d = sampling_distribution(l, {1.0, 0, p});
    for (size_t i = 0; i < d.size(); ++i)
      if (d[i] > 0) k.push_back(int(i));
    return k;
  };
  EXPECT_EQ(kept(0.4), (std::vector<int>{1}));
  EXPECT_EQ(kept(0.5 - 1e-6), (std::vector<int>{1}));
  EXPECT_EQ(kept(0.75), (std::vector<int>{1, 3}));
  EXPECT_EQ(kept(0.9), (std::vector<int>{0, 1, 3}));
  EXPECT_EQ(kept(0.96), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(kept(1.0), (std::vector<int>{0, 1, 2, 3}));
  const std::vector<double> d = sampling_distribution(l, {1.0, 0, 0.75});
  EXPECT_NEAR(d[1], 0.5 / 0.8, 1e-6);
  EXPECT_NEAR(d[3], 0.3 / 0.8, 1e-6);
}

TEST(Sampling, TheSameSeedDrawsTheSameTokens) {
  const SamplingOptions o{1.0, 0, 0.95};
  const auto draws = [&](uint64_t seed) {
    Rng rng(seed);
    std::vector<int32_t> v;
    for (int i = 0; i < 200; ++i) v.push_back(sample_token(kLogits, o, rng));
    return v;
  };
  EXPECT_EQ(draws(7), draws(7));
  EXPECT_NE(draws(7), draws(8));
}

TEST(Sampling, ManyDrawsFollowTheDistribution) {
  const SamplingOptions o{1.3, 5, 1.0};
  const std::vector<double> p = sampling_distribution(kLogits, o);
  EXPECT_EQ(p[2], 0.0);  // the least likely is cut by top-k 5
  Rng rng(42);
  constexpr int kDraws = 200000;
  std::vector<int> count(kLogits.size(), 0);
  for (int i = 0; i < kDraws; ++i) ++count[size_t(sample_token(kLogits, o, rng))];
  for (size_t i = 0; i < p.size(); ++i) {
    // 5 standard deviations of a binomial count.
    const double sd = std::sqrt(kDraws * p[i] * (1 - p[i]));
    EXPECT_NEAR(count[i], kDraws * p[i], 5 * sd + 1e-9) << i;
  }
}

TEST(Sampling, OptionsAreChecked) {
  EXPECT_FALSE(validate({-0.1, 0, 1.0}).ok());
  EXPECT_FALSE(validate({1.0, -1, 1.0}).ok());
  EXPECT_FALSE(validate({1.0, 0, 0.0}).ok());
  EXPECT_FALSE(validate({1.0, 0, 1.5}).ok());
  EXPECT_NE(validate({1.0, 0, 1.5}).message().find("--top-p"), std::string::npos);
  EXPECT_TRUE(validate({0.0, 0, 1.0}).ok());
}

}  // namespace
}  // namespace titans
