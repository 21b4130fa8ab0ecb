// The evaluator (eval/evaluator.h): examples grouped by (length, sample), fed as a trie of shared
// prompt prefixes, greedy-decoded and scored.
#include "eval/evaluator.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "data/tokenizer.h"
#include "infer/streamer.h"

namespace titans::eval {

namespace {

using Clock = std::chrono::steady_clock;

bool scored_by_generation(data::Scoring s) {
  return s != data::Scoring::kArgmaxAtTargets && s != data::Scoring::kLoss;
}

int32_t argmax(std::span<const float> row) {
  return int32_t(std::max_element(row.begin(), row.end()) - row.begin());
}

// One example on its way through the model. Generation-scored examples keep only their prompt
// (the reference completion aside) so that a group of long examples costs one token array each.
struct Item {
  data::Example ex;
  std::vector<int32_t> reference;  // tokens[prompt_length, end)
  size_t result = 0;               // index into EvalReport::examples
};

// The examples of one group, sorted by prompt, and lcp[i]: the common prefix of items i and i + 1.
struct Group {
  std::vector<Item> items;
  std::vector<Item*> sorted;
  std::vector<int64_t> lcp;
};

void sort_group(Group& g) {
  g.sorted.clear();
  for (Item& it : g.items) g.sorted.push_back(&it);
  std::sort(g.sorted.begin(), g.sorted.end(), [](const Item* a, const Item* b) {
    return std::lexicographical_compare(a->ex.tokens.begin(), a->ex.tokens.end(),
                                        b->ex.tokens.begin(), b->ex.tokens.end());
  });
  g.lcp.assign(g.sorted.size() > 0 ? g.sorted.size() - 1 : 0, 0);
  for (size_t i = 0; i + 1 < g.sorted.size(); ++i) {
    const std::vector<int32_t>&a = g.sorted[i]->ex.tokens, &b = g.sorted[i + 1]->ex.tokens;
    const size_t n = std::min(a.size(), b.size());
    g.lcp[i] =
        int64_t(std::mismatch(a.begin(), a.begin() + ptrdiff_t(n), b.begin()).first - a.begin());
  }
}

// How the items [lo, hi) (hi − lo ≥ 2, all fed up to pos) split: their common prefix, rounded down
// to a piece boundary (never below pos), is fed once; then each run of items that share more goes
// on from a fork. In a lexicographically sorted list the common prefix of a range is the least lcp
// inside it, and the runs are cut where lcp equals that least value.
struct Split {
  int64_t shared_end = 0;
  std::vector<std::pair<size_t, size_t>> runs;
};

Split split_range(const Group& g, int64_t pos, size_t lo, size_t hi, int64_t piece) {
  const int64_t common =
      *std::min_element(g.lcp.begin() + ptrdiff_t(lo), g.lcp.begin() + ptrdiff_t(hi - 1));
  Split s;
  s.shared_end = std::max(pos, common / piece * piece);
  size_t start = lo;
  for (size_t i = lo; i + 1 < hi; ++i)
    if (g.lcp[i] == common) {
      s.runs.push_back({start, i + 1});
      start = i + 1;
    }
  s.runs.push_back({start, hi});
  return s;
}

// Tokens the walk below feeds for the prompts of [lo, hi) from pos (progress estimates).
int64_t planned_tokens(const Group& g, int64_t pos, size_t lo, size_t hi, int64_t piece) {
  if (hi - lo == 1) return int64_t(g.sorted[lo]->ex.tokens.size()) - pos;
  const Split s = split_range(g, pos, lo, hi, piece);
  int64_t n = s.shared_end - pos;
  for (auto [a, b] : s.runs) n += planned_tokens(g, s.shared_end, a, b, piece);
  return n;
}

class Runner {
 public:
  Runner(const Model& model, const EvalOptions& opt, EvalReport& report)
      : model_(model),
        opt_(opt),
        report_(report),
        piece_(opt.piece > 0 ? opt.piece : Streamer::kDefaultPiece),
        start_(Clock::now()) {}

