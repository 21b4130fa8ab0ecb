// passkey_check: greedy-decoding passkey accuracy of a model file at given lengths and depths, and
// its streaming speed. A private checker until `titans eval` exists (docs/TASKS.md's evaluation
// view): feed tokens[0, prompt_length) through a Streamer (any length, bounded memory),
// greedy-decode max_new_tokens one token at a time with the state carried, score with
// data::score_generation.
//
//   passkey_check MODEL [--lengths 2048,4096] [--depths 0,0.25,0.5,0.75,1 | random]
//                       [--samples N] [--seed S] [--threads T] [--piece P] [--verbose]
//
// Examples are example_seed(seed, i) of the passkey generator: a stream the trainer never draws
// from (its streams are train_stream_seed / validation_stream_seed of its own --seed), so they are
// held out. One line per (length, depth) and a total; exit code 0 even when accuracy is low.
#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "data/example.h"
#include "data/sampler.h"
#include "data/tasks.h"
#include "infer/streamer.h"
#include "io/safetensors.h"
#include "models/model_config.h"
#include "models/model_file.h"

namespace {

using namespace titans;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

// A model file, or a training checkpoint (its `param.<name>` tensors and `config` metadata), so a
// run's progress can be scored while it trains.
Result<std::unique_ptr<Model>> load_model_or_checkpoint(const std::string& path) {
  auto model = load_model(path);
  if (model) return model;
  auto file = io::SafetensorsFile::open(path);
  if (!file) return model.status();
  const auto& meta = file->metadata();
  const auto config = meta.find("config");
  if (meta.find("kind") == meta.end() || config == meta.end()) return model.status();
  auto cfg = config_from_json(config->second);
  if (!cfg) return cfg.status();
  auto fresh = create_model(*cfg, 0);
  if (!fresh) return fresh.status();
  for (const Parameter& p : (*fresh)->params().params())
    if (Status s = file->read_into("param." + p.name, p.tensor); !s) return s;
  return fresh;
}

int32_t argmax(std::span<const float> row) {
  int32_t best = 0;
  for (size_t i = 1; i < row.size(); ++i)
    if (row[i] > row[best]) best = int32_t(i);
  return best;
}

struct Args {
  std::string model;
  std::vector<int64_t> lengths{2048};
  std::vector<std::optional<double>> depths{0.0, 0.25, 0.5, 0.75, 1.0};
  int samples = 10;
  uint64_t seed = 424242;
  int threads = 1;
  int64_t piece = 0;
  bool verbose = false;
};

int usage() {
  fmt::print(stderr,
             "usage: passkey_check MODEL [--lengths L,...] [--depths D,...|random] [--samples N] "
             "[--seed S] [--threads T] [--piece P] [--verbose]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string opt = argv[i];
    const bool has_value = i + 1 < argc;
    if (opt == "--verbose") {
      a.verbose = true;
    } else if (opt.rfind("--", 0) == 0 && !has_value) {
      return usage();
    } else if (opt == "--lengths") {
      a.lengths.clear();
      for (const auto& s : split(argv[++i])) a.lengths.push_back(std::stoll(s));
    } else if (opt == "--depths") {
      a.depths.clear();
      const std::string v = argv[++i];
      if (v == "random") {
        a.depths.push_back(std::nullopt);
      } else {
        for (const auto& s : split(v)) a.depths.push_back(std::stod(s));
      }
    } else if (opt == "--samples") {
      a.samples = std::stoi(argv[++i]);
    } else if (opt == "--seed") {
      a.seed = std::stoull(argv[++i]);
    } else if (opt == "--threads") {
      a.threads = std::stoi(argv[++i]);
    } else if (opt == "--piece") {
      a.piece = std::stoll(argv[++i]);
    } else if (opt.rfind("--", 0) == 0) {
      return usage();
    } else {
      a.model = opt;
    }
  }
  if (a.model.empty()) return usage();
  if (a.threads > 0) omp_set_num_threads(a.threads);

  auto model = load_model_or_checkpoint(a.model);
  if (!model) {
    fmt::print(stderr, "passkey_check: {}\n", model.message());
    return 2;
  }
  auto spec = data::parse_task("passkey");
  const data::TaskContext context;  // passkey reads no text
  fmt::print("model {} | seed {} | {} samples per (length, depth) | {} thread(s)\n", a.model,
             a.seed, a.samples, a.threads);

  int total = 0, correct = 0;
  double stream_tokens = 0, stream_seconds = 0;
  for (int64_t length : a.lengths) {
    int len_total = 0, len_correct = 0;
    for (const auto& depth : a.depths) {
      int ok = 0;
      for (int s = 0; s < a.samples; ++s) {
        // Different (length, depth) cells draw different keys: the index mixes all three.
        const int64_t index = s + int64_t(a.samples) * int64_t(&depth - a.depths.data());
        auto ex = data::generate(*spec, context, length, depth,
                                 data::example_seed(a.seed + uint64_t(length), index));
        if (!ex) {
          fmt::print(stderr, "passkey_check: {}\n", ex.message());
          return 2;
        }
        Streamer st(**model, 1, a.piece);
        const auto t0 = std::chrono::steady_clock::now();
        if (Status fs =
                st.feed(std::span<const int32_t>(ex->tokens.data(), size_t(ex->prompt_length)));
            !fs) {
          fmt::print(stderr, "passkey_check: {}\n", fs.message());
          return 2;
        }
        stream_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        stream_tokens += double(ex->prompt_length);
        std::string generated;
        for (int k = 0; k < ex->max_new_tokens; ++k) {
          const int32_t next = argmax(st.last_logits());
          if (next < 256) generated.push_back(char(next));
          if (k + 1 < ex->max_new_tokens) {
            if (Status fs = st.feed(std::span<const int32_t>(&next, 1)); !fs) {
              fmt::print(stderr, "passkey_check: {}\n", fs.message());
              return 2;
            }
          }
        }
        const bool good = data::score_generation(*ex, generated);
        ok += good;
        if (a.verbose)
          fmt::print("  length {} depth {:.3f} answer {} generated \"{}\" {}\n", length, ex->depth,
                     ex->answer, generated, good ? "ok" : "WRONG");
      }
      fmt::print("length {:>8} depth {:>6} | {:>3}/{:<3} = {:6.2f}%\n", length,
                 depth ? fmt::format("{:.2f}", *depth) : std::string("random"), ok, a.samples,
                 100.0 * ok / a.samples);
      std::fflush(stdout);
      len_total += a.samples;
      len_correct += ok;
    }
    fmt::print("length {:>8} all    | {:>3}/{:<3} = {:6.2f}%\n", length, len_correct, len_total,
               100.0 * len_correct / len_total);
    total += len_total;
    correct += len_correct;
  }
  fmt::print("total {}/{} = {:.2f}% | streaming {:.0f} tokens/s ({:.0f} tokens in {:.1f} s)\n",
             correct, total, 100.0 * correct / total, stream_tokens / stream_seconds, stream_tokens,
             stream_seconds);
  return 0;
}
