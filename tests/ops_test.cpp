// The op table's `test` and `grad` modes for every registered op and every one of its test cases:
// forward against the naive float64 reference (in f32 and f64), backward against central
// differences in float64.
#include <gtest/gtest.h>

#include "autodiff/op_check.h"
#include "autodiff/op_registry.h"

namespace titans {
namespace {

struct Case {
  std::string op;
  size_t index;
  std::string label;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.op << " " << c.label; }

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const OpInfo& info : OpRegistry::global().ops()) {
    const std::vector<OpTest> tests = info.tests();
    for (size_t i = 0; i < tests.size(); ++i) cases.push_back({info.name, i, tests[i].label});
  }
  return cases;
}

OpTest get(const Case& c) {
  const OpRegistry& r = OpRegistry::global();
  return r.ops()[size_t(r.id_of(c.op))].tests()[c.index];
}

class OpTable : public ::testing::TestWithParam<Case> {};

TEST_P(OpTable, ForwardF64MatchesReference) {
  const CheckResult r = check_forward(get(GetParam()), DType::f64);
  EXPECT_TRUE(r.ok) << r.detail;
}

TEST_P(OpTable, ForwardF32MatchesReference) {
  const CheckResult r = check_forward(get(GetParam()), DType::f32);
  EXPECT_TRUE(r.ok) << r.detail;
}

TEST_P(OpTable, GradientMatchesCentralDifferencesF64) {
  const CheckResult r = check_gradient(get(GetParam()));
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_LT(r.error, 1e-6);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string s = info.param.op + "_" + std::to_string(info.param.index);
  for (char& c : s)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpTable, ::testing::ValuesIn(all_cases()), case_name);

TEST(OpRegistry, EveryRequiredOpIsRegistered) {
  const char* required[] = {"matmul", "add", "sub", "mul", "div", "scale", "exp", "log", "sigmoid",
                            "silu", "swiglu", "gelu", "elu", "sum", "mean", "softmax", "cross_entropy",
                            "rmsnorm", "l2norm", "embedding", "rope", "causal_conv1d", "concat",
                            "slice", "transpose", "reshape", "masked_fill", "contiguous", "attention"};
  for (const char* name : required) EXPECT_GE(OpRegistry::global().id_of(name), 0) << name;
}

struct OpWithoutTests {
  static constexpr const char* name = "op_without_tests";
  static void backward(Graph&, const OpRecord&) {}
  static std::vector<OpTest> tests() { return {}; }
};

TEST(OpRegistry, RefusesAnOpWithoutTestCases) {
  OpRegistry r;
  const Status s = r.add<OpWithoutTests>();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no test cases"), std::string::npos) << s.message();
  EXPECT_EQ(r.id_of("op_without_tests"), -1);
}

TEST(OpRegistry, RefusesADuplicateName) {
  OpRegistry r;
  const OpInfo& add = OpRegistry::global().ops()[size_t(OpRegistry::global().id_of("add"))];
  EXPECT_TRUE(r.add_info(add).ok());
  EXPECT_FALSE(r.add_info(add).ok());
}

TEST(OpRegistry, RefusesAnOpWithoutBackward) {
  OpRegistry r;
  OpInfo info = OpRegistry::global().ops()[0];
  info.name = "no_backward";
  info.backward = nullptr;
  EXPECT_FALSE(r.add_info(info).ok());
}

}  // namespace
}  // namespace titans
