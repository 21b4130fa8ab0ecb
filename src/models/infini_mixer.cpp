#include "models/infini_mixer.h"

#include "ops/ops.h"

namespace titans {

namespace {

constexpr double kMinNormaliser = 1e-6;  // max(σ(Q) z, 1e-6): architectures.md §8

// σ(u) = ELU(u) + 1 > 0: the kernel feature map of linear attention (Katharopoulos et al. 2020).
Tensor feature_map(Graph& g, const Tensor& x) {
  return ops::add(g, ops::elu(g, x), constant(g, 1.0, x.dtype));
}

// max(x, lo) elementwise (the gradient is 0 where lo was taken, as torch.clamp). x contiguous.
Tensor clamp_min(Graph& g, const Tensor& x, double lo) {
  const Tensor below = g.new_tensor(x.shape, DType::i32, false);
  dispatch_float(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < x.numel(); ++i) below.ptr<int32_t>()[i] = x.ptr<T>()[i] < T(lo) ? 1 : 0;
  });
  return ops::masked_fill(g, x, below, lo);
}

// f [B, H, n, d_h] (features) read through M [B, H, d_h, d_h], z [B, H, d_h]:
// f M / max(f z, 1e-6) → [B, H, n, d_h].
Tensor memory_read(Graph& g, const Tensor& f, const Tensor& M, const Tensor& z) {
  const Tensor z_col = ops::reshape(g, z, Shape{z.shape[0], z.shape[1], z.shape[2], 1});
  const Tensor den = clamp_min(g, ops::matmul(g, f, z_col), kMinNormaliser);
  return ops::div(g, ops::matmul(g, f, M), den);
}

}  // namespace

InfiniMixer::InfiniMixer(const ModelConfig& cfg, ParamStore& store, Rng& rng,
                         const std::string& prefix)
    : p_(add_attention_params(cfg, store, rng, prefix)),
      beta_(store.add(prefix + "beta", Shape{cfg.n_heads},
                      {.decay = false, .lr_mult = cfg.beta_lr_mult})),
      segment_(cfg.segment),
      update_(cfg.infini_update),
      bptt_segments_(cfg.infini_bptt_segments) {}

Result<Tensor> InfiniMixer::forward(Graph& g, const Tensor& n, int64_t pos0, LayerState& st) const {
  const int64_t B = n.shape[0], T = n.shape[1], H = p_.n_heads, dh = p_.head_dim;
  if (st.infini_m.ndim() == 0) {  // a new sequence: M = 0, z = 0
    st.infini_m = g.zeros(Shape{B, H, dh, dh}, n.dtype, false);
    st.infini_z = g.zeros(Shape{B, H, dh}, n.dtype, false);
  }
  const Tensor q = project_heads(g, p_, p_.w_q, n);
  const Tensor k = project_heads(g, p_, p_.w_k, n);
  const Tensor v = project_heads(g, p_, p_.w_v, n);
  std::vector<Tensor> outs;  // [B, t, H, d_h] per segment piece
  for (int64_t t = 0; t < T;) {
    const int64_t pos = pos0 + t, seg = pos / segment_, seg_end = (seg + 1) * segment_;
    const int64_t t1 = std::min(T, t + (seg_end - pos));
    const Tensor a = segment_piece(g, ops::slice(g, q, 1, t, t1), ops::slice(g, k, 1, t, t1),
                                   ops::slice(g, v, 1, t, t1), pos, st);
    outs.push_back(a);
    if (pos0 + t1 == seg_end) write_memory(g, st, seg);
    t = t1;
  }
  return merge_heads(g, p_, ops::concat_all(g, outs, 1));
}

Tensor InfiniMixer::segment_piece(Graph& g, const Tensor& q, const Tensor& k, const Tensor& v,
                                  int64_t pos, LayerState& st) const {
  // Local attention within the segment: keys = the segment's earlier tokens + these.
  const Tensor k_seq = concat_tokens(g, st.k, rope_heads(g, p_, k, pos));
  const Tensor v_seq = concat_tokens(g, st.v, v);
  ops::AttentionMask mask;
  mask.q_pos0 = k_seq.shape[1] - q.shape[1];
  const Tensor a_dot = ops::attention(g, rope_heads(g, p_, q, pos), k_seq, v_seq, mask, p_.scale());

  // Memory read with the state of the previous segments (un-rotated Q: no RoPE on this path).
  const Tensor f_q = feature_map(g, ops::transpose(g, q, 1, 2));  // [B, H, n, d_h]
  const Tensor a_mem = ops::transpose(g, memory_read(g, f_q, st.infini_m, st.infini_z), 1, 2);

  const Tensor gate = ops::sigmoid(g, ops::reshape(g, beta_, Shape{p_.n_heads, 1}));  // per head
  st.k = k_seq;
  st.v = v_seq;
  st.k_raw = concat_tokens(g, st.k_raw, k);
  return ops::add(g, a_dot, ops::mul(g, gate, ops::sub(g, a_mem, a_dot)));
}

void InfiniMixer::write_memory(Graph& g, LayerState& st, int64_t segment_index) const {
  const Tensor f_k = feature_map(g, ops::transpose(g, st.k_raw, 1, 2));  // σ(K) [B, H, C, d_h]
  Tensor values = ops::transpose(g, st.v, 1, 2);                         // V [B, H, C, d_h]
  if (update_ == InfiniUpdate::delta)  // write only what the memory does not already return
    values = ops::sub(g, values, memory_read(g, f_k, st.infini_m, st.infini_z));
  Tensor M = ops::add(g, st.infini_m, ops::matmul(g, ops::transpose(g, f_k, 2, 3), values));
  Tensor z = ops::add(g, st.infini_z, ops::sum(g, f_k, 2));
  if (bptt_segments_ > 0 && (segment_index + 1) % bptt_segments_ == 0) {  // truncated BPTT
    M = M.detach();
    z = z.detach();
  }
  st.infini_m = M;
  st.infini_z = z;
  st.k = st.v = st.k_raw = Tensor{};
}

}  // namespace titans
