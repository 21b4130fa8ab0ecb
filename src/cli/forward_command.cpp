// `titans forward --model M --input FILE --out logits.npy [--tokens]`: the logits of one sequence,
// float32 [T, vocab] in a .npy file. The input is the bytes of FILE (byte-level models), or with
// --tokens whitespace-separated integer ids.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "io/npy.h"
#include "models/model_file.h"

namespace titans::cli {

namespace {

struct ForwardArgs {
  std::string model, input, out;
  bool tokens = false;
  int threads = 0;
};

Result<std::vector<int32_t>> read_ids(const std::string& path, bool tokens, int64_t vocab) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::error(path + ": cannot read the file");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  std::vector<int32_t> ids;
  if (!tokens) {
    for (unsigned char c : text) ids.push_back(int32_t(c));
  } else {
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
      size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(word, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != word.size())
        return Status::error(path + ": token " + std::to_string(ids.size()) + " '" + word.substr(0, 40) +
                             "' is not an integer");
      if (v < 0 || v >= vocab)
        return Status::error(path + ": token " + std::to_string(ids.size()) + " is " + word +
                             ", outside the vocabulary [0, " + std::to_string(vocab) + ")");
      ids.push_back(int32_t(v));
    }
  }
  if (ids.empty()) return Status::error(path + ": no tokens");
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= vocab)
      return Status::error(path + ": byte " + std::to_string(i) + " is " + std::to_string(ids[i]) +
                           ", outside the vocabulary [0, " + std::to_string(vocab) + ")");
  return ids;
}

Status run_forward(const ForwardArgs& a) {
  apply_threads(a.threads);
  Result<std::unique_ptr<Model>> model = load_model(a.model);
  if (!model) return model.status();
  Result<std::vector<int32_t>> ids = read_ids(a.input, a.tokens, (*model)->config().vocab_size);
  if (!ids) return ids.status();
  const int64_t T = int64_t(ids->size());
  Graph g;
  NoGradScope no_grad(g);
  const Tensor input = wrap(ids->data(), Shape{1, T}, DType::i32);
  Result<Tensor> logits = (*model)->forward(g, input, nullptr);
  if (!logits) return logits.status();
  const int64_t shape[2] = {T, (*model)->config().vocab_size};
  if (Status s = io::write_npy(a.out, DType::f32, shape, logits->data); !s) return s;
  fmt::print("{}: logits [{}, {}]\n", a.out, shape[0], shape[1]);
  return {};
}

}  // namespace

void add_forward_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ForwardArgs>();
  CLI::App* cmd = app.add_subcommand("forward", "write a model's logits for one sequence to a .npy file");
  cmd->add_option("--model", args->model, "the model file (.safetensors)")->required();
  cmd->add_option("--input", args->input, "the sequence: a file's bytes (or ids, with --tokens)")->required();
  cmd->add_option("--out", args->out, "the .npy file to write: float32 [tokens, vocab]")->required();
  cmd->add_flag("--tokens", args->tokens, "the input holds whitespace-separated integer token ids");
  add_threads_option(*cmd, &args->threads);
  cmd->callback([args, exit_code] {
    const Status s = run_forward(*args);
    if (!s) fmt::print(stderr, "titans: error: {}\n", s.message());
    *exit_code = s ? 0 : 2;
  });
}

}  // namespace titans::cli
