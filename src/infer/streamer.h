// Streamer: feeds a token stream of any length through a model in pieces, carrying the model's
// streaming state (architectures.md §10) from piece to piece, with no gradient. Memory stays
// bounded for every architecture with a bounded state: each piece runs in a work graph that is
// reset before the next, and the state is copied into one of two alternating state graphs (the copy
// is the size of the state, not of the piece). After the first pieces the arenas stop growing, so
// the steady state allocates nothing.
//
//   Streamer s(model);              // batch 1, pieces of the default size
//   s.feed(ids);                    // any length; the same result as one model.forward call
//   auto logits = s.last_logits();  // [batch, vocab] of the last token fed
//   Streamer fork = s.fork();       // an independent copy of the state (shared prefixes)
#pragma once

#include <functional>
#include <memory>
#include <span>

#include "models/model.h"

namespace titans {

class Streamer {
 public:
  // Called once per piece with that piece's logits, float32 row-major [batch, n, vocab], and the
  // stream position of the piece's first token. The pointer is valid during the call only.
  using PieceFn = std::function<void(const float* logits, int64_t n, int64_t pos0)>;

  // `piece`: tokens per forward call (0 = kDefaultPiece). `model` must outlive the Streamer.
  explicit Streamer(const Model& model, int64_t batch = 1, int64_t piece = 0);
  Streamer(Streamer&&) noexcept;
  Streamer& operator=(Streamer&&) noexcept;
  ~Streamer();

  static constexpr int64_t kDefaultPiece = 2048;

  // Feeds ids, row-major [batch, n] (n = ids.size() / batch), in pieces; `on_piece` (optional)
  // sees every piece's logits. Errors (a token outside the vocabulary, a non-finite value in a
  // memory) leave the state as it was before the piece that failed; the position says where.
  Status feed(std::span<const int32_t> ids, const PieceFn& on_piece = {});

  // The logits of the last token fed, float32 [batch, vocab]; empty before the first feed.
  std::span<const float> last_logits() const;

  // An independent Streamer with a copy of this one's state and last logits.
  Streamer fork() const;

  // Forgets everything: the next feed starts a new sequence.
  void reset();

  int64_t position() const;  // tokens fed so far (per batch row)
  int64_t batch() const;
  const Model& model() const;

  // The current state (tensors owned by the Streamer; valid until the next feed / set_state /
  // reset).
  const ModelState& state() const;
  // Replaces the state with a copy of `st` (e.g. one read from a snapshot file); st.batch must
  // equal batch(). The last logits are cleared.
  Status set_state(const ModelState& st);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace titans
