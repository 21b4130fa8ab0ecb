// Streamer (infer/streamer.h), every registered architecture's tiny preset: pieces through
// alternating graphs = one model.forward call; a fork continues exactly like the original; reset
// starts over; the arenas stop growing once streaming is under way (bounded-state architectures).
#include "infer/streamer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model_test_util.h"
#include "models/model_config.h"

namespace titans {
namespace {

constexpr int64_t kB = 2, kT = 77;

class StreamerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Result<ModelConfig> c = resolve_config(GetParam() + "-tiny");
    ASSERT_TRUE(c.ok()) << c.message();
    Result<std::unique_ptr<Model>> m = create_model(*c, 3, DType::f64);
    ASSERT_TRUE(m.ok()) << m.message();
    model_ = std::move(m.value());
    ids_ = random_ids(kB * kT, c->vocab_size, 11);
  }
  // logits [B, T, V] of one forward call.
  std::vector<double> one_call() const {
    Graph g;
    NoGradScope ng(g);
    ModelState st;
    Result<Tensor> y = model_->forward(g, ids_tensor(g, ids_, kB, kT, 0, kT), &st);
    EXPECT_TRUE(y.ok()) << y.message();
    return y.ok() ? tensor_values(*y) : std::vector<double>{};
  }
  std::unique_ptr<Model> model_;
  std::vector<int32_t> ids_;
};

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST_P(StreamerTest, PiecesEqualOneCall) {
  const std::vector<double> whole = one_call();
  const int64_t V = model_->config().vocab_size;
  for (int64_t piece : {int64_t(1), int64_t(5), int64_t(16), int64_t(100)}) {
    Streamer s(*model_, kB, piece);
    std::vector<double> got(size_t(kB * kT * V));
    int64_t calls = 0;
    // Fed in two uneven parts, each split into pieces: positions run on across feeds.
    const int64_t split = 30;
    for (auto [t0, t1] : {std::pair<int64_t, int64_t>{0, split}, {split, kT}}) {
      std::vector<int32_t> part;
      for (int64_t b = 0; b < kB; ++b)
        part.insert(part.end(), ids_.begin() + b * kT + t0, ids_.begin() + b * kT + t1);
      const Status st = s.feed(part, [&](const float* lp, int64_t n, int64_t pos0) {
        ++calls;
        for (int64_t b = 0; b < kB; ++b)
          for (int64_t i = 0; i < n * V; ++i)
            got[size_t((b * kT + pos0) * V + i)] = lp[b * n * V + i];
      });
      ASSERT_TRUE(st.ok()) << st.message();
    }
    EXPECT_EQ(s.position(), kT);
    EXPECT_EQ(calls, (split + piece - 1) / piece + (kT - split + piece - 1) / piece);
    // The Streamer hands out float32 logits of a float64 model.
    EXPECT_LT(max_abs_diff(whole, got), 1e-5) << "piece " << piece;
    const std::span<const float> last = s.last_logits();
    ASSERT_EQ(int64_t(last.size()), kB * V);
    for (int64_t b = 0; b < kB; ++b)
      EXPECT_NEAR(last[size_t(b * V + 7)], whole[size_t((b * kT + kT - 1) * V + 7)], 1e-5);
  }
}

TEST_P(StreamerTest, ForkContinuesLikeTheOriginal) {
  Streamer a(*model_, 1, 8);
  const std::vector<int32_t> head(ids_.begin(), ids_.begin() + 40),
      tail(ids_.begin() + 40, ids_.begin() + kT);
  ASSERT_TRUE(a.feed(head).ok());
  Streamer b = a.fork();
  EXPECT_EQ(b.position(), 40);
  ASSERT_TRUE(a.feed(tail).ok());
  ASSERT_TRUE(b.feed(tail).ok());
  const std::vector<float> la(a.last_logits().begin(), a.last_logits().end());
  const std::vector<float> lb(b.last_logits().begin(), b.last_logits().end());
  EXPECT_EQ(la, lb);
  // The fork's state is its own: feeding the original more leaves the fork where it was.
  ASSERT_TRUE(a.feed(tail).ok());
  EXPECT_EQ(b.position(), kT);
  EXPECT_EQ(a.position(), kT + kT - 40);
  a.reset();
  EXPECT_EQ(a.position(), 0);
  EXPECT_TRUE(a.last_logits().empty());
  ASSERT_TRUE(a.feed(head).ok());
  ASSERT_TRUE(a.feed(tail).ok());
  EXPECT_EQ(std::vector<float>(a.last_logits().begin(), a.last_logits().end()), la);
}

TEST_P(StreamerTest, BadTokenIsAnErrorAndKeepsTheState) {
  Streamer s(*model_, 1, 4);
  ASSERT_TRUE(s.feed(std::vector<int32_t>(ids_.begin(), ids_.begin() + 10)).ok());
  std::vector<int32_t> bad(6, 1);
  bad[5] = int32_t(model_->config().vocab_size);
  const Status st = s.feed(bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("outside"), std::string::npos) << st.message();
  EXPECT_EQ(s.position(), 14);  // the first piece of 4 went through, the second failed
}

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, StreamerTest, ::testing::ValuesIn([] {
                           std::vector<std::string> v;
                           for (const ArchInfo& a : architectures()) v.push_back(a.name);
                           return v;
                         }()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace titans
