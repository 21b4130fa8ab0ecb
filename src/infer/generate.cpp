// generate (infer/generate.h).
#include "infer/generate.h"

#include "data/tokenizer.h"

namespace titans {

Result<std::vector<int32_t>> generate(Streamer& s, std::span<const int32_t> prompt,
                                      std::span<const float> previous, const GenerateOptions& o,
                                      const std::function<void(int32_t)>& on_token) {
  if (Status v = validate(o.sampling); !v) return v;
  if (s.batch() != 1) return Status::error("generate: batch 1 only");
  const int64_t V = s.model().config().vocab_size;
  std::vector<float> logits(previous.begin(), previous.end());
  if (!prompt.empty()) {
    if (Status st = s.feed(prompt); !st) return st;
    logits.assign(s.last_logits().begin(), s.last_logits().end());
  }
  if (int64_t(logits.size()) != V)
    return Status::error("generate: nothing to continue from (an empty prompt and no last logits)");
  Rng rng(o.seed);
  std::vector<int32_t> out;
  for (int64_t i = 0; i < o.max_tokens; ++i) {
    const int32_t id = sample_token(logits, o.sampling, rng);
    out.push_back(id);
    if (on_token) on_token(id);
    const int32_t one[1] = {id};
    if (Status st = s.feed(one); !st) return st;
    if (id == data::kEos && V > data::kEos) break;
    logits.assign(s.last_logits().begin(), s.last_logits().end());
  }
  return out;
}

}  // namespace titans
