// `titans stream --model M --input FILE|- [--state-in S] [--state-out S] [--piece N]
// [--loss-by-position OUT.tsv [--bucket N]]`: a byte stream of any length through a model, in
// blocks (never held in memory whole), with the next-token loss of every token after the first:
// bits per byte, speed and peak RSS at the end. The work is infer/stream_loss.h's.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "bench/rss.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "infer/state_file.h"
#include "infer/stream_loss.h"
#include "io/atomic_file.h"
#include "models/model_file.h"

namespace titans::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kBlockBytes = size_t(1) << 20;  // read and fed at a time

struct StreamArgs {
  std::string model, input, state_in, state_out, loss_tsv;
  int64_t piece = 0, bucket = 1024;
  int threads = 0;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The live progress line: rewritten in place twice a second on a terminal, else one line a minute
// (a log file of a long run still shows it is alive).
class Progress {
 public:
  Progress() : tty_(isatty(fileno(stderr)) != 0), t0_(Clock::now()), last_(t0_) {}
  void update(const StreamLoss& loss) {
    const double since = std::chrono::duration<double>(Clock::now() - last_).count();
    if (since < (tty_ ? 0.5 : 60.0)) return;
    last_ = Clock::now();
    const double s = seconds_since(t0_);
    fmt::print(stderr, "{}titans stream: {} tokens, {:.4f} bits per byte, {:.0f} tokens/s{}",
               tty_ ? "\r" : "", loss.tokens_fed(), loss.bits_per_token(),
               double(loss.tokens_fed()) / s, tty_ ? "" : "\n");
    shown_ = true;
  }
  void done() {
    if (tty_ && shown_) fmt::print(stderr, "\n");
  }

 private:
  bool tty_, shown_ = false;
  Clock::time_point t0_, last_;
};

Status write_loss_tsv(const std::string& path, const StreamLoss& loss) {
  std::string text = "position\tbits\ttokens\n";
  for (const StreamLoss::Bucket& b : loss.buckets())
    text += fmt::format("{}\t{:.6f}\t{}\n", b.start, b.bits, b.tokens);
  const io::ByteRange piece{text.data(), text.size()};
  return io::write_file_atomically(path, std::span(&piece, 1));
}

Status run_stream(const StreamArgs& a) {
  apply_threads(a.threads);
  Result<std::unique_ptr<Model>> model = load_model(a.model);
  if (!model) return model.status();
  Streamer streamer(**model, 1, a.piece);
  StreamLoss loss(streamer, a.loss_tsv.empty() ? 0 : a.bucket);
  if (!a.state_in.empty()) {
    Result<std::vector<float>> last = restore_state(a.state_in, streamer);
    if (!last) return last.status();
    loss.set_previous_logits(std::move(*last));
  }
  const bool from_stdin = a.input == "-";
  FILE* const file = from_stdin ? stdin : std::fopen(a.input.c_str(), "rb");
  if (!file) return Status::error(a.input + ": cannot read the file");
  const std::unique_ptr<FILE, void (*)(FILE*)> closer(file, [](FILE* f) {
    if (f != stdin) std::fclose(f);
  });
  const std::string label = from_stdin ? "standard input" : a.input;

  const Clock::time_point t0 = Clock::now();
  Progress progress;
  std::vector<unsigned char> bytes(kBlockBytes);
  std::vector<int32_t> ids;
  size_t n = 0;
  while ((n = std::fread(bytes.data(), 1, bytes.size(), file)) > 0) {
    ids.assign(bytes.begin(), bytes.begin() + long(n));  // the byte tokenizer: one id per byte
    const Status st = loss.feed(ids);
    if (!st) {
      progress.done();
      return Status::error(fmt::format("{}: {}", label, st.message()));
    }
    progress.update(loss);
  }
  progress.done();
  if (std::ferror(file)) return Status::error(label + ": read error");
  if (loss.tokens_fed() == 0) return Status::error(label + ": no input bytes");
  const double secs = seconds_since(t0);

  if (!a.loss_tsv.empty())
    if (Status s = write_loss_tsv(a.loss_tsv, loss); !s) return s;
  if (!a.state_out.empty())
    if (Status s = save_state(a.state_out, **model, streamer.state(), loss.previous_logits()); !s)
      return s;
  fmt::print("tokens: {}\n", loss.tokens_fed());
  fmt::print("scored: {}\n", loss.tokens_scored());
  fmt::print("nats: {:.9g}\n", loss.total_nats());
  fmt::print("bits per byte: {:.6f}\n", loss.bits_per_token());
  fmt::print("position: {}\n", streamer.position());
  fmt::print("tokens/s: {:.1f}\n", double(loss.tokens_fed()) / secs);
  fmt::print("peak RSS: {:.1f} MiB\n", peak_rss_mib());
  return {};
}

}  // namespace

void add_stream_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<StreamArgs>();
  CLI::App* cmd =
      app.add_subcommand("stream", "stream a file through a model: bits per byte, speed, memory");
  cmd->add_option("--model", args->model, "the model file (.safetensors)")->required();
  cmd->add_option("--input", args->input,
                  "the text: a file, or - for standard input (read in 1 MiB blocks)")
      ->required();
  add_state_options(*cmd, &args->state_in, &args->state_out);
  cmd->add_option("--piece", args->piece, "tokens per forward call (0: the default, 2048)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30));
  cmd->add_option("--loss-by-position", args->loss_tsv,
                  "write the mean loss per position bucket to this TSV");
  cmd->add_option("--bucket", args->bucket, "positions per --loss-by-position bucket")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  add_threads_option(*cmd, &args->threads);
  cmd->callback([args, exit_code] {
    const Status s = run_stream(*args);
    if (!s) fmt::print(stderr, "titans: error: {}\n", s.message());
    *exit_code = s ? 0 : 2;
  });
}

}  // namespace titans::cli
