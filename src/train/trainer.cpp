#include "train/trainer.h"

#include <fmt/format.h>
#include <omp.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/atomic_file.h"
#include "models/model_file.h"
#include "ops/ops.h"
#include "train/param_groups.h"

namespace titans {

namespace fs = std::filesystem;
using nlohmann::json;

// The training stream and the validation set are two streams of the same task with seeds that
// differ from each other and from the initialisation's: data::example_seed already decorrelates
// nearby seeds, the constants only keep the three uses apart.
uint64_t train_stream_seed(uint64_t seed) { return Rng(seed ^ 0x747261696e000000ull).next_u64(); }       // "train"
uint64_t validation_stream_seed(uint64_t seed) { return Rng(seed ^ 0x76616c6964000000ull).next_u64(); }  // "valid"

namespace {

// A batch of examples [first, first + n) of a stream, without moving its position.
Result<data::Batch> batch_at(const data::ExampleSampler& s, int64_t first, int64_t n) {
  data::Batch b;
  b.batch = n;
  b.length = s.length();
  for (int64_t i = first; i < first + n; ++i) {
    Result<data::Example> ex = s.at(i);
    if (!ex) return ex.status();
    b.tokens.insert(b.tokens.end(), ex->tokens.begin(), ex->tokens.end());
    b.targets.insert(b.targets.end(), ex->targets.begin(), ex->targets.end());
  }
  return b;
}

double scalar_value(const Tensor& t) {
  return t.dtype == DType::f64 ? *t.ptr<double>() : double(*t.ptr<float>());
}

// The run's log keeps only what the checkpoint we resume from had seen: records of later steps
// belong to the interrupted tail that is about to be recomputed.
Status truncate_log(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return {};  // no log yet
  std::string kept, line;
  while (std::getline(in, line)) {
    try {
      if (json::parse(line).at("step").get<int64_t>() > step) continue;
    } catch (const std::exception&) {
      continue;  // a line cut short by the kill
    }
    kept += line + "\n";
  }
  const io::ByteRange body[] = {{kept.data(), kept.size()}};
  return io::write_file_atomically(path, body);
}

}  // namespace

Trainer::Trainer(std::unique_ptr<Model> model, const TrainOptions& options, std::string out_dir,
                 data::ExampleSampler train, data::ExampleSampler validation)
    : model_(std::move(model)),
      opts_(options),
      out_dir_(std::move(out_dir)),
      train_(std::move(train)),
      validation_(std::move(validation)),
      opt_(model_->params(), AdamWConfig{options.beta1, options.beta2, options.eps, options.weight_decay, options.clip}),
      rng_(options.seed ^ 0x726e670000000000ull) {}  // "rng"

Trainer::~Trainer() {
  if (log_) std::fclose(log_);
}

std::string Trainer::checkpoint_dir() const { return out_dir_.empty() ? "" : out_dir_ + "/checkpoints"; }

Result<std::unique_ptr<Trainer>> Trainer::build(std::unique_ptr<Model> model, const TrainOptions& o,
                                                const std::string& out_dir, const data::TaskContext& train,
                                                const data::TaskContext& validation) {
  if (Status s = o.validate(); !s) return s;
  Result<data::TaskSpec> spec = data::parse_task(o.task);
  if (!spec) return spec.status();
  data::TaskContext tc = train, vc = validation;
  tc.params = vc.params = o.task_params;
  Result<data::ExampleSampler> ts = data::ExampleSampler::create(*spec, tc, o.seq, train_stream_seed(o.seed));
  if (!ts) return ts.status();
  Result<data::ExampleSampler> vs = data::ExampleSampler::create(*spec, vc, o.seq, validation_stream_seed(o.seed));
  if (!vs) return vs.status();
  // A token the embedding cannot look up would fail deep inside the first forward; say why here.
  const int64_t vocab = model->config().vocab_size;
  Result<data::Example> probe = ts->at(0);
  if (!probe) return probe.status();
  for (int32_t t : probe->tokens)
    if (t >= vocab)
      return Status::error(fmt::format("task {} uses token {} but the model's vocab_size is {}{}", o.task, t, vocab,
                                       o.task == "mqar" ? " (--mqar-vocab must not exceed it)" : ""));
  apply_param_groups(model->params(), model->config());
  std::unique_ptr<Trainer> t(new Trainer(std::move(model), o, out_dir, std::move(ts.value()), std::move(vs.value())));
  for (int64_t i = 0; i < o.eval_batches; ++i) {
    Result<data::Batch> b = batch_at(t->validation_, i * o.batch, o.batch);
    if (!b) return b.status();
    t->validation_set_.push_back(std::move(b.value()));
  }
  return t;
}

Status Trainer::open_log(bool append) {
  if (out_dir_.empty()) return {};
  const std::string path = out_dir_ + "/log.jsonl";
  log_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!log_) return Status::error(fmt::format("{}: cannot write the log: {}", path, std::strerror(errno)));
  return {};
}

