// The evaluator (eval/evaluator.h) and its reports (eval/report.h) on fresh tiny models: prefix
// sharing changes nothing but the tokens fed; the decode loop's bounds; the scoring plumbing
// (force-feeding the reference scores 1); JSON records, SVG cells, length and depth parsing.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "eval/evaluator.h"
#include "eval/lengths.h"
#include "eval/report.h"
#include "model_test_util.h"

namespace titans::eval {
namespace {

data::TaskSpec task(const std::string& name) {
  Result<data::TaskSpec> t = data::parse_task(name);
  EXPECT_TRUE(t.ok()) << t.message();
  return *t;
}

// Plain sentences for the tasks that read natural text (qa1) and for lm.
const std::string& small_text() {
  static const std::string text = [] {
    std::string s;
    for (int i = 0; i < 60; ++i)
      s += "The river ran past the mill. A bird sang on the fence. Night fell over the hills.\n";
    return s;
  }();
  return text;
}

// passkey at `lengths`, depths 0, 0.5, 1, two samples per cell.
Result<EvalReport> passkey_eval(const Model& model, std::vector<int64_t> lengths) {
  EvalOptions opt;
  opt.lengths = std::move(lengths);
  opt.depths = {0, 0.5, 1};
  opt.samples = 2;
  return evaluate(model, task("passkey"), {}, opt);
}

TEST(EvalLengths, SuffixesAndErrors) {
  EXPECT_EQ(*parse_length("4K"), 4000);
  EXPECT_EQ(*parse_length("1M"), 1000000);
  EXPECT_EQ(*parse_length("10m"), 10000000);
  EXPECT_EQ(*parse_length("1500"), 1500);
  for (const char* bad : {"bad", "", "K", "0", "-4K", "1.5K", "4KK", "99999999999999999999"})
    EXPECT_FALSE(parse_length(bad).ok()) << bad;
  Result<std::vector<int64_t>> list = parse_lengths("1K,4K,16K,1M,10M");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<int64_t>{1000, 4000, 16000, 1000000, 10000000}));
  EXPECT_FALSE(parse_lengths("1K,,4K").ok());
  EXPECT_EQ(format_length(4000), "4K");
  EXPECT_EQ(format_length(10000000), "10M");
  EXPECT_EQ(format_length(1500), "1500");
}

TEST(EvalLengths, Depths) {
  EXPECT_EQ(*parse_depths("0,0.25,1"), (std::vector<double>{0, 0.25, 1}));
  for (const char* bad : {"1.5", "-0.1", "x", "0,,1", "nan"})
    EXPECT_FALSE(parse_depths(bad).ok()) << bad;
}

TEST(EvalSeeds, SamplesDifferAndDoNotDependOnDepth) {
  EXPECT_NE(example_seed(0, 1000, 0), example_seed(0, 1000, 1));
  EXPECT_NE(example_seed(0, 1000, 0), example_seed(0, 2000, 0));
  EXPECT_NE(example_seed(0, 1000, 0), example_seed(1, 1000, 0));
  EXPECT_EQ(example_seed(7, 1000, 3), example_seed(7, 1000, 3));
}

class EvalSharing : public ::testing::TestWithParam<std::string> {};

// Sharing feeds fewer tokens and gives every example the same greedy ids: the branch points sit on
// piece boundaries, so each example sees the forward calls it would see alone.
TEST_P(EvalSharing, SameOutputsAsFeedingEachExampleAlone) {
  const std::unique_ptr<Model> model = tiny_model(GetParam(), 5);
  EvalOptions opt;
  opt.lengths = {400, 900};
  opt.depths = {0, 0.5, 1};
  opt.samples = 2;
  opt.seed = 3;
  opt.piece = 64;
  Result<EvalReport> shared = evaluate(*model, task("passkey"), {}, opt);
  ASSERT_TRUE(shared.ok()) << shared.message();
  opt.share_prefixes = false;
  Result<EvalReport> alone = evaluate(*model, task("passkey"), {}, opt);
  ASSERT_TRUE(alone.ok()) << alone.message();
  ASSERT_EQ(shared->examples.size(), size_t(2 * 3 * 2));
  ASSERT_EQ(shared->examples.size(), alone->examples.size());
  for (size_t i = 0; i < shared->examples.size(); ++i) {
    const ExampleResult &a = shared->examples[i], &b = alone->examples[i];
    EXPECT_EQ(a.length, b.length);
    EXPECT_EQ(a.depth, b.depth);
    EXPECT_EQ(a.generated, b.generated) << "example " << i;
    EXPECT_EQ(a.score, b.score);
    EXPECT_EQ(a.generated.size(), 8u);  // passkey decodes 8 tokens
  }
  for (size_t i = 0; i < shared->cells.size(); ++i)
    EXPECT_EQ(shared->cells[i].accuracy, alone->cells[i].accuracy);
  EXPECT_LT(shared->tokens_fed, alone->tokens_fed);
}

