// The attention op's test table: every mask shape of AttentionMask against a naive float64
// reference that scores every (query, key) pair, decides visibility from the mask's definition
// with explicit loops, and takes a plain softmax (no tiles, no online rescaling).
#include <cmath>
#include <limits>
#include <string>

#include "ops/attention_kernel.h"
#include "ops/ops.h"

namespace titans::ops {

namespace {

// How a test case hands q, k, v to the op.
enum class Layout {
  plain,       // three inputs [B, T, H, d]
  transposed,  // three inputs [B, H, T, d], transposed to [B, T, H, d] (strided rows)
  projection,  // one input [B, T, 3, H, d] (a fused qkv projection), q/k/v are views into it
  last_axis,   // three inputs [B, T, d, H], transposed: the head axis itself strided
};

struct Case {
  std::string label;
  int64_t B, Tq, Tk, H, d;
  AttentionMask mask;
  Layout layout = Layout::plain;
};

// Element (b, t, h, c) of input `which` (0 q, 1 k, 2 v) as the case's layout stores it on the host.
double host_at(const Case& cs, const std::vector<HostArray>& in, int which, int64_t b, int64_t t,
               int64_t h, int64_t c) {
  const int64_t T = which == 0 ? cs.Tq : cs.Tk, H = cs.H, d = cs.d;
  switch (cs.layout) {
    case Layout::plain: return in[size_t(which)].v[size_t(((b * T + t) * H + h) * d + c)];
    case Layout::transposed: return in[size_t(which)].v[size_t(((b * H + h) * T + t) * d + c)];
    case Layout::projection: return in[0].v[size_t((((b * T + t) * 3 + which) * H + h) * d + c)];
    case Layout::last_axis: return in[size_t(which)].v[size_t(((b * T + t) * d + c) * H + h)];
  }
  return 0;
}

// Query i sees key kk: written from the definition in attention.h.
bool visible(const AttentionMask& m, int64_t Tk, int64_t i, int64_t kk) {
  if (kk < m.n_prefix || !m.causal) return true;
  const int64_t block_len = (Tk - m.n_prefix) / m.n_blocks;
  const int64_t key_pos = m.k_pos0 + (kk - m.n_prefix) % block_len;
  const int64_t query_pos = m.q_pos0 + i;
  return key_pos <= query_pos && (m.window == 0 || query_pos - key_pos < m.window);
}

HostArray reference_attention(const Case& cs, const std::vector<HostArray>& in, double scale) {
  HostArray out{Shape{cs.B, cs.Tq, cs.H, cs.d}, std::vector<double>(size_t(cs.B * cs.Tq * cs.H * cs.d))};
  std::vector<double> s(size_t(cs.Tk));
  for (int64_t b = 0; b < cs.B; ++b)
    for (int64_t h = 0; h < cs.H; ++h)
      for (int64_t i = 0; i < cs.Tq; ++i) {
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t kk = 0; kk < cs.Tk; ++kk) {
          if (!visible(cs.mask, cs.Tk, i, kk)) continue;
          double dot = 0;
          for (int64_t c = 0; c < cs.d; ++c)
            dot += host_at(cs, in, 0, b, i, h, c) * host_at(cs, in, 1, b, kk, h, c);
          s[size_t(kk)] = scale * dot;
          mx = std::max(mx, s[size_t(kk)]);
        }
        if (mx == -std::numeric_limits<double>::infinity()) continue;  // no visible key: zeros
        double total = 0;
        for (int64_t kk = 0; kk < cs.Tk; ++kk)
          if (visible(cs.mask, cs.Tk, i, kk)) total += std::exp(s[size_t(kk)] - mx);
        for (int64_t c = 0; c < cs.d; ++c) {
          double acc = 0;
          for (int64_t kk = 0; kk < cs.Tk; ++kk)
            if (visible(cs.mask, cs.Tk, i, kk))
              acc += std::exp(s[size_t(kk)] - mx) / total * host_at(cs, in, 2, b, kk, h, c);
          out.v[size_t(((b * cs.Tq + i) * cs.H + h) * cs.d + c)] = acc;
        }
      }
  return out;
}

OpTest make_case(const Case& cs) {
  const double scale = 1.0 / std::sqrt(double(cs.d));
  OpTest t;
  t.label = cs.label;
  const int64_t B = cs.B, H = cs.H, d = cs.d;
  auto shape = [&](int64_t T) {
    switch (cs.layout) {
      case Layout::transposed: return Shape{B, H, T, d};
      case Layout::last_axis: return Shape{B, T, d, H};
      default: return Shape{B, T, H, d};
    }
  };
  if (cs.layout == Layout::projection)
    t.inputs = {InputSpec::normal(Shape{B, cs.Tq, 3, H, d})};
  else
    t.inputs = {InputSpec::normal(shape(cs.Tq)), InputSpec::normal(shape(cs.Tk)),
                InputSpec::normal(shape(cs.Tk))};
  t.run = [cs, scale](Graph& g, const std::vector<Tensor>& in) {
    if (cs.layout == Layout::projection) {
      const int64_t T = cs.Tq, H = cs.H, d = cs.d;
      const Strides st{{T * 3 * H * d, 3 * H * d, d, 1}};
      const Shape s{cs.B, T, H, d};
      return attention(g, in[0].view(s, st, 0), in[0].view(s, st, H * d),
                       in[0].view(s, st, 2 * H * d), cs.mask, scale);
    }
    auto arrange = [&](const Tensor& x) {
      if (cs.layout == Layout::transposed) return transpose(g, x, 1, 2);
      if (cs.layout == Layout::last_axis) return transpose(g, x, 2, 3);
      return x;
    };
    return attention(g, arrange(in[0]), arrange(in[1]), arrange(in[2]), cs.mask, scale);
  };
  t.reference = [cs, scale](const std::vector<HostArray>& in) {
    return reference_attention(cs, in, scale);
  };
  return t;
}

AttentionMask causal(int64_t window = 0) {
  AttentionMask m;
  m.window = window;
  return m;
}

}  // namespace

