// `titans stream` and `titans generate`, run as a user would: bits per byte of a file; a file
// streamed in two halves through a snapshot scores exactly the tokens of one pass with the same
// total loss; greedy generation equals argmax decoding through the library; a generation continued
// from a snapshot equals one long generation; a damaged or foreign snapshot is one line, exit 2.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "cli_test_util.h"
#include "infer/streamer.h"
#include "models/model_file.h"

namespace titans {
namespace {

using testing::CliRun;
using testing::expect_one_line_error;
using testing::slurp;

class InferCli : public testing::CliTest {
 protected:
  void SetUp() override {
    ScratchDir::SetUp();
    model_ = path("m.safetensors");
    ASSERT_EQ(titans("init --config titans_mac-tiny --seed 5 --out '" + model_ + "'").exit_code, 0);
    // A text of 3000 bytes: several pieces, segments and chunks.
    std::string text;
    for (int i = 0; text.size() < 3000; ++i)
      text += "line " + std::to_string(i * 7919 % 1000) + ": the quick brown fox.\n";
    text_ = text.substr(0, 3000);
    write("all.txt", text_);
  }
  // "key: value" lines of a stream report.
  static std::map<std::string, std::string> report(const std::string& out) {
    std::map<std::string, std::string> m;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line))
      if (const size_t c = line.find(": "); c != std::string::npos)
        m[line.substr(0, c)] = line.substr(c + 2);
    return m;
  }
  CliRun stream(const std::string& input, const std::string& extra = "") {
    return titans("stream --model '" + model_ + "' --input '" + path(input) +
                  "' --piece 100 --threads 1 " + extra);
  }

  std::string model_, text_;
};

TEST_F(InferCli, StreamReportsBitsPerByte) {
  const CliRun r = stream("all.txt", "--loss-by-position '" + path("loss.tsv") + "' --bucket 1000");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto m = report(r.out);
  EXPECT_EQ(m["tokens"], "3000");
  EXPECT_EQ(m["scored"], "2999");
  EXPECT_EQ(m["position"], "3000");
  const double bpb = std::stod(m["bits per byte"]), nats = std::stod(m["nats"]);
  // An untrained model over 256 byte values: about 8 bits.
  EXPECT_GT(bpb, 6.0);
  EXPECT_LT(bpb, 10.0);
  EXPECT_NEAR(bpb, nats / 2999 / std::log(2.0), 1e-5);
  EXPECT_NE(m.count("tokens/s"), 0u);
  EXPECT_NE(m["peak RSS"].find("MiB"), std::string::npos);
  // The TSV: three buckets whose token counts sum to the scored tokens, means averaging to bpb.
  std::istringstream tsv(slurp(path("loss.tsv")));
  std::string line;
  std::getline(tsv, line);
  EXPECT_EQ(line, "position\tbits\ttokens");
  int64_t tokens = 0, rows = 0;
  double bits = 0;
  while (std::getline(tsv, line)) {
    std::istringstream row(line);
    int64_t start = 0, n = 0;
    double b = 0;
    row >> start >> b >> n;
    EXPECT_EQ(start, rows * 1000);
    bits += b * double(n), tokens += n, ++rows;
  }
  EXPECT_EQ(rows, 3);
  EXPECT_EQ(tokens, 2999);
  EXPECT_NEAR(bits / double(tokens), bpb, 1e-4);
  // Standard input gives the same report.
  const CliRun piped = titans("stream --model '" + model_ +
                              "' --input - --piece 100 --threads 1 < '" + path("all.txt") + "'");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(report(piped.out)["nats"], m["nats"]);
}

TEST_F(InferCli, TwoHalvesThroughASnapshotEqualOnePass) {
  const CliRun one = stream("all.txt");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  // 1234 is no multiple of the piece, segment or chunk: the state stops mid-everything.
  write("a.txt", text_.substr(0, 1234));
  write("b.txt", text_.substr(1234));
  const std::string state = path("s.safetensors");
  const CliRun a = stream("a.txt", "--state-out '" + state + "'");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const CliRun b = stream("b.txt", "--state-in '" + state + "'");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto ro = report(one.out), ra = report(a.out), rb = report(b.out);
  EXPECT_EQ(ra["scored"], "1233");
  EXPECT_EQ(rb["scored"], "1766");  // the first token of the second half is scored too
  EXPECT_EQ(rb["position"], "3000");
  const double whole = std::stod(ro["nats"]),
               halves = std::stod(ra["nats"]) + std::stod(rb["nats"]);
  // float32, and the pieces fall differently: equal up to rounding.
  EXPECT_NEAR(halves, whole, 1e-5 * whole);
}