INSTANTIATE_TEST_SUITE_P(Archs, EvalSharing,
                         ::testing::Values("titans_mac", "titans_mag", "titans_mal", "titans_lmm",
                                           "infini", "swa", "transformer"));

// The decode loop: the first token from the prompt's logits, then one forward call per further
// token, never more than max_new_tokens calls.
TEST(Evaluator, DecodeLoopCallsTheModelAtMostMaxNewTokensTimes) {
  const std::unique_ptr<Model> model = tiny_model("swa", 5);
  EvalOptions opt;
  opt.lengths = {500};
  opt.depths = {0.5};
  opt.samples = 3;
  for (const char* name : {"passkey", "sniah1"}) {
    Result<data::Example> ex = data::generate(task(name), {}, 500, 0.5, 0);
    ASSERT_TRUE(ex.ok()) << ex.message();
    Result<EvalReport> r = evaluate(*model, task(name), {}, opt);
    ASSERT_TRUE(r.ok()) << r.message();
    for (const ExampleResult& e : r->examples) {
      EXPECT_LE(e.model_calls, ex->max_new_tokens) << name;
      EXPECT_EQ(e.model_calls, ex->max_new_tokens - 1) << name;
      EXPECT_EQ(int(e.generated.size()), ex->max_new_tokens) << name;
    }
  }
}

// Force-feeding the reference completion through the same loop must score 1 under every text rule.
TEST(Evaluator, ForcedReferenceScoresOne) {
  const std::unique_ptr<Model> model = tiny_model("titans_lmm", 5);
  const data::SentenceBank bank = data::SentenceBank::from_text(small_text());
  data::TaskContext context;
  context.natural = &bank;
  EvalOptions opt;
  opt.depths = {0, 1};
  opt.samples = 3;
  opt.force_reference = true;
  for (const char* name : {"passkey", "sniah1", "sniah2", "sniah3", "qa1"}) {
    Result<int64_t> least = data::min_length(task(name), context.params);
    ASSERT_TRUE(least.ok());
    opt.lengths = {*least + 50};
    Result<EvalReport> r = evaluate(*model, task(name), context, opt);
    ASSERT_TRUE(r.ok()) << name << ": " << r.message();
    ASSERT_FALSE(r->examples.empty());
    for (const ExampleResult& e : r->examples) EXPECT_EQ(e.score, 1.0) << name << " " << e.text;
    for (const CellResult& c : r->cells) EXPECT_EQ(c.accuracy, 1.0) << name;
  }
}

// Without forcing, an untrained model does not answer: scores are 0 or 1 and cells their mean.
TEST(Evaluator, CellsAreMeansOfTheirExamples) {
  const std::unique_ptr<Model> model = tiny_model("infini", 5);
  Result<EvalReport> r = passkey_eval(*model, {300, 500});
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->cells.size(), 6u);
  EXPECT_TRUE(r->has_depth);
  for (size_t c = 0; c < r->cells.size(); ++c) {
    double sum = 0;
    for (int s = 0; s < 2; ++s) {
      const ExampleResult& e = r->examples[c * 2 + size_t(s)];
      EXPECT_EQ(e.length, r->cells[c].length);
      EXPECT_EQ(e.depth, r->cells[c].depth);
      EXPECT_TRUE(e.score == 0.0 || e.score == 1.0);
      sum += e.score;
    }
    EXPECT_DOUBLE_EQ(r->cells[c].accuracy, sum / 2);
    EXPECT_GT(r->cells[c].tokens_per_s, 0);
  }
}