std::vector<OpTest> AttentionOp::tests() {
  AttentionMask prefix = causal(4);
  prefix.n_prefix = 3;
  AttentionMask mac;  // keys [P | h | X_s]
  mac.n_prefix = 2;
  mac.n_blocks = 2;
  AttentionMask mac_long = mac;
  mac_long.n_prefix = 70;  // two prefix tiles, then two blocks of 70 keys (two tiles each)
  AttentionMask cache;
  cache.q_pos0 = 7;
  AttentionMask cache_window = causal(30);
  cache_window.q_pos0 = 100;  // queries at 100…119 see keys ≥ 71: the first key tile is skipped
  AttentionMask full;
  full.causal = false;
  AttentionMask late_keys;  // keys at positions 3…: queries 0…2 see none
  late_keys.k_pos0 = 3;
  AttentionMask none = causal(2);
  none.q_pos0 = 10;  // keys at 0…5, queries at 10…: nothing within the window
  const Case cases[] = {
      {"causal [1,9,9,2,8]", 1, 9, 9, 2, 8, causal()},
      {"causal two blocks each way [1,70,70,1,8]", 1, 70, 70, 1, 8, causal()},
      {"window 1 [1,11,11,2,8]", 1, 11, 11, 2, 8, causal(1)},
      {"window 5 odd T, d 12 [2,13,13,1,12]", 2, 13, 13, 1, 12, causal(5)},
      {"window 40 three blocks, tiles skipped [1,150,150,1,4]", 1, 150, 150, 1, 4, causal(40)},
      {"prefix 3 window 4 [1,10,13,2,8]", 1, 10, 13, 2, 8, prefix},
      {"MAC prefix 2, 2 blocks [1,7,16,2,8]", 1, 7, 16, 2, 8, mac},
      {"MAC prefix 70, 2 blocks of 70 [1,70,210,1,4]", 1, 70, 210, 1, 4, mac_long},
      {"KV cache q_pos0 7 [1,5,12,2,16]", 1, 5, 12, 2, 16, cache},
      {"KV cache q_pos0 100 window 30 [1,20,120,1,8]", 1, 20, 120, 1, 8, cache_window},
      {"non-causal Tq != Tk [2,6,11,2,8]", 2, 6, 11, 2, 8, full},
      {"transposed window 4 [2,10,10,3,8]", 2, 10, 10, 3, 8, causal(4), Layout::transposed},
      {"qkv projection slices [1,9,9,2,8]", 1, 9, 9, 2, 8, causal(), Layout::projection},
      {"strided head axis [1,7,7,2,8]", 1, 7, 7, 2, 8, causal(3), Layout::last_axis},
      {"rows without a visible key [1,6,6,1,8]", 1, 6, 6, 1, 8, late_keys},
      {"no row sees a key [1,4,6,1,8]", 1, 4, 6, 1, 8, none},
      {"d 16 [1,17,17,1,16]", 1, 17, 17, 1, 16, causal()},
      {"d 32 window 7 [1,20,20,1,32]", 1, 20, 20, 1, 32, causal(7)},
      {"d 64 [1,5,5,1,64]", 1, 5, 5, 1, 64, causal()},
      {"d 100 window 2 [1,4,4,1,100]", 1, 4, 4, 1, 100, causal(2)},
      {"d 256 [1,3,3,1,256]", 1, 3, 3, 1, 256, causal()},
  };
  std::vector<OpTest> t;
  for (const Case& c : cases) t.push_back(make_case(c));
  return t;
}

}  // namespace titans::ops
