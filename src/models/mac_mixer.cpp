#include "models/mac_mixer.h"

#include <algorithm>
#include <vector>

#include "models/titans_common.h"
#include "ops/ops.h"

namespace titans {

ops::AttentionMask mac_attention_mask(int64_t n_persistent, int64_t seen) {
  ops::AttentionMask m;
  m.n_prefix = n_persistent;
  m.n_blocks = 2;   // [h | n]: key j of either block sits at segment-local position j
  m.q_pos0 = seen;  // query i is the segment's token seen + i
  m.k_pos0 = 0;
  m.causal = true;  // h_j, n_j visible iff j ≤ i
  return m;
}

MacMixer::MacMixer(const ModelConfig& cfg, const NeuralMemoryConfig& mem_cfg, int layer,
                   ParamStore& store, Rng& rng)
    : persistent_(add_persistent(cfg, layer, store, rng)),
      attn_(add_attention_params(cfg, store, rng, layer_name(layer, "attn."))),
      memory_(mem_cfg, store, rng, layer_name(layer, "memory.")),
      gate_(cfg, layer, store, rng),
      segment_(cfg.segment) {}

Result<Tensor> MacMixer::forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st_io) const {
  const int64_t B = n.shape[0], T = n.shape[1];
  const NeuralMemoryConfig& mc = memory_.config();
  LayerState st = st_io;      // committed only when every segment succeeded
  if (st.q_tail.ndim() != 3)  // the sequence start: no history, zeros (as before the first token)
    st.q_tail = g.zeros(Shape{B, mc.conv_kernel - 1, mc.inner_dim()}, n.dtype, false);
  std::vector<Tensor> outs;
  for (int64_t t = 0; t < T;) {
    const int64_t pos = pos0 + t, seen = pos % segment_, len = std::min(T - t, segment_ - seen);
    if (seen == 0) {
      // Segment boundary: M_{s−1} is the memory after every earlier token (Eq. 21); the previous
      // segment's keys/values leave the context. MemoryState holds immutable arena tensors, so a
      // copy of the handles is a copy of the state.
      st.memory_segment_start = st.memory;
      st.k = st.v = st.k_mem = st.v_mem = Tensor{};
    }
    Result<Tensor> o = segment_piece(g, ops::slice(g, n, 1, t, t + len), pos, seen, st);
    if (!o.ok()) return o;
    outs.push_back(*o);
    t += len;
  }
  st_io = st;
  if (outs.empty()) return g.zeros(Shape{B, 0, n.shape[2]}, n.dtype, false);
  return ops::concat_all(g, outs, 1);
}

Result<Tensor> MacMixer::segment_piece(Graph& g, const Tensor& n_s, int64_t pos, int64_t seen,
                                       LayerState& st) const {
  const int64_t B = n_s.shape[0];
  const int64_t K = memory_.config().conv_kernel;
  // Eq. 21: h = M*_{s−1}(q(n_s)); the read stream's conv history continues across calls and
  // segments, so its tail is the last K−1 rows of [tail | Linear(n_s, w_q)] (read_only does not
  // return it).
  Result<Tensor> h = memory_.read_only(g, n_s, &st.memory_segment_start, &st.q_tail);
  if (!h.ok()) return h;
  if (K > 1)
    st.q_tail =
        last_rows(g, ops::concat(g, {st.q_tail, linear(g, n_s, memory_.params().w_q)}, 1), K - 1);

  // Eq. 22–23: keys/values [P | h | n_s] (h_j and n_j rotated at token j's global position, P not),
  // queries n_s; the segment's earlier h and n rows come from the state.
  const auto rotated = [&](const Tensor& x, const Tensor& w) {
    return rope_heads(g, attn_, project_heads(g, attn_, w, x), pos);
  };
  const Tensor q = rotated(n_s, attn_.w_q);
  st.k_mem = concat_tokens(g, st.k_mem, rotated(*h, attn_.w_k));
  st.v_mem = concat_tokens(g, st.v_mem, project_heads(g, attn_, attn_.w_v, *h));
  st.k = concat_tokens(g, st.k, rotated(n_s, attn_.w_k));
  st.v = concat_tokens(g, st.v, project_heads(g, attn_, attn_.w_v, n_s));
  Tensor k = ops::concat(g, {st.k_mem, st.k}, 1), v = ops::concat(g, {st.v_mem, st.v}, 1);
  const int64_t n_p = persistent_rows(persistent_);
  if (n_p > 0) {
    const auto [pk, pv] = prefix_kv(g, attn_, persistent_, B);
    k = ops::concat(g, {pk, k}, 1);
    v = ops::concat(g, {pv, v}, 1);
  }
  const Tensor y = merge_heads(
      g, attn_, ops::attention(g, q, k, v, mac_attention_mask(n_p, seen), attn_.scale()));

  // Eq. 24: the memory learns from the attention output (keys, values, gates from Y) and is read
  // with it; P does not enter the memory (MODELS.md item 8).
  Result<Tensor> m = memory_.forward(g, y, &st.memory);
  if (!m.ok()) return m;
  return gate_.forward(g, y, *m);  // Eq. 25
}

}  // namespace titans
