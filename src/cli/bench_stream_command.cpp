// `titans bench stream`: streaming inference at growing lengths, one architecture per child
// process (each peak RSS is that model's own); the markdown table on stdout (docs/BENCHMARKS.md),
// progress on stderr.
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/child_process.h"
#include "bench/stream_bench.h"
#include "cli/bench_support.h"
#include "cli/options.h"
#include "eval/lengths.h"
#include "eval/report.h"
#include "infer/streamer.h"
#include "models/model_file.h"

namespace titans::cli {

namespace {

struct StreamArgs {
  std::vector<std::string> archs = {"titans_mac", "titans_mag", "titans_mal",
                                    "titans_lmm", "infini",     "swa"};
  std::string model, config_size = "tiny", lengths = "100K,1M,10M", json;
  int64_t piece = 0;
  int threads = 0;
  uint64_t seed = 0;
  bool child = false;  // hidden: run archs[0] (or --model) here, print its result as JSON
};

// Half the memory the kernel says is available, in bytes (the transformer's cache budget).
int64_t half_available_memory() {
  std::ifstream f("/proc/meminfo");
  std::string name;
  int64_t kib = 0;
  while (f >> name) {
    if (name == "MemAvailable:" && f >> kib) return kib * 1024 / 2;
    f.ignore(1 << 20, '\n');
  }
  return int64_t(1) << 30;
}

Result<std::unique_ptr<Model>> bench_model(const StreamArgs& a) {
  if (!a.model.empty()) return load_model(a.model);
  Result<ModelConfig> cfg = resolve_config(a.archs.at(0) + "-" + a.config_size);
  if (!cfg) return cfg.status();
  return create_model(*cfg, a.seed);
}

// The child's side: one model, its result as one JSON line on stdout.
int run_child_bench(const StreamArgs& a, const std::vector<int64_t>& lengths) {
  apply_threads(a.threads);
  Result<std::unique_ptr<Model>> model = bench_model(a);
  if (!model) {
    fmt::print(stderr, "titans: error: {}\n", model.message());
    return 2;
  }
  StreamBenchOptions opt;
  opt.lengths = lengths;
  opt.piece = a.piece;
  opt.seed = a.seed;
  const ModelConfig& cfg = (*model)->config();
  // The Streamer holds up to three copies of a state (work graph, two state graphs).
  if (unbounded_state(cfg))
    opt.max_tokens = half_available_memory() / (3 * state_bytes_per_token(cfg));
  const bool tty = isatty(STDERR_FILENO) != 0;
  opt.progress = [tty](const std::string& s) {
    if (tty)
      fmt::print(stderr, "\r\033[Kbench stream: {}", s);
    else
      fmt::print(stderr, "bench stream: {}\n", s);
  };
  Result<StreamBenchResult> r = run_stream_bench(**model, opt);
  if (tty) fmt::print(stderr, "\n");
  if (!r) {
    fmt::print(stderr, "titans: error: {}\n", r.message());
    return 2;
  }
  fmt::print("{}\n", stream_result_json(*r));
  return 0;
}

std::string child_label(const StreamArgs& a, size_t i) {
  return a.model.empty() ? a.archs[i] : a.model;
}

int bench_stream(const StreamArgs& a) {
  Result<std::vector<int64_t>> lengths = eval::parse_lengths(a.lengths);
  if (!lengths) {
    fmt::print(stderr, "titans: error: {}\n", lengths.message());
    return 2;
  }
  if (a.child) return run_child_bench(a, *lengths);
  // Bad names and files fail here, in one line, rather than in a child.
  for (size_t i = 0; i < (a.model.empty() ? a.archs.size() : 1); ++i) {
    StreamArgs one = a;
    if (a.model.empty()) one.archs = {a.archs[i]};
    if (Result<std::unique_ptr<Model>> m = bench_model(one); !m) {
      fmt::print(stderr, "titans: error: {}\n", m.message());
      return 2;
    }
  }
  const std::string exe = self_executable();
  const std::string load_before = load_average();
  std::vector<StreamBenchResult> results;
  const size_t runs = a.model.empty() ? a.archs.size() : 1;
  for (size_t i = 0; i < runs; ++i) {
    std::vector<std::string> argv = {exe,         "bench",
                                     "stream",    "--child",
                                     "--lengths", a.lengths,
                                     "--piece",   std::to_string(a.piece),
                                     "--seed",    std::to_string(a.seed),
                                     "--threads", std::to_string(a.threads)};
    if (a.model.empty())
      argv.insert(argv.end(), {"--archs", a.archs[i], "--config-size", a.config_size});
    else
      argv.insert(argv.end(), {"--model", a.model});
    Result<std::string> out = run_child(argv);
    if (!out) {
      fmt::print(stderr, "titans: error: {}: {}\n", child_label(a, i), out.message());
      return 2;
    }
    Result<StreamBenchResult> r = parse_stream_result_json(*out);
    if (!r) {
      fmt::print(stderr, "titans: error: {}: {}\n", child_label(a, i), r.message());
      return 2;
    }
    results.push_back(std::move(*r));
  }

  print_bench_heading("stream");
  fmt::print("Command: `titans bench stream {} --lengths {} --piece {} --threads {}`\n\n",
             a.model.empty() ? fmt::format("--archs {} --config-size {}", fmt::join(a.archs, ","),
                                           a.config_size)
                             : "--model " + a.model,
             a.lengths, a.piece > 0 ? a.piece : Streamer::kDefaultPiece, a.threads);
  fmt::print("Load average (1, 5, 15 min): {} before, {} after.\n\n", load_before, load_average());
  std::vector<std::vector<std::string>> rows, ratios;
  for (const StreamBenchResult& r : results) {
    const std::string arch = r.unbounded ? r.arch + " (unbounded)" : r.arch;
    for (const StreamBenchPoint& p : r.points)
      rows.push_back({arch, eval::format_length(p.length), fmt::format("{:.0f}", p.tokens_per_s),
                      fmt::format("{:.2f}", p.seconds), fmt::format("{:.2f}", p.cpu_seconds),
                      fmt::format("{:.1f}", p.peak_rss_mib), fmt::format("{:.1f}", p.rss_mib)});
    for (int64_t skipped : r.skipped)
      rows.push_back({arch, eval::format_length(skipped), "skipped: the KV cache would not fit", "",
                      "", "", ""});
    const size_t n = r.points.size();
    if (n >= 2) {
      const StreamBenchPoint &lo = r.points.front(), &mid = r.points[n - 2], &hi = r.points.back();
      const std::string L = eval::format_length(hi.length), M = eval::format_length(mid.length);
      ratios.push_back({arch, fmt::format("x{:.0f}", double(hi.length) / double(mid.length)),
                        fmt::format("t({})/t({}) = {:.2f}", L, M, hi.seconds / mid.seconds),
                        fmt::format("{:.2f}", hi.cpu_seconds / mid.cpu_seconds),
                        fmt::format("{}/{} = {:.3f}", L, eval::format_length(lo.length),
                                    hi.peak_rss_mib / lo.peak_rss_mib)});
    }
  }
  print_markdown_table({"arch", "length", "tokens/s", "t(L) s", "CPU s", "peak RSS MiB", "RSS MiB"},
                       "llrrrrr", rows);
  if (!ratios.empty()) {
    fmt::print("\n");
    print_markdown_table(
        {"arch", "length ratio", "wall time ratio", "CPU time ratio", "peak RSS ratio"}, "lrrrr",
        ratios);
  }
  fmt::print(
      "\nEach architecture streams random tokens through one Streamer (batch 1) in a process of "
      "its "
      "own; t(L): wall seconds from the first token to token L; CPU s: the process's CPU seconds "
      "over "
      "the same span (the time ratio that other processes' load does not stretch); peak RSS: VmHWM "
      "at L, RSS: VmRSS at L.\n");
  if (!a.json.empty()) {
    nlohmann::json j = nlohmann::json::array();
    for (const StreamBenchResult& r : results)
      j.push_back(nlohmann::json::parse(stream_result_json(r)));
    if (Status s = eval::write_text(a.json, j.dump(2) + "\n"); !s) {
      fmt::print(stderr, "titans: error: {}\n", s.message());
      return 2;
    }
  }
  return 0;
}

}  // namespace

void add_bench_stream_command(CLI::App& bench, int* exit_code) {
  auto args = std::make_shared<StreamArgs>();
  CLI::App* cmd = bench.add_subcommand(
      "stream", "streaming inference to 10M tokens: tokens/s, time and peak RSS by length");
  cmd->add_option("--archs", args->archs, "architectures, comma-separated (tiny presets)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--model", args->model, "a model file instead of fresh presets");
  cmd->add_option("--config-size", args->config_size, "preset size of --archs (tiny, small)")
      ->capture_default_str();
  cmd->add_option("--lengths", args->lengths,
                  "stream lengths, comma-separated; K = 1000, M = 1000000")
      ->capture_default_str();
  cmd->add_option("--piece", args->piece, "tokens per forward call (0: the Streamer's default)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 24));
  cmd->add_option("--json", args->json, "also write the results as JSON here");
  add_threads_option(*cmd, &args->threads);
  add_seed_option(*cmd, &args->seed);
  cmd->add_flag("--child", args->child, "")->group("");  // hidden: one architecture, JSON out
  cmd->callback([args, exit_code] { *exit_code = bench_stream(*args); });
}

}  // namespace titans::cli