  void begin(int64_t length, int sample, int64_t examples_total, int64_t planned_left) {
    progress_.length = length;
    progress_.sample = sample;
    progress_.examples_total = examples_total;
    planned_left_ = planned_left;
  }
  void finished_example() { ++progress_.examples_done; }

  // The group's prompts through the model, as a trie (or one by one), each example decoded and
  // scored into report.examples.
  Status run_group(Group& g) {
    if (!opt_.share_prefixes || g.items.size() == 1) {
      for (Item& it : g.items) {
        Streamer s(model_, 1, opt_.piece);
        if (Status st = finish(s, 0, it); !st) return st;
      }
      return {};
    }
    if (g.sorted.size() != g.items.size()) sort_group(g);
    Streamer s(model_, 1, opt_.piece);
    return walk(g, s, 0, 0, g.sorted.size());
  }

  // MQAR / lm: the whole sequence, scored from every position's logits.
  Status run_logits(Item& it) {
    const data::Example& ex = it.ex;
    const int64_t V = model_.config().vocab_size;
    std::vector<int32_t> predictions(ex.tokens.size(), 0);
    double bits = 0;
    int64_t counted = 0;
    auto on_piece = [&](const float* logits, int64_t n, int64_t pos0) {
      for (int64_t i = 0; i < n; ++i) {
        const std::span<const float> row(logits + i * V, size_t(V));
        const size_t at = size_t(pos0 + i);
        predictions[at] = argmax(row);
        const int32_t t = ex.targets[at];
        if (ex.scoring != data::Scoring::kLoss || t == data::kNoTarget || t >= V) continue;
        const float top = row[size_t(predictions[at])];
        double sum = 0;
        for (float x : row) sum += std::exp(double(x - top));
        bits += (std::log(sum) - double(row[size_t(t)] - top)) / std::log(2.0);
        ++counted;
      }
    };
    Streamer s(model_, 1, opt_.piece);
    progress_.depth = -1;
    if (Status st = feed(s, ex.tokens, on_piece); !st) return st;
    ExampleResult& r = report_.examples[it.result];
    r.score = ex.scoring == data::Scoring::kLoss ? (counted ? bits / double(counted) : 0.0)
                                                 : data::score_predictions(ex, predictions);
    bits_ = bits;
    counted_ = counted;
    finished_example();
    return {};
  }
  double last_bits() const { return bits_; }
  int64_t last_counted() const { return counted_; }

  int64_t tokens_fed() const { return tokens_fed_; }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  void report_progress(bool force) {
    const Clock::time_point now = Clock::now();
    if (!opt_.progress || (!force && now - last_report_ < std::chrono::milliseconds(500))) return;
    last_report_ = now;
    progress_.tokens_fed = tokens_fed_;
    progress_.seconds = seconds();
    const double rate = double(tokens_fed_) / std::max(progress_.seconds, 1e-9);
    progress_.eta_seconds =
        tokens_fed_ > 0 ? double(std::max<int64_t>(planned_left_, 0)) / rate : -1;
    opt_.progress(progress_);
  }

 private:
  Status feed(Streamer& s, std::span<const int32_t> ids, const Streamer::PieceFn& on_piece = {}) {
    return s.feed(ids, [&](const float* logits, int64_t n, int64_t pos0) {
      if (on_piece) on_piece(logits, n, pos0);
      tokens_fed_ += n;
      planned_left_ -= n;
      report_progress(false);
    });
  }

  // Items [lo, hi) of g.sorted, s holding their common state up to pos.
  Status walk(Group& g, Streamer& s, int64_t pos, size_t lo, size_t hi) {
    if (hi - lo == 1) return finish(s, pos, *g.sorted[lo]);
    const Split split = split_range(g, pos, lo, hi, piece_);
    const std::vector<int32_t>& first = g.sorted[lo]->ex.tokens;
    progress_.depth = -1;
    if (Status st = feed(s, std::span(first).subspan(size_t(pos), size_t(split.shared_end - pos)));
        !st)
      return st;
    // Every run but the last goes on from a fork; the last one takes s itself.
    for (size_t r = 0; r < split.runs.size(); ++r) {
      const auto [a, b] = split.runs[r];
      if (r + 1 == split.runs.size()) return walk(g, s, split.shared_end, a, b);
      Streamer fork = s.fork();
      if (Status st = walk(g, fork, split.shared_end, a, b); !st) return st;
    }
    return {};
  }

