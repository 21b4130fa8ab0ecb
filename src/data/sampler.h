// A stream of examples for training or evaluation, and batches of them. Example i is generated from
// a seed derived from (seed, i) alone, so the stream's position is just (seed, next index): it is
// saved in checkpoints and restored exactly, and any example can be regenerated on its own.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "data/example.h"
#include "data/tasks.h"
#include "util/status.h"

namespace titans::data {

// The data position of a checkpoint.
struct SamplerPosition {
  uint64_t seed = 0;
  int64_t next_index = 0;  // examples drawn so far
  bool operator==(const SamplerPosition&) const = default;
};
void to_json(nlohmann::json& j, const SamplerPosition& p);    // {"seed": …, "next_index": …}
void from_json(const nlohmann::json& j, SamplerPosition& p);  // throws nlohmann's exceptions
Result<SamplerPosition> position_from_json(const nlohmann::json& j);  // the same, as a Result

// The seed of example `index` of a stream (splitmix64 of the pair): streams of nearby seeds share
// no examples, and example i does not depend on how many were drawn before it.
uint64_t example_seed(uint64_t stream_seed, int64_t index);

// `batch` examples laid out row-major: tokens[b · length + t], targets alike.
struct Batch {
  int64_t batch = 0;
  int64_t length = 0;
  std::vector<int32_t> tokens;
  std::vector<int32_t> targets;
  std::vector<Example> examples;  // the rows, for evaluation (answers, prompt lengths)
};

class ExampleSampler {
 public:
  // Validates the spec, the context and the length (min_length) up front. depth: fixed for every
  // example, or drawn per example when not given. The context's texts must outlive the sampler.
  static Result<ExampleSampler> create(TaskSpec spec, const TaskContext& context, int64_t length,
                                       uint64_t seed, std::optional<double> depth = std::nullopt);

  Result<Example> next();
  Result<Batch> next_batch(int64_t batch);
  // Example `index` of this stream, without moving the position.
  Result<Example> at(int64_t index) const;

  SamplerPosition position() const { return position_; }
  // Continues from `p` (its seed replaces this sampler's): the next example is p.next_index's.
  Status restore(const SamplerPosition& p);

  int64_t length() const { return length_; }
  const TaskSpec& spec() const { return spec_; }

 private:
  ExampleSampler(TaskSpec spec, const TaskContext& context, int64_t length, uint64_t seed,
                 std::optional<double> depth);
  TaskSpec spec_;
  TaskContext context_;
  int64_t length_;
  std::optional<double> depth_;
  SamplerPosition position_;
};

}  // namespace titans::data
