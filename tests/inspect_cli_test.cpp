// `titans inspect`, run as a user would: the binary on a good file and on broken ones.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "io/safetensors.h"
#include "io_test_util.h"

namespace titans::io {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

class InspectCli : public testing::ScratchDir {
 protected:
  CliRun inspect(const std::string& file) {
    const std::string out = path("stdout.txt"), err = path("stderr.txt");
    const std::string cmd = "'" TITANS_BINARY "' inspect '" + file + "' >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    CliRun r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }
  static std::string slurp(const std::string& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
};

// One line on stderr starting "titans: error: FILE: ", nothing on stdout, exit code 2.
void expect_one_line_error(const CliRun& r, const std::string& file, const std::string& problem) {
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("titans: error: " + file + ": ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(problem), std::string::npos) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
}

TEST_F(InspectCli, CorruptedFileExitsTwoWithOneLine) {
  const std::string file = path("corrupt.safetensors");
  testing::write_bytes(
      file, testing::raw_file(R"({"w":{"dtype":"F32","shape":[1024],"data_offsets":[0,4096]}})", 64));
  expect_one_line_error(inspect(file), file,
                        "tensor 'w': data_offsets [0, 4096] run past the end of the data (64 bytes)");
}

TEST_F(InspectCli, NotASafetensorsFile) {
  const std::string file = path("notes.txt");
  std::ofstream(file) << "just some text, not a model\n";
  expect_one_line_error(inspect(file), file, "is absurd");
}

TEST_F(InspectCli, MissingFile) {
  const std::string file = path("nothing.safetensors");
  expect_one_line_error(inspect(file), file, "cannot open");
}

TEST_F(InspectCli, PrintsMetadataTensorsAndGroupedCounts) {
  const std::vector<float> embed(4 * 8, 0.0f), q(8 * 8, 0.0f), norm(8, 1.0f);
  const std::vector<TensorToWrite> tensors{
      {"embed.weight", FileDType::F32, {4, 8}, embed.data()},
      {"layers.0.attn.w_q", FileDType::F32, {8, 8}, q.data()},
      {"layers.0.norm", FileDType::F32, {8}, norm.data()},
      {"layers.1.attn.w_q", FileDType::F32, {8, 8}, q.data()},
      {"norm.weight", FileDType::F32, {8}, norm.data()}};
  const std::string file = path("model.safetensors");
  ASSERT_TRUE(write_safetensors(file, tensors, {{"config", R"({"d_model":8,"layers":2})"},
                                                {"step", "100"}}).ok());
  const CliRun r = inspect(file);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("  format: titans.cpp\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  step: 100\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("config:\n  {\n    \"d_model\": 8,\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("layers.0.attn.w_q  F32    [8, 8]"), std::string::npos) << r.out;
  // Groups: embed 32, layers.0 64 + 8, layers.1 64, norm 8; total 176.
  EXPECT_NE(r.out.find("  layers.0  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("72\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  total  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("176\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace titans::io
