// ModelConfig: JSON round trips, every preset, errors that name the key / field, preset lookup.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/model_config.h"
#include "models/registry.h"

namespace titans {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every architecture has a tiny and a small preset; each parses, validates, names its arch and is
// written in the canonical form config_to_json produces (so the round trip is the identity).
TEST(Config, EveryPresetRoundTrips) {
  for (const ArchInfo& a : architectures())
    for (const char* size : {"-tiny", "-small"}) {
      const std::string name = std::string(a.name) + size;
      Result<ModelConfig> c = resolve_config(name);
      ASSERT_TRUE(c.ok()) << name << ": " << c.message();
      EXPECT_EQ(c->arch, a.name);
      const std::string text = config_to_json(*c);
      EXPECT_EQ(text + "\n", read_file(std::filesystem::path(TITANS_SOURCE_DIR) / "configs" / (name + ".json")))
          << name << " is not in canonical form; expected:\n" << text;
      Result<ModelConfig> again = config_from_json(text);
      ASSERT_TRUE(again.ok()) << again.message();
      EXPECT_EQ(config_to_json(*again), text);
    }
}

TEST(Config, RoundTripKeepsEveryField) {
  ModelConfig c;
  c.arch = "infini";
  c.d_model = 48;
  c.n_heads = 3;
  c.head_dim = 8;
  c.ffn_hidden = 100;
  c.tie_embeddings = true;
  c.rope_theta = 5e5;
  c.norm_eps = 1e-5;
  c.window = 7;
  c.segment = 9;
  c.n_persistent = 0;
  c.gate = GateKind::sum;
  c.memory.depth = 3;
  c.memory.activation = MemoryActivation::silu;
  c.memory.momentum = false;
  c.memory.theta_init = 0.03;
  c.memory.head_dim = 4;
  c.infini_update = InfiniUpdate::delta;
  c.infini_bptt_segments = 2;
  c.beta_lr_mult = 10;
  c.embed_std = 0.1;
  Result<ModelConfig> back = config_from_json(config_to_json(c));
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(config_to_json(*back), config_to_json(c));
  EXPECT_EQ(back->infini_update, InfiniUpdate::delta);
  EXPECT_EQ(back->memory.activation, MemoryActivation::silu);
  EXPECT_EQ(back->memory_config().head_dim, 4);
  EXPECT_EQ(back->memory_config().d_model, 48);
  EXPECT_DOUBLE_EQ(back->memory.theta_init, 0.03);
}

TEST(Config, MissingKeysTakeDefaults) {
  Result<ModelConfig> c = config_from_json(R"({"arch": "swa", "d_model": 64, "n_heads": 4})");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->dh(), 16);
  EXPECT_EQ(c->ffn_dim(), 192);  // 8·64/3 = 170.7 → 192 (multiple of 32)
  EXPECT_EQ(c->window, 64);
  EXPECT_EQ(c->memory_config().head_dim, 16);
}

