// model_dump: one forward + backward of a model written to ONE safetensors file, for the PyTorch
// cross-check (reference/models.py reads it, rebuilds the model from the parameters and compares).
//
//   model_dump ARCH OUT.safetensors [--config C] [--dtype f64|f32] [--seed S] [--batch B] [--seq T]
//
// Builds the tiny preset of ARCH (configs/ARCH-tiny.json; --config takes any preset name or config
// file instead) in the dump's dtype (default f64) with parameters initialised from seed S, draws
// random ids [B, T] (default 2 × 40: several segments, windows and memory chunks of the tiny
// presets) and a fixed random R [B, T, V] ~ N(0, 1), runs logits = model(ids) from an empty state,
// and backpropagates L = Σ logits ⊙ R (so grad.* = ∂L/∂θ).
//
// File contents (docs/FORMAT.md container; every float tensor in the dump's dtype, F64 or F32):
//   metadata  "format": "titans.cpp", "format_version": "1", "config": the model config JSON,
//             "dump": "model_dump", "seed": S, "dtype": "f64" | "f32"
//   param.<name>  every parameter, its docs/FORMAT.md name and shape (e.g. param.layers.0.attn.w_q)
//   grad.<name>   ∂L/∂ that parameter, same shape
//   ids           I32 [B, T]
//   r             [B, T, V]
//   logits        [B, T, V]
// Exit code 0 on success; 2 with one line on stderr otherwise (e.g. an architecture not
// implemented yet).
#include <CLI/CLI.hpp>
#include <fmt/format.h>


#include "io/safetensors.h"
#include "models/model.h"
#include "models/model_config.h"

namespace titans {
namespace {

struct DumpArgs {
  std::string arch, out, config, dtype = "f64";
  uint64_t seed = 1;
  int64_t batch = 2, seq = 40;
};

Status dump(const DumpArgs& a) {
  Result<ModelConfig> cfg = resolve_config(a.config.empty() ? a.arch + "-tiny" : a.config);
  if (!cfg) return cfg.status();
  const DType dt = a.dtype == "f32" ? DType::f32 : DType::f64;
  Result<std::unique_ptr<Model>> made = create_model(*cfg, a.seed, dt);
  if (!made) return made.status();
  Model& model = **made;
  const int64_t B = a.batch, T = a.seq, V = cfg->vocab_size;

  Graph g;
  const Tensor ids = g.new_tensor(Shape{B, T}, DType::i32, false);
  Rng rng_ids(a.seed + 1), rng_r(a.seed + 2);
  for (int64_t i = 0; i < B * T; ++i) ids.ptr<int32_t>()[i] = int32_t(rng_ids.below(uint64_t(V)));
  const Tensor r = g.new_tensor(Shape{B, T, V}, dt, false);
  std::vector<double> r64(size_t(B * T * V));
  for (double& e : r64) e = rng_r.normal();
  dispatch_float(dt, [&](auto zero) {
    for (size_t i = 0; i < r64.size(); ++i) r.ptr<decltype(zero)>()[i] = decltype(zero)(r64[i]);
  });

  model.params().zero_grad();
  Result<Tensor> logits = model.forward(g, ids, nullptr);
  if (!logits) return logits.status();
  g.backward(*logits, r.data);  // seed = R: the gradient of Σ logits ⊙ R

  std::vector<io::TensorToWrite> tensors = {io::tensor_to_write("ids", ids), io::tensor_to_write("r", r),
                                            io::tensor_to_write("logits", *logits)};
  for (const Parameter& p : model.params().params()) {
    tensors.push_back(io::tensor_to_write("param." + p.name, p.tensor));
    Tensor grad = p.tensor;
    grad.data = p.tensor.grad;
    tensors.push_back(io::tensor_to_write("grad." + p.name, grad));
  }
  return io::write_safetensors(a.out, tensors,
                               {{io::kConfigKey, config_to_json(*cfg)},
                                {"dump", "model_dump"},
                                {"seed", std::to_string(a.seed)},
                                {"dtype", a.dtype}});
}

}  // namespace
}  // namespace titans

int main(int argc, char** argv) {
  titans::DumpArgs a;
  CLI::App app{"model_dump: forward + backward of a model, for the PyTorch cross-check"};
  app.add_option("arch", a.arch, "architecture (its tiny preset is used)")->required();
  app.add_option("out", a.out, "the .safetensors file to write")->required();
  app.add_option("--config", a.config, "a preset name or config file instead of ARCH-tiny");
  app.add_option("--dtype", a.dtype, "f64 or f32")->check(CLI::IsMember({"f64", "f32"}))->capture_default_str();
  app.add_option("--seed", a.seed, "parameters, ids and R")->capture_default_str();
  app.add_option("--batch", a.batch, "sequences")->check(CLI::Range(int64_t(1), int64_t(1024)))->capture_default_str();
  app.add_option("--seq", a.seq, "tokens per sequence")->check(CLI::Range(int64_t(1), int64_t(1) << 20))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const titans::Status s = titans::dump(a);
  if (!s) {
    fmt::print(stderr, "model_dump: error: {}\n", s.message());
    return 2;
  }
  fmt::print("{}: {} ({}), ids [{}, {}]\n", a.out, a.config.empty() ? a.arch + "-tiny" : a.config, a.dtype, a.batch, a.seq);
  return 0;
}
