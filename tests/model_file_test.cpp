// Model files (models/model_file.h): save → load gives the same config, parameters and logits for
// every architecture; each kind of damaged file is a one-line error naming the problem.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>

#include "io/safetensors.h"
#include "model_test_util.h"
#include "models/model_file.h"

namespace titans {
namespace {

namespace fs = std::filesystem;

class ModelFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("titans_model_file_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A tiny transformer's parameters written with `edit` applied to the tensor list and metadata.
  std::string write_edited(const std::string& name,
                           const std::function<void(std::vector<io::TensorToWrite>&, std::map<std::string, std::string>&)>& edit) {
    Result<ModelConfig> c = resolve_config("transformer-tiny");
    EXPECT_TRUE(c.ok());
    model_ = std::move(create_model(*c, 1).value());
    std::vector<io::TensorToWrite> tensors;
    for (const Parameter& p : model_->params().params()) tensors.push_back(io::tensor_to_write(p.name, p.tensor));
    std::map<std::string, std::string> meta = {{io::kConfigKey, config_to_json(*c)}};
    edit(tensors, meta);
    const std::string p = path(name);
    EXPECT_TRUE(io::write_safetensors(p, tensors, meta).ok());
    return p;
  }

  fs::path dir_;
  std::unique_ptr<Model> model_;
  std::vector<float> scratch_ = std::vector<float>(4096, 0.5f);
};

std::vector<double> logits_of(const Model& m, const std::vector<int32_t>& ids, int64_t T) {
  Graph g;
  NoGradScope ng(g);
  Result<Tensor> y = m.forward(g, ids_tensor(g, ids, 1, T, 0, T), nullptr);
  EXPECT_TRUE(y.ok()) << y.message();
  return y.ok() ? tensor_values(*y) : std::vector<double>{};
}

TEST_F(ModelFileTest, SaveLoadRoundTripEveryArchitecture) {
  for (const ArchInfo& a : architectures()) {
    Result<ModelConfig> c = resolve_config(std::string(a.name) + "-tiny");
    ASSERT_TRUE(c.ok()) << c.message();
    Result<std::unique_ptr<Model>> m = create_model(*c, 7);
    ASSERT_TRUE(m.ok()) << m.message();
    const std::string p = path(std::string(a.name) + ".safetensors");
    ASSERT_TRUE(save_model(p, **m).ok()) << a.name;
    Result<std::unique_ptr<Model>> back = load_model(p);
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_EQ(config_to_json((*back)->config()), config_to_json(*c));
    const auto& pa = (*m)->params().params();
    const auto& pb = (*back)->params().params();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {
      EXPECT_EQ(pa[i].name, pb[i].name);
      EXPECT_EQ(tensor_values(pa[i].tensor), tensor_values(pb[i].tensor)) << pa[i].name;
    }
    const std::vector<int32_t> ids = random_ids(20, c->vocab_size, 3);
    EXPECT_EQ(logits_of(**m, ids, 20), logits_of(**back, ids, 20)) << a.name;

    Result<io::SafetensorsFile> f = io::SafetensorsFile::open(p);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->metadata().at("format"), "titans.cpp");
    EXPECT_EQ(f->metadata().at("format_version"), "1");
    for (const io::TensorEntry& e : f->entries()) EXPECT_EQ(e.dtype, io::FileDType::F32) << e.name;
  }
}

TEST_F(ModelFileTest, Float64ModelsAreStoredAsF32) {
  Result<ModelConfig> c = resolve_config("infini-tiny");
  ASSERT_TRUE(c.ok());
  c->tie_embeddings = true;
  auto m = std::move(create_model(*c, 2, DType::f64).value());
  ASSERT_TRUE(save_model(path("f64.safetensors"), *m).ok());
  Result<std::unique_ptr<Model>> back = load_model(path("f64.safetensors"), DType::f64);
  ASSERT_TRUE(back.ok()) << back.message();
  for (size_t i = 0; i < m->params().params().size(); ++i) {
    const std::vector<double> a = tensor_values(m->params().params()[i].tensor);
    const std::vector<double> b = tensor_values((*back)->params().params()[i].tensor);
    for (size_t j = 0; j < a.size(); ++j) ASSERT_EQ(double(float(a[j])), b[j]);
  }
  Result<io::SafetensorsFile> f = io::SafetensorsFile::open(path("f64.safetensors"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->find("lm_head"), nullptr) << "tied: no head tensor";
}

// Each damaged file: an error (no crash) whose one line names the problem.
TEST_F(ModelFileTest, DamagedFilesAreRefusedWithTheReason) {
  using Edit = std::function<void(std::vector<io::TensorToWrite>&, std::map<std::string, std::string>&)>;
  const auto erase = [](std::vector<io::TensorToWrite>& t, const std::string& name) {
    std::erase_if(t, [&](const io::TensorToWrite& e) { return e.name == name; });
  };
  const std::vector<std::tuple<std::string, Edit, std::string>> cases = {
      {"missing", [&](auto& t, auto&) { erase(t, "layers.1.attn.w_k"); }, "no tensor 'layers.1.attn.w_k'"},
      {"shape",
       [&](auto& t, auto&) {
         for (auto& e : t)
           if (e.name == "norm_f") e.shape = {16}, e.data = scratch_.data();
       },
       "tensor 'norm_f' has shape [16], expected [32]"},
      {"extra",
       [&](auto& t, auto&) { t.push_back({"layers.9.norm_mix", io::FileDType::F32, {32}, scratch_.data()}); },
       "unexpected tensor: 'layers.9.norm_mix'"},
      {"json", [](auto&, auto& m) { m[io::kConfigKey] = "{\"arch\": \"transformer\","; }, "config: invalid JSON"},
      {"arch",
       [](auto&, auto& m) { m[io::kConfigKey] = R"({"arch": "gpt", "d_model": 32, "n_heads": 2})"; },
       "unknown architecture 'gpt'"},
      {"key",
       [](auto&, auto& m) { m[io::kConfigKey] = R"({"arch": "swa", "d_model": 32, "windows": 3})"; },
       "unknown key 'windows'"},
      {"no_config", [](auto&, auto& m) { m.erase(io::kConfigKey); }, "not a titans.cpp model file"},
  };
  for (const auto& [name, edit, expect] : cases) {
    const std::string p = write_edited(name + ".safetensors", edit);
    Result<std::unique_ptr<Model>> m = load_model(p);
    ASSERT_FALSE(m.ok()) << name;
    EXPECT_NE(m.message().find(expect), std::string::npos) << name << ": " << m.message();
    EXPECT_NE(m.message().find(p), std::string::npos) << name << " names the file: " << m.message();
    EXPECT_EQ(m.message().find('\n'), std::string::npos) << name << ": one line";
  }
  Result<std::unique_ptr<Model>> absent = load_model(path("absent.safetensors"));
  EXPECT_FALSE(absent.ok());
  std::ofstream(path("garbage.safetensors")) << "not a safetensors file at all";
  EXPECT_FALSE(load_model(path("garbage.safetensors")).ok());
}

}  // namespace
}  // namespace titans