TEST_F(InferCli, GreedyGenerationIsArgmaxDecoding) {
  const std::string prompt = "the quick brown";
  const CliRun r = titans("generate --model '" + model_ + "' --prompt '" + prompt +
                          "' --max-tokens 30 --temperature 0 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const CliRun again = titans("generate --model '" + model_ + "' --prompt '" + prompt +
                              "' --max-tokens 30 --temperature 0 --threads 1");
  EXPECT_EQ(again.out, r.out);

  Result<std::unique_ptr<Model>> m = load_model(model_);
  ASSERT_TRUE(m.ok()) << m.message();
  Streamer s(**m);
  ASSERT_TRUE(s.feed(std::vector<int32_t>(prompt.begin(), prompt.end())).ok());
  std::string want;
  for (int i = 0; i < 30; ++i) {
    const std::span<const float> l = s.last_logits();
    int32_t best = 0;
    for (int32_t j = 1; j < int32_t(l.size()); ++j)
      if (l[size_t(j)] > l[size_t(best)]) best = j;
    want += char(best);
    ASSERT_TRUE(s.feed(std::vector<int32_t>{best}).ok());
  }
  EXPECT_EQ(r.out, want);
}

TEST_F(InferCli, SampledGenerationDependsOnTheSeedOnly) {
  const auto gen = [&](int seed) {
    const CliRun r = titans("generate --model '" + model_ +
                            "' --prompt 'fox' --max-tokens 40 --temperature 1 "
                            "--top-p 0.9 --seed " +
                            std::to_string(seed));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.size(), 40u);  // byte tokens only (vocabulary 256)
    return r.out;
  };
  EXPECT_EQ(gen(3), gen(3));
  EXPECT_NE(gen(3), gen(4));
}

TEST_F(InferCli, GenerationContinuesFromASnapshot) {
  const std::string state = path("g.safetensors");
  const std::string base = "generate --model '" + model_ + "' --temperature 0 --max-tokens ";
  const CliRun whole = titans(base + "24 --prompt 'brown fox'");
  const CliRun first = titans(base + "10 --prompt 'brown fox' --state-out '" + state + "'");
  const CliRun rest = titans(base + "14 --prompt '' --state-in '" + state + "'");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(first.out + rest.out, whole.out);
}

TEST_F(InferCli, BadSnapshotsAreOneLineAndExitTwo) {
  const std::string state = path("s.safetensors");
  ASSERT_EQ(stream("all.txt", "--state-out '" + state + "'").exit_code, 0);
  // Cut short.
  const std::vector<uint8_t> bytes = io::testing::read_bytes(state);
  const std::string cut = path("cut.safetensors");
  io::testing::write_bytes(
      cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(bytes.size()) / 2));
  expect_one_line_error(stream("all.txt", "--state-in '" + cut + "'"), cut);
  expect_one_line_error(
      titans("generate --model '" + model_ + "' --prompt x --state-in '" + cut + "'"), cut);
  // Another model's.
  const std::string other = path("other.safetensors");
  ASSERT_EQ(titans("init --config titans_mac-tiny --seed 6 --out '" + other + "'").exit_code, 0);
  expect_one_line_error(titans("stream --model '" + other + "' --input '" + path("all.txt") +
                               "' --state-in '" + state + "'"),
                        "made by another model (hash");
  // A failed run writes nothing: the --state-out and --loss-by-position files do not appear.
  expect_one_line_error(stream("absent.txt", "--state-out '" + path("new.safetensors") + "'"),
                        "absent.txt");
  expect_one_line_error(
      titans("stream --model '" + other + "' --input '" + path("all.txt") + "' --state-in '" +
             state + "' --state-out '" + path("new.safetensors") + "' --loss-by-position '" +
             path("new.tsv") + "'"),
      "made by another model");
  EXPECT_FALSE(std::ifstream(path("new.safetensors")).good());
  EXPECT_FALSE(std::ifstream(path("new.tsv")).good());
  // Usage errors.
  write("empty.txt", "");
  expect_one_line_error(stream("empty.txt"), "no input bytes");
  expect_one_line_error(titans("generate --model '" + model_ + "'"),
                        "one of --prompt, --prompt-file");
  expect_one_line_error(titans("generate --model '" + model_ + "' --prompt ''"),
                        "the prompt is empty");
  expect_one_line_error(titans("generate --model '" + model_ + "' --prompt x --top-p 0"),
                        "--top-p");
}

}  // namespace
}  // namespace titans
