// Sampling (infer/sampling.h).
#include "infer/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace titans {

namespace {

bool greedy(const SamplingOptions& o) { return o.temperature == 0.0 || o.top_k == 1; }

// The index of the first largest logit (NaN below everything).
size_t argmax(std::span<const float> logits) {
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best] || (std::isnan(logits[best]) && !std::isnan(logits[i]))) best = i;
  return best;
}

}  // namespace

Status validate(const SamplingOptions& o) {
  if (!(o.temperature >= 0.0) || !std::isfinite(o.temperature))
    return Status::error("--temperature must be a finite number >= 0");
  if (o.top_k < 0) return Status::error("--top-k must be >= 0");
  if (!(o.top_p > 0.0 && o.top_p <= 1.0)) return Status::error("--top-p must be in (0, 1]");
  return {};
}

std::vector<double> sampling_distribution(std::span<const float> logits, const SamplingOptions& o) {
  const size_t V = logits.size();
  std::vector<double> p(V, 0.0);
  if (V == 0) return p;
  if (greedy(o)) {
    p[argmax(logits)] = 1.0;
    return p;
  }
  // Most likely first; ties by id, so the kept set never depends on the sort's whims.
  const auto value = [&](size_t i) {
    return std::isnan(logits[i]) ? -std::numeric_limits<double>::infinity()
                                 : double(logits[i]) / o.temperature;
  };
  std::vector<size_t> order(V);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return value(a) > value(b); });
  size_t keep = o.top_k > 0 ? std::min(V, size_t(o.top_k)) : V;
  const double top = value(order[0]);
  if (std::isinf(top)) {  // nothing has any mass: the first token (and not a NaN distribution)
    p[order[0]] = 1.0;
    return p;
  }
  double sum = 0;
  for (size_t r = 0; r < keep; ++r) sum += p[order[r]] = std::exp(value(order[r]) - top);
  if (o.top_p < 1.0) {
    // The smallest prefix whose mass reaches p (at least one token).
    double mass = 0;
    size_t r = 0;
    while (r < keep) {
      mass += p[order[r]] / sum;
      ++r;
      if (mass >= o.top_p) break;
    }
    for (size_t i = r; i < keep; ++i) p[order[i]] = 0;
    keep = r;
    sum = 0;
    for (size_t i = 0; i < keep; ++i) sum += p[order[i]];
  }
  for (double& x : p) x /= sum;
  return p;
}

int32_t sample_token(std::span<const float> logits, const SamplingOptions& o, Rng& rng) {
  if (greedy(o)) return int32_t(argmax(logits));
  const std::vector<double> p = sampling_distribution(logits, o);
  const double u = rng.uniform();
  double c = 0;
  size_t last = 0;  // the last token with mass: rounding never picks a token without
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0) continue;
    last = i;
    c += p[i];
    if (u < c) return int32_t(i);
  }
  return int32_t(last);
}

}  // namespace titans