TEST(Evaluator, MqarScoresFromLogitsWithoutDepth) {
  const std::unique_ptr<Model> model = tiny_model("swa", 5);
  EvalOptions opt;
  opt.lengths = {256};
  opt.samples = 2;
  Result<EvalReport> r = evaluate(*model, task("mqar"), {}, opt);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_FALSE(r->has_depth);
  ASSERT_EQ(r->cells.size(), 1u);
  EXPECT_EQ(r->cells[0].depth, -1);
  EXPECT_GE(r->cells[0].accuracy, 0.0);
  EXPECT_LE(r->cells[0].accuracy, 1.0);
  for (const ExampleResult& e : r->examples) EXPECT_EQ(e.model_calls, 0);
}

TEST(Evaluator, LmReportsBitsPerByte) {
  const std::unique_ptr<Model> model = tiny_model("swa", 5);
  data::TaskContext context;
  context.lm_text = small_text();
  EvalOptions opt;
  opt.lengths = {200};
  opt.samples = 2;
  Result<EvalReport> r = evaluate(*model, task("lm"), context, opt);
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->cells.size(), 1u);
  EXPECT_TRUE(std::isnan(r->cells[0].accuracy));
  // An untrained byte model is near uniform over 256 bytes: about 8 bits per byte.
  EXPECT_GT(r->cells[0].bits_per_byte, 6.0);
  EXPECT_LT(r->cells[0].bits_per_byte, 10.0);
  const nlohmann::json j = nlohmann::json::parse(to_json(*r));
  EXPECT_TRUE(j.at(0).at("accuracy").is_null());
  EXPECT_NEAR(j.at(0).at("bits_per_byte").get<double>(), r->cells[0].bits_per_byte, 1e-12);
}

TEST(Evaluator, BadInputIsAnError) {
  const std::unique_ptr<Model> model = tiny_model("swa", 5);
  EvalOptions opt;
  opt.lengths = {10};
  Result<EvalReport> r = evaluate(*model, task("passkey"), {}, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("at least"), std::string::npos) << r.message();
  opt.lengths = {400};
  opt.depths = {1.5};
  EXPECT_FALSE(evaluate(*model, task("passkey"), {}, opt).ok());
  opt.depths = {0.5};
  EXPECT_FALSE(evaluate(*model, task("mix:passkey=1,mqar=1"), {}, opt).ok());
  EXPECT_FALSE(evaluate(*model, task("qa1"), {}, opt).ok());  // no natural text given
  opt.samples = 0;
  EXPECT_FALSE(evaluate(*model, task("passkey"), {}, opt).ok());
}

class EvalReports : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = tiny_model("titans_mal", 5);
    Result<EvalReport> r = passkey_eval(*model_, {300, 600});
    ASSERT_TRUE(r.ok()) << r.message();
    report_ = *r;
  }
  std::unique_ptr<Model> model_;
  EvalReport report_;
};

TEST_F(EvalReports, JsonRecordsParseBack) {
  const nlohmann::json j = nlohmann::json::parse(to_json(report_));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 6u);
  for (size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& rec = j[i];
    EXPECT_EQ(rec.at("task").get<std::string>(), "passkey");
    EXPECT_EQ(rec.at("length").get<int64_t>(), i < 3 ? 300 : 600);
    EXPECT_EQ(rec.at("depth").get<double>(), (std::vector<double>{0, 0.5, 1})[i % 3]);
    EXPECT_EQ(rec.at("samples").get<int>(), 2);
    const double acc = rec.at("accuracy").get<double>();
    EXPECT_GE(acc, 0.0);
    EXPECT_LE(acc, 1.0);
    EXPECT_EQ(acc, report_.cells[i].accuracy);
    EXPECT_GT(rec.at("tokens_per_s").get<double>(), 0.0);
  }
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST_F(EvalReports, SvgHasOneRectPerCell) {
  const std::string svg = to_svg(report_, "m.safetensors <titans_mal> & passkey");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(count(svg, "<rect class=\"cell\""), report_.cells.size());
  EXPECT_EQ(count(svg, "<text"), count(svg, "</text>"));
  EXPECT_NE(svg.find("&lt;titans_mal&gt; &amp; passkey"), std::string::npos);  // escaped title
  EXPECT_NE(svg.find(">600<"), std::string::npos);                             // a length label
}

TEST_F(EvalReports, TableHasARowPerLength) {
  const std::string t = format_table(report_);
  EXPECT_EQ(count(t, "\n"), 2u + 2u);  // header, rule, two lengths
  EXPECT_NE(t.find("% depth 0.5"), std::string::npos);
  EXPECT_NE(t.find("tokens/s"), std::string::npos);
}

}  // namespace
}  // namespace titans::eval
