// The streaming bench (bench/stream_bench.h) and the child-process runner it is driven by: the
// result has a point per requested length with monotone time and peak RSS, survives its JSON round
// trip, and skips lengths over the token cap. No timings are asserted.
#include "bench/stream_bench.h"

#include <gtest/gtest.h>

#include "bench/child_process.h"
#include "model_test_util.h"

namespace titans {
namespace {

TEST(StreamBench, OnePointPerLengthMonotone) {
  const std::unique_ptr<Model> model = tiny_model("swa", 1);
  StreamBenchOptions opt;
  opt.lengths = {2000, 1000, 3000};  // any order; the result is increasing
  opt.piece = 256;
  int progress_lines = 0;
  opt.progress = [&](const std::string&) { ++progress_lines; };
  Result<StreamBenchResult> r = run_stream_bench(*model, opt);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->arch, "swa");
  EXPECT_FALSE(r->unbounded);
  ASSERT_EQ(r->points.size(), 3u);
  EXPECT_TRUE(r->skipped.empty());
  EXPECT_GE(progress_lines, 1);  // at least the final line
  for (size_t i = 0; i < r->points.size(); ++i) {
    const StreamBenchPoint& p = r->points[i];
    EXPECT_EQ(p.length, int64_t(1000 * (i + 1)));
    EXPECT_GT(p.seconds, 0);
    EXPECT_GT(p.cpu_seconds, 0);
    EXPECT_GT(p.peak_rss_mib, 0);
    EXPECT_GT(p.rss_mib, 0);
    EXPECT_LE(p.rss_mib, p.peak_rss_mib);
    EXPECT_DOUBLE_EQ(p.tokens_per_s, double(p.length) / p.seconds);
    if (i > 0) {
      EXPECT_GT(p.seconds, r->points[i - 1].seconds);
      EXPECT_GT(p.cpu_seconds, r->points[i - 1].cpu_seconds);
      EXPECT_GE(p.peak_rss_mib, r->points[i - 1].peak_rss_mib);
    }
  }
  Result<StreamBenchResult> back = parse_stream_result_json(stream_result_json(*r));
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->arch, r->arch);
  ASSERT_EQ(back->points.size(), r->points.size());
  for (size_t i = 0; i < r->points.size(); ++i) {
    EXPECT_EQ(back->points[i].length, r->points[i].length);
    EXPECT_DOUBLE_EQ(back->points[i].seconds, r->points[i].seconds);
    EXPECT_DOUBLE_EQ(back->points[i].peak_rss_mib, r->points[i].peak_rss_mib);
  }
  EXPECT_FALSE(parse_stream_result_json("{\"arch\": 1}").ok());
  EXPECT_FALSE(parse_stream_result_json("not json").ok());
}

TEST(StreamBench, TransformerIsUnboundedAndCapped) {
  const std::unique_ptr<Model> model = tiny_model("transformer", 1);
  EXPECT_TRUE(unbounded_state(model->config()));
  EXPECT_EQ(state_bytes_per_token(model->config()),
            model->config().n_layers * 2 * model->config().inner_dim() * 4);
  StreamBenchOptions opt;
  opt.lengths = {500, 1000, 2000};
  opt.piece = 250;
  opt.max_tokens = 1200;
  Result<StreamBenchResult> r = run_stream_bench(*model, opt);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r->unbounded);
  ASSERT_EQ(r->points.size(), 2u);
  EXPECT_EQ(r->points[1].length, 1000);
  EXPECT_EQ(r->skipped, std::vector<int64_t>{2000});
}

TEST(ChildProcess, CollectsStdoutAndReportsFailures) {
  Result<std::string> out = run_child({"/bin/sh", "-c", "echo hello; echo to-stderr >&2"});
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(*out, "hello\n");
  Result<std::string> failed = run_child({"/bin/sh", "-c", "exit 3"});
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("status 3"), std::string::npos) << failed.message();
  EXPECT_FALSE(run_child({"/nonexistent/program"}).ok());
  EXPECT_FALSE(self_executable().empty());
}

}  // namespace
}  // namespace titans
