// `titans data`: prints one generated example for a person to read — the text (MQAR: the ids), the
// needle and answer with their positions and depth.
#include <fmt/format.h>

#include <optional>
#include <string_view>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/task_text.h"
#include "data/tokenizer.h"

namespace titans::cli {

namespace {

using namespace titans::data;

struct DataArgs {
  std::string task;
  int64_t length = 512;
  uint64_t seed = 0;
  std::optional<double> depth;
  std::string corpus;
  TaskParams params;
};

// Text for a terminal: decoded, quoted.
std::string quoted(const Example& ex, Span s) {
  const std::span<const int32_t> ids(ex.tokens.data() + s.pos, size_t(s.length));
  Result<std::string> text = decode(ids);
  return text.ok() ? fmt::format("\"{}\"", text.value()) : text.message();
}

void print_ids(std::span<const int32_t> ids) {
  for (size_t i = 0; i < ids.size(); i += 16) {
    fmt::print("{:6d} |", i);
    for (size_t j = i; j < std::min(ids.size(), i + 16); ++j) fmt::print(" {:3d}", ids[j]);
    fmt::print("\n");
  }
}

void print_example(const Example& ex, const DataArgs& a) {
  fmt::print("task {} | {} tokens | seed {}", ex.task, ex.tokens.size(), a.seed);
  if (ex.depth >= 0) fmt::print(" | depth {:.3f}{}", ex.depth, a.depth ? "" : " (drawn)");
  fmt::print("\nscoring: {}\n", scoring_rule(ex.scoring));
  if (ex.scoring == Scoring::kArgmaxAtTargets) {
    fmt::print("{} key-value pairs at tokens [0, {}); queried keys (position: key -> value):\n",
               ex.needles.size(), ex.haystack.pos);
    for (const Span& n : ex.needles)
      fmt::print("  {}: {} -> {}\n", n.pos, ex.tokens[size_t(n.pos)], ex.targets[size_t(n.pos)]);
    fmt::print("---- ids\n");
    print_ids(ex.tokens);
    return;
  }
  if (!ex.answer.empty())
    fmt::print(
        "answer \"{}\"; completion {} at token {} (the labelled tokens); decode <= {} tokens\n",
        ex.answer, quoted(ex, {ex.prompt_length, int64_t(ex.tokens.size()) - ex.prompt_length}),
        ex.prompt_length, ex.max_new_tokens);
  if (!ex.needles.empty())
    fmt::print("haystack at tokens [{}, {})\n", ex.haystack.pos,
               ex.haystack.pos + ex.haystack.length);
  for (size_t i = 0; i < ex.needles.size(); ++i) {
    const Span& n = ex.needles[i];
    fmt::print("{} at token {} (depth {:.3f} of the haystack, {:.3f} of the length): {}\n",
               ex.needles.size() == 1 ? "needle" : fmt::format("fact {}", i + 1), n.pos,
               haystack_depth(ex, i), double(n.pos) / double(ex.tokens.size()), quoted(ex, n));
  }
  fmt::print("---- text\n{}\n----\n", quoted(ex, {0, int64_t(ex.tokens.size())}));
}

int run_data(const DataArgs& a) {
  Result<TaskSpec> spec = parse_task(a.task);
  if (!spec.ok()) {
    fmt::print(stderr, "titans: error: {}\n", spec.message());
    return 2;
  }
  // Only tasks that read text load the corpus, so passkey / sniah1 / mqar work without it.
  TaskText text;
  TaskContext context;
  context.params = a.params;
  if (Status s = load_task_text(*spec, a.corpus, &text, &context); !s) {
    fmt::print(stderr, "titans: error: {}\n", s.message());
    return 2;
  }
  Result<Example> ex = generate(*spec, context, a.length, a.depth, a.seed);
  if (!ex.ok()) {
    fmt::print(stderr, "titans: error: {}\n", ex.message());
    return 2;
  }
  print_example(*ex, a);
  return 0;
}

}  // namespace

// Values are checked by the library (one-line error, exit 2), not by CLI11.
void add_data_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DataArgs>();
  CLI::App* cmd = app.add_subcommand("data", "print one generated task example (docs/TASKS.md)");
  cmd->add_option("--task", args->task,
                  "passkey, sniah1, sniah2, sniah3, qa1, qa2, qa3, mqar, lm, or mix:TASK=W,...")
      ->required();
  cmd->add_option("--length", args->length, "tokens (bytes) in the example")->capture_default_str();
  cmd->add_option("--depth", args->depth, "needle depth in [0, 1] (default: drawn)");
  cmd->add_option(
      "--corpus", args->corpus,
      "text file or folder of .txt files (default: data/kjv.txt, from scripts/setup.sh)");
  cmd->add_option("--pairs", args->params.mqar_pairs, "mqar: key-value pairs")
      ->capture_default_str();
  cmd->add_option("--vocab", args->params.mqar_vocab, "mqar: vocabulary V")->capture_default_str();
  cmd->add_option("--facts", args->params.qa_facts,
                  "qa1-qa3: facts per story (0: the task's default)")
      ->capture_default_str();
  add_seed_option(*cmd, &args->seed);
  cmd->callback([args, exit_code] { *exit_code = run_data(*args); });
}

}  // namespace titans::cli
