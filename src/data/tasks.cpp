// The task registry, task-name parsing (mixtures), and the dispatch to the generators.
#include "data/tasks.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "data/lm_windows.h"
#include "data/tokenizer.h"

namespace titans::data {

const std::vector<TaskInfo>& task_registry() {
  static const std::vector<TaskInfo> tasks = {
      {"passkey", "passkey retrieval in the filler (Landmark Attention)", false, false},
      {"sniah1", "S-NIAH-1: 7-digit number for a word key, filler haystack", false, false},
      {"sniah2", "S-NIAH-2: 7-digit number for a word key, natural-text haystack", true, false},
      {"sniah3", "S-NIAH-3: UUID for a word key, natural-text haystack", true, false},
      {"qa1", "bAbI qa1 (one supporting fact) in natural text", true, false},
      {"qa2", "bAbI qa2 (two supporting facts) in natural text", true, false},
      {"qa3", "bAbI qa3 (three supporting facts) in natural text", true, false},
      {"mqar", "multi-query associative recall over token ids (Zoology)", false, false},
      {"lm", "plain text windows of the corpus, every next token labelled", false, true},
  };
  return tasks;
}

namespace {

const TaskInfo* find_task(std::string_view name) {
  for (const TaskInfo& t : task_registry())
    if (t.name == name) return &t;
  return nullptr;
}

std::string known_tasks() {
  std::string s;
  for (const TaskInfo& t : task_registry()) s += (s.empty() ? "" : ", ") + std::string(t.name);
  return s + ", mix:TASK=WEIGHT,…";
}

Result<double> parse_weight(std::string_view text) {
  double w = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), w);
  if (ec != std::errc() || end != text.data() + text.size() || !(w > 0) || !std::isfinite(w))
    return Status::error(fmt::format("mixture weight '{}' is not a positive number", text));
  return w;
}

int64_t task_min_length(std::string_view name, const TaskParams& p) {
  if (name == "passkey") return passkey_min_length();
  if (name.starts_with("sniah")) return sniah_min_length(name.back() - '0');
  if (name.starts_with("qa")) return babi_min_length(name.back() - '0', p);
  if (name == "mqar") return mqar_min_length(p);
  return 1;  // lm
}

Result<Example> generate_one(std::string_view name, const TaskContext& c, int64_t length,
                             double depth, Rng& rng) {
  if (name == "passkey") return generate_passkey(c, length, depth, rng);
  if (name.starts_with("sniah")) return generate_sniah(name.back() - '0', c, length, depth, rng);
  if (name.starts_with("qa")) return generate_babi(name.back() - '0', c, length, rng);
  if (name == "mqar") return generate_mqar(c, length, rng);
  return generate_lm(c, length, rng);
}

}  // namespace

Result<TaskSpec> parse_task(std::string_view name) {
  TaskSpec spec;
  if (!name.starts_with("mix:")) {
    if (!find_task(name))
      return Status::error(fmt::format("unknown task '{}' (tasks: {})", name, known_tasks()));
    spec.parts.push_back({std::string(name), 1.0});
    return spec;
  }
  std::string_view rest = name.substr(4);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return Status::error(fmt::format("mixture item '{}' is not TASK=WEIGHT", item));
    const std::string_view task = item.substr(0, eq);
    if (!find_task(task))
      return Status::error(
          fmt::format("unknown task '{}' in mixture '{}' (tasks: {})", task, name, known_tasks()));
    for (const auto& [seen, w] : spec.parts)
      if (seen == task)
        return Status::error(fmt::format("task '{}' twice in mixture '{}'", task, name));
    Result<double> weight = parse_weight(item.substr(eq + 1));
    if (!weight.ok()) return weight.status();
    spec.parts.push_back({std::string(task), *weight});
  }
  if (spec.parts.empty()) return Status::error(fmt::format("mixture '{}' names no task", name));
  return spec;
}

Result<int64_t> min_length(const TaskSpec& spec, const TaskParams& params) {
  int64_t n = 1;
  for (const auto& [task, w] : spec.parts) n = std::max(n, task_min_length(task, params));
  return n;
}

