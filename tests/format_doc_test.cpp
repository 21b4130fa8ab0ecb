// docs/FORMAT.md's tensor tables against the code: for the tiny preset of every registered
// architecture, the parameters a fresh model has must be exactly the names and shapes the document
// lists for it (symbols evaluated from the config). A parameter added without documenting it fails.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "infer/state_file.h"
#include "infer/streamer.h"
#include "models/model.h"
#include "models/registry.h"

namespace titans {
namespace {

std::string read_doc() {
  std::ifstream f(std::string(TITANS_SOURCE_DIR) + "/docs/FORMAT.md");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The text of the section that starts with `heading`, up to the next "## " heading.
std::string section(const std::string& doc, const std::string& heading) {
  const size_t start = doc.find(heading);
  EXPECT_NE(start, std::string::npos) << "FORMAT.md has no " << heading;
  if (start == std::string::npos) return "";
  const size_t end = doc.find("\n## ", start);
  return doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The rows "| `name` | [shape] |" (common) and "| group | `name` | [shape] |", and "| arch | groups |".
struct DocTables {
  std::vector<std::pair<std::string, std::string>> common;                 // name, shape
  std::multimap<std::string, std::pair<std::string, std::string>> groups;  // group → (name, shape)
  std::map<std::string, std::vector<std::string>> arch_groups;
};

DocTables parse(const std::string& doc) {
  DocTables t;
  std::istringstream in(section(doc, "## Tensors of each architecture"));
  const std::regex common_row(R"(^\| `([^`]+)` \| (\[[^\]]*\]).*\|$)");
  const std::regex group_row(R"(^\| (\w+) \| `([^`]+)` \| (\[[^\]]*\]) \|$)");
  const std::regex arch_row(R"(^\| (\w+) \| ([a-z_, ]+) \|$)");
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, common_row)) {
      t.common.push_back({m[1], m[2]});
    } else if (std::regex_match(line, m, group_row)) {
      t.groups.insert({m[1], {m[2], m[3]}});
    } else if (std::regex_match(line, m, arch_row) && find_architecture(m[1])) {
      std::stringstream list(m[2].str());
      std::string g;
      while (std::getline(list, g, ',')) {
        g.erase(0, g.find_first_not_of(' '));
        t.arch_groups[m[1]].push_back(g);
      }
    }
  }
  return t;
}

// "[HD, d]" with the config's symbols → "[64, 32]"; `extra` adds symbols (a snapshot's B, n).
std::string eval_shape(const std::string& shape, const ModelConfig& c,
                       const std::map<std::string, int64_t>& extra = {}) {
  const NeuralMemoryConfig mc = c.memory_config();
  std::map<std::string, int64_t> sym = {
      {"V", c.vocab_size}, {"d", c.d_model},       {"H", c.n_heads},
      {"d_h", c.dh()},     {"HD", c.inner_dim()},  {"F", c.ffn_dim()},
      {"N_p", c.n_persistent}, {"K", mc.conv_kernel}, {"h", mc.hidden_dim()}};
  sym.insert(extra.begin(), extra.end());
  std::string out = "[";
  std::stringstream ss(shape.substr(1, shape.size() - 2));
  std::string tok;
  bool first = true;
  while (std::getline(ss, tok, ',')) {
    tok.erase(0, tok.find_first_not_of(' '));
    const auto it = sym.find(tok);
    EXPECT_NE(it, sym.end()) << "unknown symbol '" << tok << "' in FORMAT.md";
    if (!first) out += ',';
    out += std::to_string(it == sym.end() ? -1 : it->second);
    first = false;
  }
  return out + "]";
}

std::string replace_layer(std::string name, int layer) {
  const std::string ell = "ℓ";
  const size_t p = name.find(ell);
  if (p != std::string::npos) name.replace(p, ell.size(), std::to_string(layer));
  return name;
}

TEST(FormatDoc, EveryArchitectureHasExactlyTheDocumentedTensors) {
  const DocTables doc = parse(read_doc());
  ASSERT_FALSE(doc.common.empty());
  for (const ArchInfo& arch : architectures()) {
    SCOPED_TRACE(arch.name);
    Result<ModelConfig> cfg = resolve_config(std::string(arch.name) + "-tiny");
    ASSERT_TRUE(cfg.ok()) << cfg.message();
    ASSERT_TRUE(doc.arch_groups.count(arch.name)) << "FORMAT.md has no groups row for " << arch.name;
    Result<std::unique_ptr<Model>> model = create_model(*cfg, 1);
    ASSERT_TRUE(model.ok()) << model.message();
    std::map<std::string, std::string> want;  // name → shape
    const auto add = [&](const std::string& name, const std::string& shape, int layers) {
      if (name == "lm_head" && cfg->tie_embeddings) return;
      if (name.find("persistent") != std::string::npos && cfg->n_persistent == 0) return;
      for (int l = 0; l < layers; ++l) want[replace_layer(name, l)] = eval_shape(shape, *cfg);
    };
    for (const auto& [name, shape] : doc.common)
      add(name, shape, name.find("ℓ") != std::string::npos ? int(cfg->n_layers) : 1);
    for (const std::string& group : doc.arch_groups.at(arch.name)) {
      const auto [lo, hi] = doc.groups.equal_range(group);
      ASSERT_NE(lo, hi) << "FORMAT.md: no rows for group " << group;
      for (auto it = lo; it != hi; ++it) add(it->second.first, it->second.second, int(cfg->n_layers));
    }
    std::map<std::string, std::string> have;
    for (const Parameter& p : (*model)->params().params()) have[p.name] = p.tensor.shape.str();
    for (const auto& [name, shape] : have) {
      ASSERT_TRUE(want.count(name)) << "parameter '" << name << "' is not documented in FORMAT.md";
      EXPECT_EQ(want[name], shape) << name;
    }
    for (const auto& [name, shape] : want) EXPECT_TRUE(have.count(name)) << "documented '" << name << "' missing";
  }
}

// The snapshot table "| `name` | [shape] | arch, arch |": for every architecture, the tensors its
// states hold (after 1 token and after 22: both sides of the first segment, pending chunks) are
// exactly the rows that list it, with the documented shapes (n: any token count).
TEST(FormatDoc, SnapshotTensorsAreDocumented) {
  const std::string doc = section(read_doc(), "## Memory-state snapshots");
  const std::regex row(R"(^\| `([^`]+)` \| (\[[^\]]*\]) \| ([a-z_, ]+) \|$)");
  std::multimap<std::string, std::pair<std::string, std::string>> rows;  // arch → (name, shape)
  std::istringstream in(doc);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (!std::regex_match(line, m, row)) continue;
    std::stringstream list(m[3].str());
    std::string arch;
    while (std::getline(list, arch, ',')) {
      arch.erase(0, arch.find_first_not_of(' '));
      EXPECT_TRUE(find_architecture(arch)) << "FORMAT.md: unknown architecture " << arch;
      rows.insert({arch, {m[1], m[2]}});
    }
  }
  ASSERT_FALSE(rows.empty());
  constexpr int64_t kB = 2, kAny = -7;  // n matches any count
  for (const ArchInfo& arch : architectures()) {
    SCOPED_TRACE(arch.name);
    Result<ModelConfig> cfg = resolve_config(std::string(arch.name) + "-tiny");
    ASSERT_TRUE(cfg.ok()) << cfg.message();
    cfg->segment = 18;  // not a multiple of the chunk (4): MAC's segment-start memory has a pending chunk
    Result<std::unique_ptr<Model>> model = create_model(*cfg, 1);
    ASSERT_TRUE(model.ok()) << model.message();
    std::map<std::string, std::string> want;  // name → shape, n as kAny
    const auto [lo, hi] = rows.equal_range(arch.name);
    for (auto it = lo; it != hi; ++it)
      for (int l = 0; l < cfg->n_layers; ++l)
        want[replace_layer(it->second.first, l)] =
            eval_shape(it->second.second, *cfg, {{"B", kB}, {"n", kAny}, {"K−1", cfg->memory_config().conv_kernel - 1}});
    std::map<std::string, bool> seen;
    for (int64_t tokens : {1, 22}) {
      Streamer s(**model, kB);
      ASSERT_TRUE(s.feed(std::vector<int32_t>(size_t(kB * tokens), 7)).ok());
      for (const auto& [name, t] : state_tensors(s.state())) {
        ASSERT_TRUE(want.count(name)) << "snapshot tensor '" << name << "' is not documented for " << arch.name;
        const Shape shape = t.shape;
        // Compare dimension by dimension, n matching anything.
        std::stringstream ws(want[name].substr(1, want[name].size() - 2));
        std::string tok;
        int i = 0;
        while (std::getline(ws, tok, ',')) {
          ASSERT_LT(i, shape.ndim) << name;
          if (std::stoll(tok) != kAny) {
            EXPECT_EQ(std::stoll(tok), shape[i]) << name << " dimension " << i;
          }
          ++i;
        }
        EXPECT_EQ(i, shape.ndim) << name;
        seen[name] = true;
      }
    }
    for (const auto& [name, shape] : want) EXPECT_TRUE(seen.count(name)) << "documented '" << name << "' never seen";
  }
}

}  // namespace
}  // namespace titans
