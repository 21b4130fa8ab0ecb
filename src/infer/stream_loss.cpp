// StreamLoss (infer/stream_loss.h).
#include "infer/stream_loss.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace titans {

namespace {

// −log softmax(row)[target], in double.
double token_nats(const float* row, int64_t V, int32_t target) {
  double mx = row[0];
  for (int64_t i = 1; i < V; ++i) mx = std::max(mx, double(row[i]));
  double sum = 0;
  for (int64_t i = 0; i < V; ++i) sum += std::exp(double(row[i]) - mx);
  return mx + std::log(sum) - double(row[target]);
}

}  // namespace

StreamLoss::StreamLoss(Streamer& streamer, int64_t bucket) : s_(streamer), bucket_(bucket) {
  TITANS_CHECK(streamer.batch() == 1, "StreamLoss: batch 1 only");
}

Status StreamLoss::feed(std::span<const int32_t> ids) {
  const int64_t V = s_.model().config().vocab_size;
  const int64_t start = s_.position();
  const auto score = [&](const float* row, int64_t pos, int32_t target) {
    const double nats = token_nats(row, V, target);
    nats_ += nats;
    ++scored_;
    if (bucket_ <= 0) return;
    const int64_t b = pos / bucket_;
    if (first_bucket_ < 0) first_bucket_ = b;
    const size_t i = size_t(b - first_bucket_);
    if (sums_.size() <= i) sums_.resize(i + 1, {0.0, 0});
    sums_[i].first += nats;
    ++sums_[i].second;
  };
  return s_.feed(ids, [&](const float* logits, int64_t n, int64_t pos0) {
    const int64_t off = pos0 - start;  // the piece's first token in ids
    if (prev_.size() == size_t(V)) score(prev_.data(), pos0, ids[size_t(off)]);
    for (int64_t i = 1; i < n; ++i) score(logits + (i - 1) * V, pos0 + i, ids[size_t(off + i)]);
    prev_.assign(logits + (n - 1) * V, logits + n * V);
    fed_ += n;
  });
}

double StreamLoss::bits_per_token() const {
  return scored_ > 0 ? nats_ / scored_ / std::log(2.0) : 0.0;
}

std::vector<StreamLoss::Bucket> StreamLoss::buckets() const {
  std::vector<Bucket> out;
  for (size_t i = 0; i < sums_.size(); ++i)
    if (sums_[i].second > 0)
      out.push_back({(first_bucket_ + int64_t(i)) * bucket_,
                     sums_[i].first / sums_[i].second / std::log(2.0), sums_[i].second});
  return out;
}

}  // namespace titans