Status check_context(const TaskSpec& spec, const TaskContext& c) {
  for (const auto& [task, w] : spec.parts) {
    const TaskInfo& info = *find_task(task);
    if (info.needs_natural_text && (!c.natural || c.natural->empty()))
      return Status::error(
          fmt::format("task {} needs a natural-text corpus (none was loaded)", task));
    if (info.needs_lm_text && c.lm_text.empty())
      return Status::error(fmt::format("task {} needs a text corpus (none was loaded)", task));
    const TaskParams& p = c.params;
    if (task == "mqar" &&
        (p.mqar_pairs < 1 || p.mqar_vocab < 4 || p.mqar_pairs > p.mqar_vocab / 2 - 1))
      return Status::error(fmt::format(
          "mqar: {} pairs need {} keys, vocabulary {} has {} (keys are [1, V/2), values [V/2, V))",
          p.mqar_pairs, p.mqar_pairs, p.mqar_vocab, std::max(p.mqar_vocab / 2 - 1, 0)));
    // The fewest facts that can make each question: a move; a move and a grab; two moves around a
    // grab.
    const int32_t least_facts = task == "qa1" ? 1 : task == "qa2" ? 2 : 3;
    if (task.starts_with("qa") && p.qa_facts != 0 && p.qa_facts < least_facts)
      return Status::error(
          fmt::format("{} needs at least {} facts, not {}", task, least_facts, p.qa_facts));
  }
  return {};
}

Result<Example> generate_lm(const TaskContext& c, int64_t length, Rng& rng) {
  Result<int64_t> start = random_window_start(c.lm_text, length, rng);
  if (!start.ok()) return Status::error("lm: " + start.message());
  Window w = make_window(c.lm_text, *start, length);
  Example ex;
  ex.task = "lm";
  ex.tokens = std::move(w.tokens);
  ex.targets = std::move(w.targets);
  ex.prompt_length = length;
  ex.scoring = Scoring::kLoss;
  return ex;
}

Result<Example> generate(const TaskSpec& spec, const TaskContext& context, int64_t length,
                         std::optional<double> depth, uint64_t seed) {
  if (Status s = check_context(spec, context); !s.ok()) return s;
  if (depth && !(*depth >= 0.0 && *depth <= 1.0))
    return Status::error(fmt::format("depth {} is outside [0, 1]", *depth));
  for (const auto& [task, w] : spec.parts)
    if (const int64_t least = task_min_length(task, context.params); length < least)
      return Status::error(
          fmt::format("task {} needs a length of at least {} tokens, not {}", task, least, length));
  Rng rng(seed);
  size_t pick = 0;
  if (spec.is_mixture()) {
    double total = 0;
    for (const auto& [task, w] : spec.parts) total += w;
    double u = rng.uniform() * total;
    while (pick + 1 < spec.parts.size() && u >= spec.parts[pick].second)
      u -= spec.parts[pick++].second;
  }
  const std::string& task = spec.parts[pick].first;
  const double d = depth ? *depth : rng.uniform();
  const bool text_task = task != "mqar" && task != "lm";
  if (!text_task || context.params.tail_jitter <= 0)
    return generate_one(task, context, length, d, rng);
  const int64_t room =
      std::min<int64_t>(context.params.tail_jitter, length - task_min_length(task, context.params));
  const int64_t tail = int64_t(rng.below(uint64_t(room) + 1));
  Result<Example> ex = generate_one(task, context, length - tail, d, rng);
  if (ex.ok() && tail > 0) {
    ex->tokens.insert(ex->tokens.end(), size_t(tail), int32_t(' '));
    ex->targets.insert(ex->targets.end(), size_t(tail), kNoTarget);
    if (context.params.full_lm_loss)  // every next token labelled: the spaces too
      for (size_t i = size_t(length - tail - 1); i + 1 < size_t(length); ++i)
        ex->targets[i] = ex->tokens[i + 1];
  }
  return ex;
}

}  // namespace titans::data
