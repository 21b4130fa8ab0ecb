// Regression test of the initialisation finding (reference/README.md "Finding", docs/MODELS.md §13):
// every titans_* small preset, freshly initialised (float32, seed 0), streams 1024 tokens of
// random bytes and 1024 bytes of text (the committed Genesis 1–3 fixture) without a non-finite value.
// With the earlier gate inits (θ 0.03, η 0.9, α 0.01) titans_mal/mag/mac-small failed within
// 60–240 tokens. Inference path (no gradient: the fused memory loop), pieces of 512 tokens with the
// state carried, as a streaming user would run it.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "model_test_util.h"
#include "models/model_config.h"

namespace titans {
namespace {

constexpr int64_t kTokens = 1024;
constexpr int64_t kPiece = 512;

std::vector<int32_t> text_ids() {
  std::ifstream f(std::string(TITANS_TEST_DATA_DIR) + "/kjv_genesis_1-3.txt", std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  std::vector<int32_t> ids;
  for (size_t i = 0; !s.empty() && ids.size() < size_t(kTokens); ++i)
    ids.push_back(int32_t((unsigned char)s[i % s.size()]));
  return ids;
}

// The first token with a non-finite logit or the model's error (which names the position), "" if none.
std::string stream(const Model& model, const std::vector<int32_t>& ids) {
  const int64_t T = int64_t(ids.size()), V = model.config().vocab_size;
  auto g = std::make_unique<Graph>();
  ModelState st;
  for (int64_t t0 = 0; t0 < T; t0 += kPiece) {
    if (t0 > 0) {  // the state lives in g's arena: carry it into a fresh graph
      auto next = std::make_unique<Graph>();
      st = copy_state(*next, st);
      g = std::move(next);
    }
    NoGradScope ng(*g);
    Result<Tensor> y = model.forward(*g, ids_tensor(*g, ids, 1, T, t0, t0 + kPiece), &st);
    if (!y) return y.message();
    const std::vector<double> v = tensor_values(*y);
    for (size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i])) return "non-finite logit at token " + std::to_string(t0 + int64_t(i) / V);
  }
  return "";
}

class StabilityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(StabilityTest, FreshSmallPresetStreamsRandomBytesAndText) {
  Result<ModelConfig> cfg = resolve_config(GetParam() + "-small");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  const std::vector<int32_t> text = text_ids();
  ASSERT_EQ(int64_t(text.size()), kTokens);
  Result<std::unique_ptr<Model>> m = create_model(*cfg, 0, DType::f32);
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(stream(**m, random_ids(kTokens, cfg->vocab_size, 100)), "") << "random bytes";
  EXPECT_EQ(stream(**m, text), "") << "text";
}

// The architectures with a neural memory (the others have no inner loop to diverge).
std::vector<std::string> arch_names() { return {"titans_lmm", "titans_mac", "titans_mag", "titans_mal"}; }

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, StabilityTest, ::testing::ValuesIn(arch_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace titans