  // The rest of the prompt from pos, then the decode loop and the score.
  Status finish(Streamer& s, int64_t pos, Item& it) {
    const data::Example& ex = it.ex;
    progress_.depth = ex.depth;
    if (Status st = feed(s, std::span(ex.tokens).subspan(size_t(pos))); !st) return st;
    ExampleResult& r = report_.examples[it.result];
    // The first token comes from the prompt's logits; each later one costs one forward call.
    for (int k = 0; k < ex.max_new_tokens; ++k) {
      int32_t next = argmax(s.last_logits());
      if (opt_.force_reference) {
        if (size_t(k) >= it.reference.size()) break;
        next = it.reference[size_t(k)];
      }
      r.generated.push_back(next);
      if (k + 1 == ex.max_new_tokens ||
          (opt_.force_reference && size_t(k + 1) == it.reference.size()))
        break;
      const int32_t one[1] = {next};
      if (Status st = feed(s, one); !st) return st;
      ++r.model_calls;
    }
    Result<std::string> text = data::decode(r.generated);
    r.text = text ? *text : std::string();
    r.score = data::score_generation(ex, r.text) ? 1.0 : 0.0;
    finished_example();
    report_progress(false);
    return {};
  }

  const Model& model_;
  const EvalOptions& opt_;
  EvalReport& report_;
  const int64_t piece_;
  const Clock::time_point start_;
  Clock::time_point last_report_{};
  EvalProgress progress_;
  int64_t tokens_fed_ = 0, planned_left_ = 0;
  double bits_ = 0;
  int64_t counted_ = 0;
};

// Whether the task places a needle at a depth (passkey, S-NIAH): one tiny example tells.
Result<bool> task_has_depth(const data::TaskSpec& task, const data::TaskContext& c) {
  Result<int64_t> least = data::min_length(task, c.params);
  if (!least) return least.status();
  Result<data::Example> ex = data::generate(task, c, *least, 0.5, 0);
  if (!ex) return ex.status();
  return ex->depth >= 0;
}

Status check_options(const data::TaskSpec& task, const data::TaskContext& c,
                     const EvalOptions& opt) {
  if (task.is_mixture()) return Status::error("eval takes one task, not a mixture");
  if (opt.lengths.empty()) return Status::error("eval: no lengths");
  if (opt.samples < 1) return Status::error("eval: samples must be >= 1");
  if (Status s = data::check_context(task, c); !s) return s;
  Result<int64_t> least = data::min_length(task, c.params);
  if (!least) return least.status();
  for (int64_t L : opt.lengths)
    if (L < *least)
      return Status::error(fmt::format("task {} needs a length of at least {} tokens, not {}",
                                       task.parts[0].first, *least, L));
  for (double d : opt.depths)
    if (!(d >= 0.0 && d <= 1.0)) return Status::error(fmt::format("depth {} is outside [0, 1]", d));
  return {};
}

}  // namespace

uint64_t example_seed(uint64_t seed, int64_t length, int sample) {
  Rng rng(seed ^ (uint64_t(length) * 0x9E3779B97F4A7C15ull) ^
          (uint64_t(sample + 1) * 0xC2B2AE3D27D4EB4Full));
  return rng.next_u64();
}

Result<EvalReport> evaluate(const Model& model, const data::TaskSpec& task,
                            const data::TaskContext& context, const EvalOptions& opt) {
  if (Status s = check_options(task, context, opt); !s) return s;
  Result<bool> has_depth = task_has_depth(task, context);
  if (!has_depth) return has_depth.status();
  EvalReport report;
  report.task = task.parts[0].first;
  report.has_depth = *has_depth && !opt.depths.empty();
  const std::vector<double> depths = report.has_depth ? opt.depths : std::vector<double>{-1.0};
  const size_t D = depths.size();
  for (int64_t L : opt.lengths)
    for (double d : depths) report.cells.push_back({L, d, opt.samples, 0, 0, 0});
  report.examples.resize(report.cells.size() * size_t(opt.samples));
  int64_t unshared_left = 0;  // prompt tokens of the examples not yet generated
  for (int64_t L : opt.lengths) unshared_left += L * int64_t(D) * opt.samples;
  const int64_t examples_total = int64_t(report.examples.size());

  Runner run(model, opt, report);
  double sharing = 1;  // planned / unshared tokens of the latest group (the ETA's estimate)
  for (size_t li = 0; li < opt.lengths.size(); ++li) {
    const int64_t L = opt.lengths[li];
    const int64_t fed_before = run.tokens_fed();
    const double t_before = run.seconds();
    std::vector<double> bits(D, 0.0);
    std::vector<int64_t> counted(D, 0);
    for (int s = 0; s < opt.samples; ++s) {
      Group g;
      const uint64_t seed = example_seed(opt.seed, L, s);
      int64_t unshared = 0;
      for (size_t di = 0; di < D; ++di) {
        const std::optional<double> depth =
            depths[di] >= 0 ? std::optional<double>(depths[di]) : std::nullopt;
        Result<data::Example> ex = data::generate(task, context, L, depth, seed);
        if (!ex) return ex.status();
        const size_t idx = (li * D + di) * size_t(opt.samples) + size_t(s);
        report.examples[idx].length = L;
        report.examples[idx].depth = report.has_depth ? depths[di] : -1;
        report.examples[idx].sample = s;
        report.examples[idx].seed = seed;
        Item it{std::move(*ex), {}, idx};
        report.scoring = it.ex.scoring;
        if (scored_by_generation(it.ex.scoring)) {
          const auto cut = it.ex.tokens.begin() + ptrdiff_t(it.ex.prompt_length);
          it.reference.assign(cut, it.ex.tokens.end());
          it.ex.tokens.erase(cut, it.ex.tokens.end());
          std::vector<int32_t>().swap(it.ex.targets);
        }
        unshared += int64_t(it.ex.tokens.size());
        g.items.push_back(std::move(it));
      }
      unshared_left -= L * int64_t(D);
      if (opt.share_prefixes && g.items.size() > 1 && scored_by_generation(report.scoring)) {
        sort_group(g);
        const int64_t piece = opt.piece > 0 ? opt.piece : Streamer::kDefaultPiece;
        sharing = double(planned_tokens(g, 0, 0, g.sorted.size(), piece)) / double(unshared);
      }
      run.begin(L, s, examples_total, int64_t(sharing * double(unshared + unshared_left)));
      if (scored_by_generation(report.scoring)) {
        if (Status st = run.run_group(g); !st) return st;
      } else {
        for (size_t di = 0; di < D; ++di) {
          if (Status st = run.run_logits(g.items[di]); !st) return st;
          bits[di] += run.last_bits();
          counted[di] += run.last_counted();
        }
      }
    }
    const double sec = run.seconds() - t_before;
    const double rate = double(run.tokens_fed() - fed_before) / std::max(sec, 1e-9);
    for (size_t di = 0; di < D; ++di) {
      CellResult& c = report.cells[li * D + di];
      double sum = 0;
      for (int s = 0; s < opt.samples; ++s)
        sum += report.examples[(li * D + di) * size_t(opt.samples) + size_t(s)].score;
      c.tokens_per_s = rate;
      if (report.scoring == data::Scoring::kLoss) {
        c.accuracy = std::numeric_limits<double>::quiet_NaN();
        c.bits_per_byte = counted[di] ? bits[di] / double(counted[di]) : 0.0;
      } else {
        c.accuracy = sum / opt.samples;
      }
    }
  }
  run.report_progress(true);
  report.tokens_fed = run.tokens_fed();
  report.seconds = run.seconds();
  return report;
}

}  // namespace titans::eval
