// Streamer (infer/streamer.h): pieces through a work graph, the state alternating between two
// graphs.
#include "infer/streamer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "util/parallel.h"

namespace titans {

struct Streamer::Impl {
  const Model* model = nullptr;
  int64_t batch = 1, piece = Streamer::kDefaultPiece;
  // work: the piece's forward; state[cur]: the state's home; state[1 - cur]: the next home.
  std::unique_ptr<Graph> work, state[2];
  int cur = 0;
  ModelState st;
  std::vector<float> last;  // [batch, vocab]
  std::vector<float> f32;   // logits converted from a float64 model (tests)

  Impl(const Model& m, int64_t b, int64_t p)
      : model(&m), batch(b), piece(p > 0 ? p : Streamer::kDefaultPiece) {
    work = std::make_unique<Graph>();
    state[0] = std::make_unique<Graph>();
    state[1] = std::make_unique<Graph>();
  }

  // Moves `s` (whose tensors may live in `work` or the current state graph) into the other state
  // graph, which becomes current; the old one is reset.
  void adopt(const ModelState& s) {
    const int next = 1 - cur;
    state[next]->reset();
    st = copy_state(*state[next], s);
    state[cur]->reset();
    cur = next;
  }
};

Streamer::Streamer(const Model& model, int64_t batch, int64_t piece)
    : impl_(std::make_unique<Impl>(model, batch, piece)) {
  TITANS_CHECK(batch >= 1, "Streamer: batch must be >= 1");
}
Streamer::Streamer(Streamer&&) noexcept = default;
Streamer& Streamer::operator=(Streamer&&) noexcept = default;
Streamer::~Streamer() = default;

Status Streamer::feed(std::span<const int32_t> ids, const PieceFn& on_piece) {
  Impl& m = *impl_;
  const int64_t B = m.batch;
  if (int64_t(ids.size()) % B != 0)
    return Status::error("Streamer::feed: " + std::to_string(ids.size()) +
                         " ids do not split into " + std::to_string(B) + " rows");
  const int64_t n_all = int64_t(ids.size()) / B;
  const int64_t V = m.model->config().vocab_size;
  for (int64_t t0 = 0; t0 < n_all; t0 += m.piece) {
    const int64_t n = std::min(m.piece, n_all - t0);
    m.work->reset();
    NoGradScope no_grad(*m.work);
    Tensor in = m.work->new_tensor(Shape{B, n}, DType::i32, false);
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(in.ptr<int32_t>() + b * n, ids.data() + b * n_all + t0,
                  size_t(n) * sizeof(int32_t));
    ModelState next = m.st;  // forward replaces it; on error m.st stays as it was
    Result<Tensor> logits = m.model->forward(*m.work, in, &next);
    if (!logits) return logits.status();
    const float* lp = nullptr;
    if (logits->dtype == DType::f32) {
      lp = logits->ptr<float>();
    } else {
      m.f32.resize(size_t(B * n * V));
      const double* d = logits->ptr<double>();
      for (size_t i = 0; i < m.f32.size(); ++i) m.f32[i] = float(d[i]);
      lp = m.f32.data();
    }
    m.last.resize(size_t(B * V));
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(m.last.data() + b * V, lp + (b * n + n - 1) * V, size_t(V) * sizeof(float));
    if (on_piece) on_piece(lp, n, m.st.pos);
    m.adopt(next);
  }
  return {};
}

std::span<const float> Streamer::last_logits() const { return impl_->last; }

Streamer Streamer::fork() const {
  Streamer s(*impl_->model, impl_->batch, impl_->piece);
  if (impl_->st.started()) s.impl_->adopt(impl_->st);
  s.impl_->st.pos = impl_->st.pos;
  s.impl_->last = impl_->last;
  return s;
}

void Streamer::reset() {
  Impl& m = *impl_;
  m.st = ModelState{};
  m.last.clear();
  m.work->reset();
  m.state[0]->reset();
  m.state[1]->reset();
}

int64_t Streamer::position() const { return impl_->st.pos; }
int64_t Streamer::batch() const { return impl_->batch; }
const Model& Streamer::model() const { return *impl_->model; }
const ModelState& Streamer::state() const { return impl_->st; }

Status Streamer::set_state(const ModelState& st) {
  if (st.started() && st.batch != impl_->batch)
    return Status::error("the state is for batch " + std::to_string(st.batch) +
                         ", the stream has batch " + std::to_string(impl_->batch));
  impl_->adopt(st);
  impl_->st.pos = st.pos;
  impl_->st.batch = st.batch;
  impl_->last.clear();
  return {};
}

}  // namespace titans
