// StreamLoss (infer/stream_loss.h): the loss of a stream fed in uneven blocks, in pieces, equals
// the cross-entropy of one forward call over the same tokens; a stream continued from another
// Streamer's state and last logits scores its first token too; buckets add up.
#include "infer/stream_loss.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model_test_util.h"
#include "models/model_config.h"

namespace titans {
namespace {

constexpr int64_t kT = 50;

class StreamLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<ModelConfig> c = resolve_config("titans_lmm-tiny");
    ASSERT_TRUE(c.ok()) << c.message();
    Result<std::unique_ptr<Model>> m = create_model(*c, 2, DType::f64);
    ASSERT_TRUE(m.ok()) << m.message();
    model_ = std::move(m.value());
    ids_ = random_ids(kT, c->vocab_size, 9);
    // Per-token losses of one forward call (float64): nats_[t] scores ids_[t] with logits t − 1.
    Graph g;
    NoGradScope ng(g);
    Result<Tensor> y = model_->forward(g, ids_tensor(g, ids_, 1, kT, 0, kT), nullptr);
    ASSERT_TRUE(y.ok()) << y.message();
    const std::vector<double> l = tensor_values(*y);
    const int64_t V = c->vocab_size;
    nats_.assign(kT, 0.0);
    for (int64_t t = 1; t < kT; ++t) {
      const double* row = l.data() + (t - 1) * V;
      double mx = row[0], sum = 0;
      for (int64_t i = 1; i < V; ++i) mx = std::max(mx, row[i]);
      for (int64_t i = 0; i < V; ++i) sum += std::exp(row[i] - mx);
      nats_[size_t(t)] = mx + std::log(sum) - row[ids_[size_t(t)]];
    }
  }
  std::vector<int32_t> slice(int64_t t0, int64_t t1) const {
    return {ids_.begin() + t0, ids_.begin() + t1};
  }
  double sum(int64_t t0, int64_t t1) const {
    double s = 0;
    for (int64_t t = t0; t < t1; ++t) s += nats_[size_t(t)];
    return s;
  }

  std::unique_ptr<Model> model_;
  std::vector<int32_t> ids_;
  std::vector<double> nats_;
};

TEST_F(StreamLossTest, BlocksAndPiecesScoreLikeOneCall) {
  Streamer s(*model_, 1, 7);
  StreamLoss loss(s, 10);
  for (auto [t0, t1] : {std::pair<int64_t, int64_t>{0, 13}, {13, 14}, {14, 50}})
    ASSERT_TRUE(loss.feed(slice(t0, t1)).ok());
  EXPECT_EQ(loss.tokens_fed(), kT);
  EXPECT_EQ(loss.tokens_scored(), kT - 1);
  // The Streamer's logits are float32.
  EXPECT_NEAR(loss.total_nats(), sum(1, kT), 1e-5 * sum(1, kT));
  EXPECT_NEAR(loss.bits_per_token(), sum(1, kT) / (kT - 1) / std::log(2.0), 1e-5);
  const std::vector<StreamLoss::Bucket> b = loss.buckets();
  ASSERT_EQ(b.size(), 5u);
  for (size_t i = 0; i < b.size(); ++i) {
    const int64_t t0 = int64_t(i) * 10, first = std::max<int64_t>(t0, 1);
    EXPECT_EQ(b[i].start, t0);
    EXPECT_EQ(b[i].tokens, t0 + 10 - first);
    EXPECT_NEAR(b[i].bits, sum(first, t0 + 10) / double(t0 + 10 - first) / std::log(2.0), 1e-4);
  }
}

TEST_F(StreamLossTest, AContinuedStreamScoresItsFirstToken) {
  Streamer a(*model_, 1, 8);
  StreamLoss la(a);
  ASSERT_TRUE(la.feed(slice(0, 21)).ok());
  Streamer b(*model_, 1, 8);
  ASSERT_TRUE(b.set_state(a.state()).ok());
  StreamLoss lb(b, 16);
  lb.set_previous_logits(la.previous_logits());
  ASSERT_TRUE(lb.feed(slice(21, kT)).ok());
  EXPECT_EQ(lb.tokens_scored(), kT - 21);
  EXPECT_NEAR(lb.total_nats(), sum(21, kT), 1e-5 * sum(21, kT));
  // Buckets count stream positions, which go on from 21.
  const std::vector<StreamLoss::Bucket> bk = lb.buckets();
  ASSERT_EQ(bk.size(), 3u);
  EXPECT_EQ(bk[0].start, 16);
  EXPECT_EQ(bk[0].tokens, 32 - 21);
  EXPECT_EQ(bk[2].start, 48);
  // Without the previous logits the first token is not scored.
  Streamer c(*model_, 1, 8);
  ASSERT_TRUE(c.set_state(a.state()).ok());
  StreamLoss lc(c);
  ASSERT_TRUE(lc.feed(slice(21, kT)).ok());
  EXPECT_EQ(lc.tokens_scored(), kT - 22);
  EXPECT_NEAR(lc.total_nats(), sum(22, kT), 1e-5 * sum(22, kT));
}

}  // namespace
}  // namespace titans