// Each bad config is refused with a message naming the key or field.
TEST(Config, ErrorsNameTheProblem) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"arch": "transformer", "d_model": 32, "d_modle": 32})", "unknown key 'd_modle'"},
      {R"({"arch": "titans_mac", "d_model": 32, "memory": {"chunkk": 4}})", "unknown key 'memory.chunkk'"},
      {R"({"arch": "infini", "d_model": 32, "infini": {"updates": "delta"}})", "unknown key 'infini.updates'"},
      {R"({"arch": "transformer", "d_model": "32"})", "d_model: expected an integer"},
      {R"({"arch": "transformer", "d_model": 32.5})", "d_model: expected an integer"},
      {R"({"arch": "transformer", "d_model": 32, "tie_embeddings": 1})", "tie_embeddings: expected true or false"},
      {R"({"arch": "transformer", "d_model": 32, "rope_theta": "big"})", "rope_theta: expected a number"},
      {R"({"arch": "titans_mag", "d_model": 32, "memory": 4})", "memory: expected an object"},
      {R"({"arch": 3, "d_model": 32})", "arch: expected a string"},
      {R"({"d_model": 32})", "arch: missing"},
      {R"({"arch": "gpt", "d_model": 32})", "unknown architecture 'gpt'"},
      {R"({"arch": "transformer", "d_model": 0})", "d_model must be >= 1"},
      {R"({"arch": "transformer", "d_model": 32, "n_layers": 0})", "n_layers must be >= 1"},
      {R"({"arch": "transformer", "d_model": 32, "n_heads": 3})", "head_dim is 0 but d_model is not divisible"},
      {R"({"arch": "transformer", "d_model": 32, "n_heads": 2, "head_dim": 5})", "head_dim must be even"},
      {R"({"arch": "transformer", "d_model": 32, "vocab_size": 0})", "vocab_size must be"},
      {R"({"arch": "swa", "d_model": 32, "window": 0})", "window must be >= 1"},
      {R"({"arch": "infini", "d_model": 32, "segment": -1})", "segment must be >= 1"},
      {R"({"arch": "titans_mac", "d_model": 32, "n_persistent": -1})", "n_persistent must be >= 0"},
      {R"({"arch": "titans_mac", "d_model": 32, "gate": "product"})", "gate: expected \"sigmoid\" or \"sum\""},
      {R"({"arch": "infini", "d_model": 32, "infini": {"update": "hebbian"}})", "infini.update: expected"},
      {R"({"arch": "infini", "d_model": 32, "infini": {"bptt_segments": -2}})", "infini.bptt_segments must be >= 0"},
      {R"({"arch": "titans_lmm", "d_model": 32, "memory": {"depth": 5}})", "memory.depth must be in 1..4"},
      {R"({"arch": "titans_lmm", "d_model": 32, "memory": {"theta_init": 1.5}})", "memory.theta_init must be in (0, 1)"},
      {R"({"arch": "titans_lmm", "d_model": 32, "memory": {"activation": "relu"}})", "memory.activation: expected"},
      {R"({"arch": "titans_lmm", "d_model": 32, "memory": {"chunk": 0}})", "memory.chunk must be >= 1"},
      {R"({"arch": "transformer", "d_model": 32, "beta_lr_mult": 0})", "beta_lr_mult must be > 0"},
      {R"({"arch": "transformer", "d_model": 32, "norm_eps": -1})", "norm_eps must be > 0"},
      {R"({"arch": "transformer", "d_model": 32)", "invalid JSON"},
      {R"([1, 2])", "expected a JSON object"},
  };
  for (const auto& [json, expect] : cases) {
    Result<ModelConfig> c = config_from_json(json);
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_NE(c.message().find(expect), std::string::npos) << json << " → " << c.message();
    EXPECT_EQ(c.message().find('\n'), std::string::npos) << "one line: " << c.message();
  }
}

TEST(Config, ResolvesPresetsPathsAndTheEnvironmentFolder) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("titans_config_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "mine.json") << R"({"arch": "swa", "d_model": 16, "n_heads": 2, "window": 5})";
    std::ofstream(dir / "transformer-tiny.json") << R"({"arch": "transformer", "d_model": 8})";
  }
  Result<ModelConfig> by_path = resolve_config((dir / "mine.json").string());
  ASSERT_TRUE(by_path.ok()) << by_path.message();
  EXPECT_EQ(by_path->window, 5);

  Result<ModelConfig> missing = resolve_config("no_such_model-tiny");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("neither a file nor a preset"), std::string::npos) << missing.message();
  EXPECT_NE(missing.message().find("transformer-tiny"), std::string::npos) << "lists the presets";
  EXPECT_FALSE(resolve_config((dir / "absent.json").string()).ok());

  ::setenv("TITANS_CONFIGS", dir.c_str(), 1);
  Result<ModelConfig> from_env = resolve_config("mine");
  Result<ModelConfig> overridden = resolve_config("transformer-tiny");
  Result<ModelConfig> fallback = resolve_config("swa-tiny");
  ::unsetenv("TITANS_CONFIGS");
  ASSERT_TRUE(from_env.ok()) << from_env.message();
  EXPECT_EQ(from_env->window, 5);
  ASSERT_TRUE(overridden.ok()) << overridden.message();
  EXPECT_EQ(overridden->d_model, 8) << "$TITANS_CONFIGS comes before the source tree";
  ASSERT_TRUE(fallback.ok()) << fallback.message();
  EXPECT_EQ(fallback->d_model, 32);

  std::ofstream(dir / "bad.json") << R"({"arch": "swa", "d_model": 16, "windw": 5})";
  Result<ModelConfig> bad = resolve_config((dir / "bad.json").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("bad.json: config: unknown key 'windw'"), std::string::npos) << bad.message();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace titans
