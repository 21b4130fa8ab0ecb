// `titans eval` and `titans bench stream` run as a user would: a good run prints the table and
// writes JSON and SVG; bad input is one line on stderr and exit code 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace titans {
namespace {

using titans::testing::CliRun;
using titans::testing::expect_one_line_error;
using titans::testing::slurp;

class EvalCli : public titans::testing::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    model_ = path("m.safetensors");
    ASSERT_EQ(titans("init --config swa-tiny --seed 2 --out '" + model_ + "'").exit_code, 0);
  }
  std::string model_;
};

TEST_F(EvalCli, WritesTableJsonAndSvg) {
  const CliRun r = titans("eval --model '" + model_ +
                          "' --task passkey --lengths 300,600 --depths 0,1 --samples 2 --threads 1 "
                          "--json '" +
                          path("e.json") + "' --svg '" + path("e.svg") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| 600 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("% depth 1"), std::string::npos) << r.out;
  const nlohmann::json j = nlohmann::json::parse(slurp(path("e.json")));
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[3].at("length").get<int64_t>(), 600);
  EXPECT_EQ(slurp(path("e.svg")).rfind("<svg", 0), 0u);
}

TEST_F(EvalCli, BadInputIsOneLineAndExit2) {
  const std::string m = "eval --model '" + model_ + "' ";
  expect_one_line_error(titans(m + "--task nope --lengths 1K"), "unknown task");
  expect_one_line_error(titans(m + "--task passkey --lengths 10"), "at least");
  expect_one_line_error(titans(m + "--task passkey --lengths 1K --depths 0,1.5"), "depth");
  expect_one_line_error(titans(m + "--task passkey --lengths 1X"), "length");
  expect_one_line_error(titans(m + "--task mix:passkey=1,mqar=1 --lengths 1K"), "mixture");
  expect_one_line_error(
      titans("eval --model '" + path("missing.safetensors") + "' --task passkey --lengths 1K"),
      "missing.safetensors");
}

TEST_F(EvalCli, BenchStreamRunsEachArchInAChild) {
  const CliRun r = titans(
      "bench stream --archs swa,infini --lengths 1K,2K --piece 512 --threads 1 "
      "--json '" +
      path("s.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| swa "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| infini "), std::string::npos) << r.out;
  const nlohmann::json j = nlohmann::json::parse(slurp(path("s.json")));
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1].at("arch").get<std::string>(), "infini");
  EXPECT_EQ(j[1].at("points").size(), 2u);
  expect_one_line_error(titans("bench stream --archs swa --lengths 1K,zz"), "length");
  expect_one_line_error(titans("bench stream --archs nope --lengths 1K"), "nope");
}

}  // namespace
}  // namespace titans
