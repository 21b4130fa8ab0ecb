// `titans generate --model M (--prompt TEXT | --prompt-file F) [--max-tokens N] [--temperature T]
// [--top-k K] [--top-p P] [--seed S] [--state-in S] [--state-out S]`: the prompt through a
// Streamer, then sampled tokens, each printed (its bytes) as soon as it is drawn. Only the text
// goes to standard output; the summary goes to standard error. The work is infer/generate.h's.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/tokenizer.h"
#include "infer/generate.h"
#include "infer/state_file.h"
#include "models/model_file.h"

namespace titans::cli {

namespace {

struct GenerateArgs {
  std::string model, prompt, prompt_file, state_in, state_out;
  GenerateOptions gen;
  int threads = 0;
  bool has_prompt = false;  // --prompt given (it may be empty: continue a snapshot)
};

Result<std::string> read_prompt(const GenerateArgs& a) {
  if (a.has_prompt) return a.prompt;
  std::ifstream f(a.prompt_file, std::ios::binary);
  if (!f) return Status::error(a.prompt_file + ": cannot read the file");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Status run_generate(const GenerateArgs& a) {
  apply_threads(a.threads);
  if (Status v = validate(a.gen.sampling); !v) return v;
  Result<std::string> prompt = read_prompt(a);
  if (!prompt) return prompt.status();
  Result<std::unique_ptr<Model>> model = load_model(a.model);
  if (!model) return model.status();
  Streamer streamer(**model);
  std::vector<float> last;
  if (!a.state_in.empty()) {
    Result<std::vector<float>> l = restore_state(a.state_in, streamer);
    if (!l) return l.status();
    last = std::move(*l);
  }
  if (prompt->empty() && last.empty())
    return Status::error(a.state_in.empty()
                             ? "the prompt is empty"
                             : "the prompt is empty and " + a.state_in + " has no last logits");
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = data::encode(*prompt);
  Result<std::vector<int32_t>> out = generate(streamer, ids, last, a.gen, [](int32_t id) {
    if (id < data::kByteTokens)
      std::fputc(id, stdout);
    else if (id != data::kEos)
      std::fputs(std::string(data::special_token_name(id)).c_str(), stdout);
    std::fflush(stdout);
  });
  if (!out) return out.status();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!a.state_out.empty())
    if (Status s = save_state(a.state_out, **model, streamer.state(), streamer.last_logits()); !s)
      return s;
  fmt::print(stderr,
             "\ntitans generate: {} prompt tokens, {} generated, {:.1f} tokens/s, position {}\n",
             ids.size(), out->size(), double(ids.size() + out->size()) / secs, streamer.position());
  return {};
}

}  // namespace

void add_generate_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "generate text from a prompt, token by token");
  cmd->add_option("--model", args->model, "the model file (.safetensors)")->required();
  CLI::Option* prompt =
      cmd->add_option("--prompt", args->prompt, "the prompt text (may be empty with --state-in)");
  CLI::Option* file =
      cmd->add_option("--prompt-file", args->prompt_file, "read the prompt from this file");
  prompt->excludes(file);
  cmd->add_option("--max-tokens", args->gen.max_tokens, "tokens to generate at most")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  cmd->add_option("--temperature", args->gen.sampling.temperature, "0: greedy (argmax)")
      ->capture_default_str();
  cmd->add_option("--top-k", args->gen.sampling.top_k,
                  "sample among the k most likely tokens (0: all)")
      ->capture_default_str();
  cmd->add_option("--top-p", args->gen.sampling.top_p,
                  "nucleus: the smallest set of tokens with this mass")
      ->capture_default_str();
  add_seed_option(*cmd, &args->gen.seed);
  add_state_options(*cmd, &args->state_in, &args->state_out);
  add_threads_option(*cmd, &args->threads);
  cmd->callback([args, prompt, file, exit_code] {
    args->has_prompt = prompt->count() > 0;
    Status s;
    if (!args->has_prompt && file->count() == 0)
      s = Status::error("one of --prompt, --prompt-file is needed");
    else
      s = run_generate(*args);
    if (!s) fmt::print(stderr, "titans: error: {}\n", s.message());
    *exit_code = s ? 0 : 2;
  });
}

}  // namespace titans::cli