void Trainer::log(const json& record) {
  if (!log_) return;
  const std::string line = record.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), log_);
  std::fflush(log_);
}

Result<std::unique_ptr<Trainer>> Trainer::create(std::unique_ptr<Model> model, const TrainOptions& o,
                                                 const std::string& out_dir, const data::TaskContext& train,
                                                 const data::TaskContext& validation) {
  if (!out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(out_dir + "/checkpoints", ec);
    if (ec) return Status::error(fmt::format("{}: cannot create the output folder: {}", out_dir, ec.message()));
    if (!marked_steps(out_dir + "/checkpoints").empty())
      return Status::error(out_dir + " already holds checkpoints of a run: --resume continues it, or choose another --out");
  }
  Result<std::unique_ptr<Trainer>> t = build(std::move(model), o, out_dir, train, validation);
  if (!t) return t;
  if (Status s = (*t)->open_log(false); !s) return s;
  return t;
}

Result<std::unique_ptr<Trainer>> Trainer::resume(Checkpoint ckpt, const TrainOptions& o, const std::string& out_dir,
                                                 const data::TaskContext& train, const data::TaskContext& validation) {
  if (Status s = check_resumable(ckpt.options, o); !s) return Status::error(ckpt.path + ": " + s.message());
  if (o.steps < ckpt.state.step)
    return Status::error(fmt::format("{}: the checkpoint is at step {}, beyond --steps {}", ckpt.path,
                                     ckpt.state.step, o.steps));
  Result<std::unique_ptr<Model>> model = create_model(ckpt.config, o.seed);
  if (!model) return Status::error(ckpt.path + ": " + model.message());
  Result<std::unique_ptr<Trainer>> made = build(std::move(model.value()), o, out_dir, train, validation);
  if (!made) return made;
  Trainer& t = **made;
  if (Status s = restore_checkpoint(ckpt, *t.model_, t.opt_); !s) return s;
  t.rng_.set_state(ckpt.state.rng);
  if (Status s = t.train_.restore(ckpt.state.data); !s) return s;
  t.step_ = t.last_checkpoint_ = ckpt.state.step;
  if (!out_dir.empty()) {
    if (Status s = truncate_log(out_dir + "/log.jsonl", t.step_); !s) return s;
    if (Status s = t.open_log(true); !s) return s;
  }
  return made;
}

Result<Tensor> Trainer::batch_loss(const data::Batch& b, Tensor* logits_out) {
  graph_.reset();
  const Tensor ids = wrap(const_cast<int32_t*>(b.tokens.data()), Shape{b.batch, b.length}, DType::i32);
  const Tensor targets = wrap(const_cast<int32_t*>(b.targets.data()), Shape{b.batch * b.length}, DType::i32);
  Result<Tensor> logits = model_->forward(graph_, ids, nullptr);
  if (!logits) return logits.status();
  const int64_t V = model_->config().vocab_size;
  const Tensor flat = ops::reshape(graph_, ops::contiguous(graph_, *logits), Shape{b.batch * b.length, V});
  if (logits_out) *logits_out = flat;
  return ops::cross_entropy(graph_, flat, targets);
}

