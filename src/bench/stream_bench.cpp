#include "bench/stream_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "bench/rss.h"
#include "infer/streamer.h"
#include "util/rng.h"

namespace titans {

bool unbounded_state(const ModelConfig& cfg) { return cfg.arch == "transformer"; }

int64_t state_bytes_per_token(const ModelConfig& cfg) {
  return cfg.n_layers * 2 * cfg.inner_dim() * int64_t(sizeof(float));
}

namespace {

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

}  // namespace

Result<StreamBenchResult> run_stream_bench(const Model& model, const StreamBenchOptions& opt) {
  if (opt.lengths.empty()) return Status::error("bench stream: no lengths");
  std::vector<int64_t> lengths = opt.lengths;
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  StreamBenchResult r;
  r.arch = model.config().arch;
  r.unbounded = unbounded_state(model.config());
  while (opt.max_tokens > 0 && !lengths.empty() && lengths.back() > opt.max_tokens) {
    r.skipped.insert(r.skipped.begin(), lengths.back());
    lengths.pop_back();
  }
  if (lengths.empty()) return r;

  Streamer s(model, 1, opt.piece);
  const int64_t vocab = model.config().vocab_size;
  const int64_t block = opt.piece > 0 ? opt.piece : Streamer::kDefaultPiece;
  Rng rng(opt.seed);
  std::vector<int32_t> ids(static_cast<size_t>(block));
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0 = Clock::now();
  const double cpu0 = process_cpu_seconds();
  Clock::time_point last_report = t0;
  size_t next = 0;
  // Tokens are drawn a piece at a time (never the whole stream), and each feed ends exactly at the
  // next requested length so the clock and the RSS are read there.
  while (next < lengths.size()) {
    const int64_t n = std::min(block, lengths[next] - s.position());
    for (int64_t i = 0; i < n; ++i) ids[size_t(i)] = int32_t(rng.below(uint64_t(vocab)));
    if (Status st = s.feed(std::span<const int32_t>(ids.data(), size_t(n))); !st.ok())
      return Status::error(fmt::format("{} at token {}: {}", r.arch, s.position(), st.message()));
    const Clock::time_point now = Clock::now();
    const double sec = std::chrono::duration<double>(now - t0).count();
    if (s.position() == lengths[next]) {
      const double rss = vm_rss_mib();  // first: the peak read after it includes it
      r.points.push_back({lengths[next], sec, process_cpu_seconds() - cpu0,
                          double(lengths[next]) / sec, vm_hwm_mib(), rss});
      ++next;
    }
    if (opt.progress && (std::chrono::duration<double>(now - last_report).count() > 1.0 ||
                         next == lengths.size())) {
      last_report = now;
      const double rate = double(s.position()) / std::max(sec, 1e-9);
      opt.progress(
          fmt::format("{}: {} / {} tokens, {:.0f} tok/s, peak RSS {:.0f} MiB, ETA {:.0f} s", r.arch,
                      s.position(), lengths.back(), rate, vm_hwm_mib(),
                      double(lengths.back() - s.position()) / rate));
    }
  }
  return r;
}

std::string stream_result_json(const StreamBenchResult& r) {
  nlohmann::json j = {{"arch", r.arch}, {"unbounded", r.unbounded}, {"skipped", r.skipped}};
  j["points"] = nlohmann::json::array();
  for (const StreamBenchPoint& p : r.points)
    j["points"].push_back({{"length", p.length},
                           {"seconds", p.seconds},
                           {"cpu_seconds", p.cpu_seconds},
                           {"tokens_per_s", p.tokens_per_s},
                           {"peak_rss_mib", p.peak_rss_mib},
                           {"rss_mib", p.rss_mib}});
  return j.dump();
}

Result<StreamBenchResult> parse_stream_result_json(const std::string& text) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    StreamBenchResult r;
    r.arch = j.at("arch").get<std::string>();
    r.unbounded = j.at("unbounded").get<bool>();
    r.skipped = j.at("skipped").get<std::vector<int64_t>>();
    for (const nlohmann::json& p : j.at("points"))
      r.points.push_back({p.at("length").get<int64_t>(), p.at("seconds").get<double>(),
                          p.at("cpu_seconds").get<double>(), p.at("tokens_per_s").get<double>(),
                          p.at("peak_rss_mib").get<double>(), p.at("rss_mib").get<double>()});
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Status::error(std::string("bench stream: the child's answer is not a result: ") +
                         e.what());
  }
}

}  // namespace titans
