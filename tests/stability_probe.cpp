// stability_probe: how long a freshly initialised model streams before a non-finite value, and how
// its memories' weights ‖W‖ and momentum ‖S‖ grow (reference/README.md "Finding"; the PyTorch
// counterpart is reference/probe_stability.py).
//
//   stability_probe CONFIG [--seeds 0,1,2] [--tokens 4096] [--piece 512] [--kind bytes|text]
//                   [--text data/kjv.txt] [--dtype f32|f64] [--set memory.FIELD=VALUE ...]
//
// Streams one sequence (batch 1) through the model in pieces of --piece tokens (state carried across
// fresh graphs with copy_state, no gradient: the fused inference path). Random bytes: ids drawn from
// seed 1000 + S; text: --tokens bytes of the file from an offset drawn from that seed (wrapping).
// Prints one JSON line per seed: "first_nonfinite" (the token of the model's error position, or the
// first token with a non-finite logit; null if none), "error", and "W_S" = {tokens: [max ‖W^l‖_F, max ‖S^l‖_F]}
// over layers, memory layers l and heads at powers of two (chunk-start state after that many tokens).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "model_test_util.h"
#include "models/model_config.h"

namespace titans {
namespace {

struct Args {
  std::string config, kind = "bytes", text = "data/kjv.txt", dtype = "f32", seeds = "0";
  int64_t tokens = 4096, piece = 512;
  std::vector<std::string> sets;
};

// max over (batch, head) of the Frobenius norm of one [B, H, out, in] tensor.
double max_head_norm(const Tensor& t) {
  if (t.ndim() != 4) return 0.0;
  const std::vector<double> v = tensor_values(t);
  const int64_t per = t.shape[2] * t.shape[3];
  double m = 0;
  for (size_t h = 0; h * size_t(per) < v.size(); ++h) {
    double s = 0;
    for (int64_t i = 0; i < per; ++i) s += v[h * size_t(per) + size_t(i)] * v[h * size_t(per) + size_t(i)];
    m = std::max(m, std::sqrt(s));
  }
  return m;
}

Status probe(const Args& a) {
  std::string json;
  {
    Result<ModelConfig> base = resolve_config(a.config);
    if (!base) return base.status();
    json = config_to_json(*base);
  }
  Result<ModelConfig> cfg0 = config_from_json(json);
  if (!cfg0) return cfg0.status();
  ModelConfig cfg = *cfg0;
  for (const std::string& s : a.sets) {  // memory.FIELD=VALUE
    const size_t eq = s.find('=');
    if (eq == std::string::npos) return Status::error("--set " + s + ": expected memory.FIELD=VALUE");
    const std::string key = s.substr(0, eq);
    const double v = std::stod(s.substr(eq + 1));
    NeuralMemoryConfig& m = cfg.memory;
    if (key == "memory.theta_init") m.theta_init = v;
    else if (key == "memory.eta_init") m.eta_init = v;
    else if (key == "memory.alpha_init") m.alpha_init = v;
    else if (key == "memory.theta_max") m.theta_max = v;
    else if (key == "memory.chunk") m.chunk = int64_t(v);
    else if (key == "memory.depth") m.depth = int(v);
    else return Status::error("--set: unknown field " + key);
  }
  if (Status s = cfg.validate(); !s) return s;
  std::string text;
  if (a.kind == "text") {
    std::ifstream f(a.text, std::ios::binary);
    if (!f) return Status::error(a.text + ": cannot read");
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
    if (text.empty()) return Status::error(a.text + ": empty");
  }
  const DType dt = a.dtype == "f64" ? DType::f64 : DType::f32;
  std::stringstream seeds(a.seeds);
  std::string tok;
  while (std::getline(seeds, tok, ',')) {
    const uint64_t seed = std::stoull(tok);
    Result<std::unique_ptr<Model>> made = create_model(cfg, seed, dt);
    if (!made) return made.status();
    const Model& model = **made;
    std::vector<int32_t> ids(size_t(a.tokens));
    Rng rng(1000 + seed);
    if (a.kind == "bytes") {
      for (int32_t& id : ids) id = int32_t(rng.below(256));
    } else {
      const size_t off = size_t(rng.below(uint64_t(text.size())));
      for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((unsigned char)text[(off + i) % text.size()]);
    }
    auto g = std::make_unique<Graph>();
    ModelState st;
    int64_t first_bad = -1;
    std::string error;
    std::map<int64_t, std::pair<double, double>> ws;
    const int64_t V = cfg.vocab_size;
    for (int64_t t0 = 0; t0 < a.tokens && first_bad < 0; t0 += a.piece) {
      const int64_t n = std::min(a.piece, a.tokens - t0);
      if (t0 > 0) {
        auto next = std::make_unique<Graph>();
        st = copy_state(*next, st);
        g = std::move(next);
      }
      NoGradScope ng(*g);
      Result<Tensor> y = model.forward(*g, ids_tensor(*g, ids, 1, a.tokens, t0, t0 + n), &st);
      if (!y) {
        error = y.message();
        const size_t p = error.rfind("position ");
        // The memory's stream position counts the N_p persistent tokens first (MODELS.md item 4;
        // not in MAC, whose memory writes Y only).
        const int64_t n_p = cfg.arch == "titans_mac" ? 0 : cfg.n_persistent;
        first_bad = p == std::string::npos ? t0 : std::stoll(error.substr(p + 9)) - n_p;
        break;
      }
      const std::vector<double> v = tensor_values(*y);
      for (int64_t i = 0; i < n && first_bad < 0; ++i)
        for (int64_t j = 0; j < V; ++j)
          if (!std::isfinite(v[size_t(i * V + j)])) {
            first_bad = t0 + i;
            error = "non-finite logit";
            break;
          }
      const int64_t done = t0 + n;
      if ((done & (done - 1)) == 0 || done == a.tokens) {
        double wm = 0, sm = 0;
        for (const LayerState& ls : st.layers) {
          for (const Tensor& w : ls.memory.w) wm = std::max(wm, max_head_norm(w));
          for (const Tensor& s : ls.memory.s) sm = std::max(sm, max_head_norm(s));
        }
        ws[done] = {wm, sm};
      }
    }
    std::string wjson;
    for (const auto& [t, p] : ws)
      wjson += fmt::format("{}\"{}\": [{:.4g}, {:.4g}]", wjson.empty() ? "" : ", ", t, p.first, p.second);
    std::string err_json;
    for (char c : error) err_json += c == '"' ? '\'' : c;
    fmt::print("{{\"config\": \"{}\", \"sets\": \"{}\", \"kind\": \"{}\", \"seed\": {}, \"tokens\": {}, "
               "\"dtype\": \"{}\", \"first_nonfinite\": {}, \"error\": \"{}\", \"W_S\": {{{}}}}}\n",
               a.config, fmt::join(a.sets, " "), a.kind, seed, a.tokens, a.dtype,
               first_bad < 0 ? std::string("null") : std::to_string(first_bad), err_json, wjson);
    std::fflush(stdout);
  }
  return {};
}

}  // namespace
}  // namespace titans

int main(int argc, char** argv) {
  titans::Args a;
  CLI::App app{"stability probe of a freshly initialised model"};
  app.add_option("config", a.config, "preset name or config file")->required();
  app.add_option("--seeds", a.seeds, "comma-separated seeds");
  app.add_option("--tokens", a.tokens, "tokens to stream");
  app.add_option("--piece", a.piece, "tokens per forward call");
  app.add_option("--kind", a.kind, "bytes | text");
  app.add_option("--text", a.text, "text file for --kind text");
  app.add_option("--dtype", a.dtype, "f32 | f64");
  app.add_option("--set", a.sets, "memory.FIELD=VALUE overrides");
  CLI11_PARSE(app, argc, argv);
  const titans::Status s = titans::probe(a);
  if (!s) {
    fmt::print(stderr, "stability_probe: {}\n", s.message());
    return 2;
  }
  return 0;
}
