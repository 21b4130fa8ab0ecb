// The task generators (docs/TASKS.md): passkey, S-NIAH-1/2/3, BABILong-style qa1–qa3, MQAR, plain
// LM text, and weighted mixtures of them. Deterministic in the seed; used for training and
// evaluation alike. Lengths are in byte tokens (data/tokenizer.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/example.h"
#include "data/sentences.h"
#include "util/rng.h"
#include "util/status.h"

namespace titans::data {

struct TaskParams {
  int32_t mqar_vocab = 256;   // V: keys in [1, V/2), values in [V/2, V), 0 is the filler
  int32_t mqar_pairs = 8;     // N key-value pairs, every key queried once
  int32_t qa_facts = 0;       // bAbI facts per story; 0: the task's default (qa1 4, qa2 6, qa3 8)
  bool full_lm_loss = false;  // retrieval tasks: label every next token, not only the answer
  // Text tasks (passkey, sniah*, qa*): the task's example of length − j followed by j spaces, j
  // uniform in [0, tail_jitter] (unlabelled; after the completion, so a causal model's answer does
  // not see them): the question does not always end at the same offset within a segment or chunk.
  // Trained at one length without it, a titans_mac answered only at that alignment.
  int32_t tail_jitter = 0;
};

// What the generators draw text from; views, so the owner must outlive the context.
struct TaskContext {
  std::string_view lm_text;               // the "lm" task's windows (e.g. Corpus::train())
  const SentenceBank* natural = nullptr;  // natural-text haystack: sniah2, sniah3, qa1–qa3
  TaskParams params;
};

// The registry: one entry per task, in this order (the names the CLI and configs accept).
struct TaskInfo {
  std::string_view name;
  std::string_view summary;
  bool needs_natural_text = false;  // context.natural must be set
  bool needs_lm_text = false;       // context.lm_text must be set
};
const std::vector<TaskInfo>& task_registry();

// A task name parsed: one task, or a mixture "mix:passkey=1,mqar=2" (positive weights, each task
// at most once). Weights are relative; a single task is a mixture of one with weight 1.
struct TaskSpec {
  std::vector<std::pair<std::string, double>> parts;
  bool is_mixture() const { return parts.size() != 1; }
};
Result<TaskSpec> parse_task(std::string_view name);

// The shortest length every example of the spec can be built at (the largest over a mixture).
Result<int64_t> min_length(const TaskSpec& spec, const TaskParams& params);
// Whether the context has the text every task of the spec needs, and valid params (MQAR sizes).
Status check_context(const TaskSpec& spec, const TaskContext& context);

// One example of exactly `length` tokens. The rng Rng(seed) first picks the task of a mixture
// (by weight), then, when depth is not given, the depth (uniform in [0, 1)), then everything else.
// Tasks without a depth (qa*, mqar, lm) ignore it. Errors: the length below min_length (naming the
// task and its minimum), depth outside [0, 1], a context missing the text the task needs.
Result<Example> generate(const TaskSpec& spec, const TaskContext& context, int64_t length,
                         std::optional<double> depth, uint64_t seed);

// ---- the generators, one per task (tasks_needle.cpp, tasks_babi.cpp, tasks_mqar.cpp). Each gets
// a validated length and depth ≥ 0 (or < 0 for none) and draws from rng.
Result<Example> generate_passkey(const TaskContext& c, int64_t length, double depth, Rng& rng);
// variant 1 (filler, 7-digit number), 2 (natural text, 7-digit number), 3 (natural text, UUID)
Result<Example> generate_sniah(int variant, const TaskContext& c, int64_t length, double depth,
                               Rng& rng);
// qa 1, 2 or 3
Result<Example> generate_babi(int qa, const TaskContext& c, int64_t length, Rng& rng);
Result<Example> generate_mqar(const TaskContext& c, int64_t length, Rng& rng);
Result<Example> generate_lm(const TaskContext& c, int64_t length, Rng& rng);

int64_t passkey_min_length();
int64_t sniah_min_length(int variant);
int64_t babi_min_length(int qa, const TaskParams& p);
int64_t mqar_min_length(const TaskParams& p);
int32_t babi_facts(int qa, const TaskParams& p);  // qa_facts, or the task's default

}  // namespace titans::data
