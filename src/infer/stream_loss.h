// The next-token loss of a token stream of any length, fed in blocks through a Streamer (batch 1):
// every token after the first is scored with the logits of the token before it, carried across
// blocks, pieces and (through a snapshot's last logits) processes. `titans stream` reports it.
#pragma once

#include <span>
#include <vector>

#include "infer/streamer.h"

namespace titans {

class StreamLoss {
 public:
  // `bucket` > 0 keeps the loss per bucket of that many stream positions (loss by position).
  explicit StreamLoss(Streamer& streamer, int64_t bucket = 0);

  // The logits of the token before the next one fed (a snapshot's last logits): its first token is
  // then scored too. Empty: the next token is not scored (a sequence start).
  void set_previous_logits(std::vector<float> logits) { prev_ = std::move(logits); }
  // The logits of the last token fed (or those set above if nothing was fed since).
  const std::vector<float>& previous_logits() const { return prev_; }

  // Feeds ids through the streamer and scores them. On error nothing of the failing piece counts.
  Status feed(std::span<const int32_t> ids);

  int64_t tokens_fed() const { return fed_; }
  int64_t tokens_scored() const { return scored_; }
  double total_nats() const { return nats_; }
  double bits_per_token() const;  // mean nats / ln 2 over the scored tokens (0 when none)

  struct Bucket {
    int64_t start;   // the first stream position of the bucket
    double bits;     // mean loss of its scored tokens, in bits
    int64_t tokens;  // scored tokens in it
  };
  std::vector<Bucket> buckets() const;  // those with a scored token, in order

 private:
  Streamer& s_;
  int64_t bucket_;
  std::vector<float> prev_;
  int64_t fed_ = 0, scored_ = 0;
  double nats_ = 0;
  int64_t first_bucket_ = -1;                     // the bucket index of sums_[0]
  std::vector<std::pair<double, int64_t>> sums_;  // per bucket: nats, tokens
};

}  // namespace titans