namespace {

// θ/θ_max below which the write penalty stops pushing (1M tokens at the floor add up to a tenth of
// one full write).
constexpr double kWriteGateFloor = 1e-7;

struct WritePenalty {
  Tensor term;       // λ · mean softplus(z − z_floor), the loss term
  double mean_gate;  // mean θ/θ_max = σ(z), for the log
};

// The write penalty (docs/TRAINING.md "Writing little") over the gate pre-activations the memory
// layers recorded: softplus(z − z_floor) ≈ the gate's log-odds above the floor, so every write gate
// is pushed towards the floor at the same rate, however small it already is (a penalty on θ itself
// fades with θ), unless the loss needs the write.
Result<WritePenalty> write_penalty(Graph& g, double lambda) {
  const std::vector<Tensor>& zs = g.write_gate_logits();
  if (zs.empty()) return Status::error("--write-penalty: the model has no neural memory");
  const double z_floor = std::log(kWriteGateFloor / (1 - kWriteGateFloor));
  Tensor total;
  double gate_sum = 0;
  int64_t count = 0;
  for (const Tensor& z : zs) {
    Tensor floor = g.new_tensor(Shape{1}, z.dtype, false);
    dispatch_float(z.dtype, [&](auto zero) {
      using T = decltype(zero);
      floor.ptr<T>()[0] = T(z_floor);
      const T* p = z.ptr<T>();
      for (int64_t i = 0; i < z.numel(); ++i) gate_sum += 1 / (1 + std::exp(-double(p[i])));
    });
    count += z.numel();
    // softplus(z − z_floor) = −log σ(z_floor − z), summed here and divided by the count below.
    const Tensor sp = ops::scale(g, ops::log(g, ops::sigmoid(g, ops::sub(g, floor, z))), -1.0);
    const Tensor s = ops::sum(g, ops::reshape(g, sp, Shape{sp.numel()}), 0);
    total = total.data ? ops::add(g, total, s) : s;
  }
  return WritePenalty{ops::scale(g, total, lambda / double(count)), gate_sum / double(count)};
}

}  // namespace

Result<StepReport> Trainer::step() {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n = step_ + 1;
  model_->params().zero_grad();
  // Each micro-batch's mean loss is backpropagated with weight 1/accum, so the accumulated
  // gradient is that of the mean over the step's micro-batches.
  const double weight = 1.0 / double(opts_.accum);
  const float weight_f32 = float(weight);
  const void* seed = model_->params().dtype() == DType::f64 ? static_cast<const void*>(&weight)
                                                             : static_cast<const void*>(&weight_f32);
  double loss = 0, write_gate = 0;
  const bool penalty = opts_.write_penalty > 0;
  for (int64_t micro = 0; micro < opts_.accum; ++micro) {
    Result<data::Batch> b = train_.next_batch(opts_.batch);
    if (!b) return b.status();
    graph_.set_collect_write_gates(penalty);
    Result<Tensor> l = batch_loss(*b, nullptr);
    graph_.set_collect_write_gates(false);
    if (!l) return Status::error(fmt::format("step {}: {}", n, l.message()));
    const double value = scalar_value(*l);
    if (!std::isfinite(value))  // a NaN's sign bit means nothing: "nan", never "-nan"
      return Status::error(
          fmt::format("step {}: the loss is {}; training stopped{}", n,
                      std::isnan(value) ? std::abs(value) : value,
                      last_checkpoint_ >= 0
                          ? fmt::format(" (the checkpoint of step {} is intact)", last_checkpoint_)
                          : ""));
    loss += value * weight;
    Tensor objective = *l;
    if (penalty) {
      Result<WritePenalty> wp = write_penalty(graph_, opts_.write_penalty);
      if (!wp) return wp.status();
      write_gate += wp->mean_gate * weight;
      objective = ops::add(graph_, objective, wp->term);
    }
    graph_.backward(objective, seed);
  }
  const double norm = global_grad_norm(model_->params());
  if (!std::isfinite(norm))
    return Status::error(fmt::format("step {}: the gradient norm is {}; training stopped", n, norm));
  const LrSchedule schedule{opts_.lr, opts_.min_lr_ratio, opts_.warmup, opts_.steps};
  const double lr = learning_rate(schedule, n);
  opt_.step(lr);
  step_ = n;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run_seconds_ += seconds;
  ++run_steps_;
  const double tokens = double(run_steps_ * opts_.batch * opts_.accum * opts_.seq);
  return StepReport{n, opts_.steps, loss, lr, norm, seconds, tokens / std::max(run_seconds_, 1e-9),
                    double(opts_.steps - n) * run_seconds_ / double(run_steps_), penalty ? write_gate : -1.0};
}

