#include "train/toy_trainer.h"

#include <chrono>
#include <cmath>

#include "ops/ops.h"

namespace titans {

Result<std::unique_ptr<ToyTrainer>> ToyTrainer::create(std::string text, const ToyTrainConfig& c) {
  if (int64_t(text.size()) < c.model.context + 1)
    return Status::error("toy training text has " + std::to_string(text.size()) +
                         " bytes; it needs at least context + 1 = " +
                         std::to_string(c.model.context + 1));
  if (c.batch < 1 || c.steps < 0 || c.model.context < 1)
    return Status::error("toy training needs batch >= 1, steps >= 0 and context >= 1");
  return std::unique_ptr<ToyTrainer>(new ToyTrainer(std::move(text), c));
}

ToyTrainer::ToyTrainer(std::string text, const ToyTrainConfig& c)
    : cfg_(c),
      text_(std::move(text)),
      rng_(c.seed),
      model_(c.model, params_, rng_),
      opt_(params_, c.adamw),
      ids_(size_t(c.batch * c.model.context)),
      targets_(size_t(c.batch)) {}

void ToyTrainer::sample_batch() {
  const int64_t ctx = cfg_.model.context;
  const uint64_t positions = uint64_t(int64_t(text_.size()) - ctx);
  for (int64_t b = 0; b < cfg_.batch; ++b) {
    const int64_t start = int64_t(rng_.below(positions));
    for (int64_t k = 0; k < ctx; ++k)
      ids_[size_t(b * ctx + k)] = int32_t(static_cast<unsigned char>(text_[size_t(start + k)]));
    targets_[size_t(b)] = int32_t(static_cast<unsigned char>(text_[size_t(start + ctx)]));
  }
}

double ToyTrainer::learning_rate(int64_t step) const {
  // Linear warm-up, then cosine decay to a tenth of the peak.
  if (step <= cfg_.warmup) return cfg_.lr * double(step) / double(std::max<int64_t>(1, cfg_.warmup));
  const double progress = double(step - cfg_.warmup) / double(std::max<int64_t>(1, cfg_.steps - cfg_.warmup));
  return cfg_.lr * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * std::min(1.0, progress))));
}

double ToyTrainer::step() {
  const auto t0 = std::chrono::steady_clock::now();
  sample_batch();
  graph_.reset();
  params_.zero_grad();
  const Tensor ids = wrap(ids_.data(), Shape{cfg_.batch, cfg_.model.context}, DType::i32);
  const Tensor targets = wrap(targets_.data(), Shape{cfg_.batch}, DType::i32);
  const Tensor loss = ops::cross_entropy(graph_, model_.forward(graph_, ids), targets);
  graph_.backward(loss);
  const int64_t n = opt_.steps() + 1;
  const double lr = learning_rate(n);
  const double norm = opt_.step(lr);
  const double value = double(loss.ptr<float>()[0]);
  last_ = ToyStepReport{n, value, norm, lr,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                        n * cfg_.batch};
  return value;
}

double ToyTrainer::evaluate(int64_t batches) {
  double total = 0;
  NoGradScope no_grad(graph_);
  for (int64_t i = 0; i < batches; ++i) {
    sample_batch();
    graph_.reset();
    const Tensor ids = wrap(ids_.data(), Shape{cfg_.batch, cfg_.model.context}, DType::i32);
    const Tensor targets = wrap(targets_.data(), Shape{cfg_.batch}, DType::i32);
    total += double(ops::cross_entropy(graph_, model_.forward(graph_, ids), targets).ptr<float>()[0]);
  }
  return total / double(std::max<int64_t>(1, batches));
}

std::vector<double> train_toy(ToyTrainer& trainer, int64_t steps,
                              const std::function<void(const ToyStepReport&)>& on_step) {
  std::vector<double> losses;
  losses.reserve(size_t(steps));
  for (int64_t i = 0; i < steps; ++i) {
    losses.push_back(trainer.step());
    if (on_step) on_step(trainer.last());
  }
  return losses;
}

const std::string& toy_corpus() {
  static const std::string text =
      "In the beginning God created the heaven and the earth. And the earth was without form, and "
      "void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face "
      "of the waters. And God said, Let there be light: and there was light. And God saw the light, "
      "that it was good: and God divided the light from the darkness. And God called the light Day, "
      "and the darkness he called Night. And the evening and the morning were the first day.\n"
      "And God said, Let there be a firmament in the midst of the waters, and let it divide the "
      "waters from the waters. And God made the firmament, and divided the waters which were under "
      "the firmament from the waters which were above the firmament: and it was so. And God called "
      "the firmament Heaven. And the evening and the morning were the second day.\n"
      "And God said, Let the waters under the heaven be gathered together unto one place, and let "
      "the dry land appear: and it was so. And God called the dry land Earth; and the gathering "
      "together of the waters called he Seas: and God saw that it was good. And God said, Let the "
      "earth bring forth grass, the herb yielding seed, and the fruit tree yielding fruit after his "
      "kind, whose seed is in itself, upon the earth: and it was so. And the earth brought forth "
      "grass, and herb yielding seed after his kind, and the tree yielding fruit, whose seed was in "
      "itself, after his kind: and God saw that it was good. And the evening and the morning were "
      "the third day.\n";
  return text;
}

}  // namespace titans
