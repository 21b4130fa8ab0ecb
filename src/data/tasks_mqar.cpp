// MQAR, multi-query associative recall (Zoology): N key-value pairs, then every key queried once at
// a random later slot; the target at a queried key is its value.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>

#include "data/tasks.h"
#include "data/tokenizer.h"

namespace titans::data {

namespace {

// k distinct values of [0, n) in draw order (a partial Fisher–Yates shuffle of 0 … n−1).
std::vector<int64_t> distinct(int64_t n, int64_t k, Rng& rng) {
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  for (int64_t i = 0; i < k; ++i)
    std::swap(all[size_t(i)], all[size_t(i + int64_t(rng.below(uint64_t(n - i))))]);
  all.resize(size_t(k));
  return all;
}

}  // namespace

int64_t mqar_min_length(const TaskParams& p) { return 4 * int64_t(p.mqar_pairs); }

// Layout (Zoology's): k1 v1 k2 v2 … kN vN at positions 0 … 2N−1; the rest is the query region,
// filler 0 but for the N keys, in a random order, at N distinct even offsets from 2N (so the slot
// after each queried key stays 0: values are never shown twice, only asked for). Keys are distinct
// in [1, V/2), values distinct in [V/2, V).
Result<Example> generate_mqar(const TaskContext& c, int64_t length, Rng& rng) {
  const int64_t v = c.params.mqar_vocab, n = c.params.mqar_pairs;
  Example ex;
  ex.task = "mqar";
  ex.tokens.assign(size_t(length), 0);
  ex.targets.assign(size_t(length), kNoTarget);
  std::vector<int64_t> keys = distinct(v / 2 - 1, n, rng), values = distinct(v - v / 2, n, rng);
  for (int64_t i = 0; i < n; ++i) {
    keys[size_t(i)] += 1;
    values[size_t(i)] += v / 2;
    ex.tokens[size_t(2 * i)] = int32_t(keys[size_t(i)]);
    ex.tokens[size_t(2 * i + 1)] = int32_t(values[size_t(i)]);
  }
  std::vector<int64_t> slots = distinct((length - 2 * n) / 2, n, rng);
  std::sort(slots.begin(), slots.end());
  const std::vector<int64_t> order = distinct(n, n, rng);  // which key each slot asks for
  std::vector<std::string> answers;
  for (int64_t q = 0; q < n; ++q) {
    const int64_t pos = 2 * n + 2 * slots[size_t(q)];
    const size_t pair = size_t(order[size_t(q)]);
    ex.tokens[size_t(pos)] = int32_t(keys[pair]);
    ex.targets[size_t(pos)] = int32_t(values[pair]);
    ex.needles.push_back({pos, 1});
    answers.push_back(std::to_string(values[pair]));
  }
  ex.prompt_length = length;  // scored from the logits at the queried keys
  ex.answer = fmt::format("{}", fmt::join(answers, " "));
  ex.scoring = Scoring::kArgmaxAtTargets;
  ex.haystack = {2 * n, length - 2 * n};
  return ex;
}

}  // namespace titans::data