Result<EvalReport> Trainer::evaluate() {
  NoGradScope no_grad(graph_);
  EvalReport r{step_, 0, 0, 0};
  int64_t correct = 0;
  double loss_sum = 0;
  const int64_t V = model_->config().vocab_size;
  for (const data::Batch& b : validation_set_) {
    Tensor logits;
    Result<Tensor> l = batch_loss(b, &logits);
    if (!l) return Status::error(fmt::format("evaluation at step {}: {}", step_, l.message()));
    int64_t count = 0;
    dispatch_float(logits.dtype, [&](auto zero) {
      using T = decltype(zero);
      for (int64_t i = 0; i < b.batch * b.length; ++i) {
        const int32_t target = b.targets[size_t(i)];
        if (target < 0) continue;
        const T* row = logits.ptr<T>() + i * V;
        int64_t best = 0;
        for (int64_t v = 1; v < V; ++v)
          if (row[v] > row[best]) best = v;
        correct += best == target;
        ++count;
      }
    });
    loss_sum += scalar_value(*l) * double(count);  // cross_entropy is the mean over the targets
    r.targets += count;
  }
  if (r.targets > 0) {
    r.loss = loss_sum / double(r.targets);
    r.accuracy = double(correct) / double(r.targets);
  }
  return r;
}

Status Trainer::save_checkpoint() {
  if (out_dir_.empty()) return {};
  TrainState st;
  st.step = step_;
  rng_.get_state(st.rng);
  st.data = train_.position();
  st.threads = omp_get_max_threads();
  if (Status s = write_checkpoint(checkpoint_dir(), *model_, opt_, st, opts_); !s) return s;
  last_checkpoint_ = step_;
  return prune_checkpoints(checkpoint_dir(), opts_.keep);
}

Status Trainer::evaluate_and_report(const TrainCallbacks& cb) {
  Result<EvalReport> e = evaluate();
  if (!e) return e.status();
  log({{"step", e->step}, {"eval_loss", e->loss}, {"eval_accuracy", e->accuracy}, {"eval_targets", e->targets}});
  if (cb.on_eval) cb.on_eval(*e);
  return {};
}

Status Trainer::finish(const TrainCallbacks& cb) {
  if (Status s = evaluate_and_report(cb); !s) return s;
  if (out_dir_.empty()) return {};
  if (last_checkpoint_ != step_)
    if (Status s = save_checkpoint(); !s) return s;
  const std::string path = out_dir_ + "/model.safetensors";
  if (Status s = save_model(path, *model_); !s) return s;
  if (cb.on_note) cb.on_note(path + ": the final model (step " + std::to_string(step_) + ")");
  return {};
}

Status Trainer::run(const TrainCallbacks& cb, std::optional<int64_t> until) {
  const int64_t end = std::min(until.value_or(opts_.steps), opts_.steps);
  while (step_ < end) {
    Result<StepReport> r = step();
    if (!r) return r.status();
    nlohmann::json line = {{"step", r->step}, {"loss", r->loss}, {"lr", r->lr}, {"grad_norm", r->grad_norm},
                           {"tokens_per_s", r->tokens_per_s}};
    if (r->write_gate >= 0) line["write_gate"] = r->write_gate;
    log(line);
    if (cb.on_step) cb.on_step(*r);
    if (step_ == opts_.steps) break;  // the final evaluation and checkpoint follow
    if (opts_.eval_every > 0 && step_ % opts_.eval_every == 0)
      if (Status s = evaluate_and_report(cb); !s) return s;
    if (opts_.ckpt_every > 0 && step_ % opts_.ckpt_every == 0 && !out_dir_.empty()) {
      if (Status s = save_checkpoint(); !s) return s;
      if (cb.on_note) cb.on_note(checkpoint_file(checkpoint_dir(), step_) + ": checkpoint");
    }
  }
  if (step_ == opts_.steps) return finish(cb);
  return {};
}

}  // namespace titans
