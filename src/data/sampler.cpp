#include "data/sampler.h"

#include <fmt/format.h>

namespace titans::data {

void to_json(nlohmann::json& j, const SamplerPosition& p) {
  j = nlohmann::json{{"seed", p.seed}, {"next_index", p.next_index}};
}

void from_json(const nlohmann::json& j, SamplerPosition& p) {
  j.at("seed").get_to(p.seed);
  j.at("next_index").get_to(p.next_index);
}

Result<SamplerPosition> position_from_json(const nlohmann::json& j) {
  try {
    SamplerPosition p = j.get<SamplerPosition>();
    if (p.next_index < 0)
      return Status::error(fmt::format("data position {} is negative", p.next_index));
    return p;
  } catch (const nlohmann::json::exception& e) {
    return Status::error(fmt::format("bad data position {}: {}", j.dump(), e.what()));
  }
}

uint64_t example_seed(uint64_t stream_seed, int64_t index) {
  // Rng's seeding runs splitmix64 over the state; one more step mixes the index in.
  Rng mix(stream_seed ^ (0x9e3779b97f4a7c15ull * uint64_t(index + 1)));
  return mix.next_u64();
}

ExampleSampler::ExampleSampler(TaskSpec spec, const TaskContext& context, int64_t length,
                               uint64_t seed, std::optional<double> depth)
    : spec_(std::move(spec)), context_(context), length_(length), depth_(depth) {
  position_.seed = seed;
}

Result<ExampleSampler> ExampleSampler::create(TaskSpec spec, const TaskContext& context,
                                              int64_t length, uint64_t seed,
                                              std::optional<double> depth) {
  if (Status s = check_context(spec, context); !s.ok()) return s;
  Result<int64_t> least = min_length(spec, context.params);
  if (!least.ok()) return least.status();
  if (length < *least)
    return Status::error(
        fmt::format("length {} is below the {} tokens the tasks need", length, *least));
  if (depth && !(*depth >= 0.0 && *depth <= 1.0))
    return Status::error(fmt::format("depth {} is outside [0, 1]", *depth));
  return ExampleSampler(std::move(spec), context, length, seed, depth);
}

Result<Example> ExampleSampler::at(int64_t index) const {
  return generate(spec_, context_, length_, depth_, example_seed(position_.seed, index));
}

Result<Example> ExampleSampler::next() {
  Result<Example> ex = at(position_.next_index);
  if (ex.ok()) ++position_.next_index;
  return ex;
}

Result<Batch> ExampleSampler::next_batch(int64_t batch) {
  TITANS_CHECK(batch >= 1, "a batch holds at least one example");
  Batch b;
  b.batch = batch;
  b.length = length_;
  b.tokens.reserve(size_t(batch * length_));
  b.targets.reserve(size_t(batch * length_));
  const SamplerPosition before = position_;
  for (int64_t i = 0; i < batch; ++i) {
    Result<Example> ex = next();
    if (!ex.ok()) {
      position_ = before;  // all or nothing: a failed batch does not move the stream
      return ex.status();
    }
    b.tokens.insert(b.tokens.end(), ex->tokens.begin(), ex->tokens.end());
    b.targets.insert(b.targets.end(), ex->targets.begin(), ex->targets.end());
    b.examples.push_back(std::move(ex.value()));
  }
  return b;
}

Status ExampleSampler::restore(const SamplerPosition& p) {
  if (p.next_index < 0)
    return Status::error(fmt::format("data position {} is negative", p.next_index));
  position_ = p;
  return {};
}

}  // namespace titans::data
