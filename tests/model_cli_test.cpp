// `titans init` and `titans forward`, run as a user would: the logits in the .npy equal the
// library's forward of the loaded model; bad input is one line on stderr and exit code 2.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <fstream>
#include <sstream>

#include "io/npy.h"
#include "io/safetensors.h"
#include "cli_test_util.h"
#include "model_test_util.h"
#include "models/model_file.h"

namespace titans {
namespace {

using titans::testing::CliRun;
using titans::testing::expect_one_line_error;
using titans::testing::slurp;

class ModelCli : public titans::testing::CliTest {};

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

// ---- every way a model file can be damaged, each its own test, through the real binary: `titans
// inspect` and `titans forward` print one line naming the problem and exit 2 (never a crash).

struct Damage {
  const char* name;
  const char* expect;  // a phrase the one-line error contains
};

class DamagedModelCli : public ModelCli, public ::testing::WithParamInterface<Damage> {
 protected:
  // The header JSON and data buffer of a fresh transformer-tiny file.
  void SetUp() override {
    ModelCli::SetUp();
    good_ = path("good.safetensors");
    ASSERT_EQ(titans("init --config transformer-tiny --seed 2 --out '" + good_ + "'").exit_code, 0);
    const std::string bytes = slurp(good_);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    header_ = nlohmann::json::parse(bytes.substr(8, n));
    data_ = bytes.substr(8 + n);
  }
  // A file with this header and data (the header length field = the header's size unless given).
  std::string assemble(const nlohmann::json& header, std::optional<uint64_t> length = {}) {
    const std::string h = header.dump();
    const uint64_t n = length ? *length : h.size();
    std::string out(8, '\0');
    std::memcpy(out.data(), &n, 8);
    return out + h + data_;
  }
  // A well-formed container whose tensors or config are wrong for a model (the io writer).
  std::string rewrite(const std::function<void(std::vector<io::TensorToWrite>&, std::map<std::string, std::string>&)>& edit) {
    Result<io::SafetensorsFile> f = io::SafetensorsFile::open(good_);
    EXPECT_TRUE(f.ok());
    std::vector<io::TensorToWrite> t;
    for (const io::TensorEntry& e : f->entries()) t.push_back({e.name, e.dtype, e.shape, f->data(e).data()});
    std::map<std::string, std::string> meta = f->metadata();
    edit(t, meta);
    const std::string p = path("rewritten.safetensors");
    EXPECT_TRUE(io::write_safetensors(p, t, meta).ok());
    return slurp(p);
  }
  std::string damaged(const std::string& which) {
    nlohmann::json h = header_;
    if (which == "header_length") return assemble(h, uint64_t(1) << 40);
    if (which == "offset_past_end") {
      h["norm_f"]["data_offsets"] = {data_.size(), data_.size() + 128};
      return assemble(h);
    }
    if (which == "overlapping") {
      h["layers.0.norm_ffn"]["data_offsets"] = h["layers.0.norm_mix"]["data_offsets"];
      return assemble(h);
    }
    if (which == "unknown_dtype") {
      h["norm_f"]["dtype"] = "F33";
      return assemble(h);
    }
    if (which == "invalid_header_json") {
      std::string s = assemble(h);
      s[8 + h.dump().size() - 1] = ' ';  // the header's closing brace: it no longer parses
      return s;
    }
    if (which == "missing_tensor")
      return rewrite([](auto& t, auto&) { std::erase_if(t, [](const auto& e) { return e.name == "layers.1.attn.w_k"; }); });
    if (which == "wrong_shape")
      return rewrite([](auto& t, auto&) {
        for (auto& e : t)
          if (e.name == "layers.0.attn.w_q") e.shape = {64, 16};
      });
    if (which == "invalid_config_json")
      return rewrite([](auto&, auto& m) { m[io::kConfigKey] = "{\"arch\": \"transformer\","; });
    if (which == "unknown_architecture")
      return rewrite([](auto&, auto& m) {
        nlohmann::json c = nlohmann::json::parse(m[io::kConfigKey]);
        c["arch"] = "gpt";
        m[io::kConfigKey] = c.dump();
      });
    ADD_FAILURE() << "no such damage " << which;
    return "";
  }
  std::string good_, data_;
  nlohmann::json header_;
};

TEST_P(DamagedModelCli, OneLineErrorExitTwo) {
  const Damage& d = GetParam();
  const std::string file = path(std::string(d.name) + ".safetensors");
  std::ofstream(file, std::ios::binary) << damaged(d.name);
  write("in.txt", "abc");
  const CliRun fwd = titans("forward --model '" + file + "' --input '" + path("in.txt") + "' --out '" + path("o.npy") + "'");
  expect_one_line_error(fwd, d.expect);
  EXPECT_NE(fwd.err.find(file), std::string::npos) << "names the file: " << fwd.err;
  EXPECT_FALSE(std::ifstream(path("o.npy")).good()) << "no output written";
  // inspect reads the container only: the model-level damages (config, tensor set) are its to show.
  const std::string container_damages = "header_length offset_past_end overlapping unknown_dtype invalid_header_json";
  if (container_damages.find(d.name) != std::string::npos) expect_one_line_error(titans("inspect '" + file + "'"), d.expect);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DamagedModelCli,
    ::testing::Values(Damage{"header_length", "header length"}, Damage{"offset_past_end", "past the end"},
                      Damage{"overlapping", "overlap"}, Damage{"unknown_dtype", "unknown dtype"},
                      Damage{"invalid_header_json", "JSON"}, Damage{"missing_tensor", "no tensor 'layers.1.attn.w_k'"},
                      Damage{"wrong_shape", "tensor 'layers.0.attn.w_q' has shape [64, 16], expected [32, 32]"},
                      Damage{"invalid_config_json", "config: invalid JSON"},
                      Damage{"unknown_architecture", "unknown architecture 'gpt'"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace titans
