// `titans init` and `titans forward`, run as a user would: the logits in the .npy equal the
// library's forward of the loaded model; bad input is one line on stderr and exit code 2.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "io/npy.h"
#include "io_test_util.h"
#include "model_test_util.h"
#include "models/model_file.h"

namespace titans {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

class ModelCli : public io::testing::ScratchDir {
 protected:
  CliRun titans(const std::string& args) {
    const std::string out = path("stdout.txt"), err = path("stderr.txt");
    const std::string cmd = "'" TITANS_BINARY "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
  static std::string slurp(const std::string& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  void write(const std::string& name, const std::string& text) { std::ofstream(path(name)) << text; }
};

void expect_one_line_error(const CliRun& r, const std::string& problem) {
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("titans: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(problem), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
}

TEST_F(ModelCli, InitThenForwardMatchesTheLibrary) {
  const std::string model = path("m.safetensors");
  CliRun init = titans("init --config swa-tiny --seed 4 --out '" + model + "'");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  write("in.txt", "Causal language models, one byte at a time.");
  CliRun fwd = titans("forward --model '" + model + "' --input '" + path("in.txt") + "' --out '" + path("l.npy") + "'");
  ASSERT_EQ(fwd.exit_code, 0) << fwd.err;
  write("ids.txt", "3 1 4\n1 5 9 2 6\n");
  CliRun ids = titans("forward --model '" + model + "' --tokens --input '" + path("ids.txt") + "' --out '" +
                      path("ids.npy") + "'");
  ASSERT_EQ(ids.exit_code, 0) << ids.err;

  Result<std::unique_ptr<Model>> m = load_model(model);
  ASSERT_TRUE(m.ok()) << m.message();
  const auto expect = [&](const std::vector<int32_t>& tokens, const std::string& npy) {
    Result<io::NpyArray> a = io::read_npy(npy);
    ASSERT_TRUE(a.ok()) << a.message();
    const int64_t T = int64_t(tokens.size());
    EXPECT_EQ(a->shape, (std::vector<int64_t>{T, 256}));
    ASSERT_EQ(a->dtype, DType::f32);
    Graph g;
    Result<Tensor> y = (*m)->forward(g, ids_tensor(g, tokens, 1, T, 0, T), nullptr);
    ASSERT_TRUE(y.ok());
    const std::vector<double> v = tensor_values(*y);
    for (int64_t i = 0; i < a->numel(); ++i) ASSERT_EQ(double(a->as<float>()[i]), v[size_t(i)]) << i;
  };
  const std::string text = "Causal language models, one byte at a time.";
  expect(std::vector<int32_t>(text.begin(), text.end()), path("l.npy"));
  expect({3, 1, 4, 1, 5, 9, 2, 6}, path("ids.npy"));
}

TEST_F(ModelCli, ErrorsAreOneLineAndExitTwo) {
  expect_one_line_error(titans("init --config no_such-tiny --out '" + path("m.safetensors") + "'"),
                        "neither a file nor a preset");
  const std::string model = path("m.safetensors");
  ASSERT_EQ(titans("init --config transformer-tiny --out '" + model + "'").exit_code, 0);
  write("big.txt", "1 2 300");
  expect_one_line_error(titans("forward --model '" + model + "' --tokens --input '" + path("big.txt") +
                               "' --out '" + path("o.npy") + "'"),
                        "token 2 is 300, outside the vocabulary [0, 256)");
  write("word.txt", "1 two 3");
  expect_one_line_error(titans("forward --model '" + model + "' --tokens --input '" + path("word.txt") +
                               "' --out '" + path("o.npy") + "'"),
                        "token 1 'two' is not an integer");
  write("empty.txt", "");
  expect_one_line_error(titans("forward --model '" + model + "' --input '" + path("empty.txt") + "' --out '" +
                               path("o.npy") + "'"),
                        "no tokens");
  expect_one_line_error(titans("forward --model '" + path("absent.safetensors") + "' --input '" +
                               path("word.txt") + "' --out '" + path("o.npy") + "'"),
                        "absent.safetensors");
}

}  // namespace
}  // namespace titans
