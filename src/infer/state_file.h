// Memory-state snapshots (docs/FORMAT.md, "Memory-state snapshots"): a model's complete streaming
// state (ModelState, architectures.md §10) and the logits of the last token fed, in ONE safetensors
// file, so that a stream can stop and go on later, in another process, exactly where it was:
//
//   save_state("s.safetensors", model, streamer.state(), streamer.last_logits());
//   ...
//   Graph g;
//   std::vector<float> last;
//   Result<ModelState> st = load_state("s.safetensors", model, g, &last);
//   Streamer s(model);
//   s.set_state(*st);  // then s.feed(...) continues the stream
//
// Every tensor is stored bit for bit in the model's dtype, so a continued stream computes exactly
// what the uninterrupted one would have. A snapshot only loads into the model that made it
// (model_hash) and is refused, with one line naming the file and the problem, when it is damaged.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "infer/streamer.h"
#include "models/model.h"

namespace titans {

inline constexpr const char* kStateFormatName = "titans.cpp-state";
inline constexpr const char* kStateFormatVersion = "1";

// Writes `state` (made by `model`; it may be empty: position 0) and `last_logits` (float32
// [batch, vocab], or empty) to `path` atomically: the old file survives any failure.
Status save_state(const std::string& path, const Model& model, const ModelState& state,
                  std::span<const float> last_logits = {});

// Reads a snapshot made by `model` into g's arena. `last_logits` (nullable) receives the stored
// logits of the last token fed (empty if the file has none). Refused: not a snapshot, another
// format_version, architecture or model (hash), a missing or unexpected tensor, a shape that does
// not fit the model's config or the position, a non-finite value.
Result<ModelState> load_state(const std::string& path, const Model& model, Graph& g,
                              std::vector<float>* last_logits = nullptr);

// load_state, then s.set_state: `s` continues the snapshot's stream (its position goes on). Returns
// the snapshot's last logits (empty if it has none). Errors name the file.
Result<std::vector<float>> restore_state(const std::string& path, Streamer& s);

// (name, tensor) for every tensor a snapshot of `state` holds, last_logits aside (tests/docs).
std::vector<std::pair<std::string, Tensor>> state_tensors(const ModelState& state);

}  // namespace titans
