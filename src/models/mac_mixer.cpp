#include "models/mac_mixer.h"

#include <algorithm>
#include <string>
#include <vector>

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

MacMixer::MacMixer(const ModelConfig& cfg, const NeuralMemoryConfig& mem_cfg, int layer, ParamStore& store,
                   Rng& rng)
    : persistent_(add_persistent(cfg, layer, store, rng)),
      attn_(AttentionWeights::add(cfg, "layers." + std::to_string(layer) + ".attn.", store, rng)),
      memory_(mem_cfg, store, rng, "layers." + std::to_string(layer) + ".memory."),
      gate_(cfg, layer, store, rng),
      segment_(cfg.segment) {}

Result<Tensor> MacMixer::forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st_io) const {
  const int64_t B = n.shape[0], T = n.shape[1];
  const NeuralMemoryConfig& mc = memory_.config();
  LayerState st = st_io;  // committed only when every segment succeeded
  if (rows(st.q_tail) != mc.conv_kernel - 1 || st.q_tail.ndim() != 3)  // the sequence start: zeros
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
  Tensor out = outs[0];
  for (size_t i = 1; i < outs.size(); ++i) out = ops::concat(g, {out, outs[i]}, 1);
  return out;
}

Result<Tensor> MacMixer::segment_piece(Graph& g, const Tensor& n_s, int64_t pos, int64_t seen,
                                       LayerState& st) const {
  const int64_t B = n_s.shape[0];
  const int64_t K = memory_.config().conv_kernel;
  // Eq. 21: h = M*_{s−1}(q(n_s)); the read stream's conv history continues across calls and segments,
  // so its tail is the last K−1 rows of [tail | Linear(n_s, w_q)] (read_only does not return it).
  Result<Tensor> h = memory_.read_only(g, n_s, &st.memory_segment_start, &st.q_tail);
  if (!h.ok()) return h;
  if (K > 1) st.q_tail = last_rows(g, ops::concat(g, {st.q_tail, linear(g, n_s, memory_.params().w_q)}, 1), K - 1);

  // Eq. 22–23: keys/values [P | h | n_s] (h_j and n_j rotated at token j's global position, P not),
  // queries n_s; the segment's earlier h and n rows come from the state.
  const Tensor q = attn_.rotated(g, n_s, attn_.w_q, pos);
  st.k_mem = append_rows(g, st.k_mem, attn_.rotated(g, *h, attn_.w_k, pos));
  st.v_mem = append_rows(g, st.v_mem, attn_.heads(g, *h, attn_.w_v));
  st.k = append_rows(g, st.k, attn_.rotated(g, n_s, attn_.w_k, pos));
  st.v = append_rows(g, st.v, attn_.heads(g, n_s, attn_.w_v));
  Tensor k = ops::concat(g, {st.k_mem, st.k}, 1), v = ops::concat(g, {st.v_mem, st.v}, 1);
  if (persistent_.ndim() == 2) {
    k = ops::concat(g, {attn_.persistent_heads(g, persistent_, attn_.w_k, B), k}, 1);
    v = ops::concat(g, {attn_.persistent_heads(g, persistent_, attn_.w_v, B), v}, 1);
  }
  const int64_t n_p = persistent_.ndim() == 2 ? persistent_.shape[0] : 0;
  const Tensor y = attn_.output(g, ops::attention(g, q, k, v, mac_attention_mask(n_p, seen), attn_.scale()));

  // Eq. 24: the memory learns from the attention output (keys, values, gates from Y) and is read with
  // it; P does not enter the memory (MODELS.md item 8).
  Result<Tensor> m = memory_.forward(g, y, &st.memory);
  if (!m.ok()) return m;
  return gate_.forward(g, y, *m);  // Eq. 25
}

}  // namespace titans
