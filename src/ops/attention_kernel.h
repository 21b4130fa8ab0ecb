// Internals shared by the attention forward (attention.cpp), backward (attention_backward.cpp) and
// test table (attention_tests.cpp): the op's record, the tiling of queries and keys, and which
// tiles the mask hides.
//
// Tiles: queries in blocks of kBq rows, keys in tiles of at most kBk keys that never straddle a
// segment of the key layout [prefix | block_0 | … | block_{n−1}], so that a tile's keys have
// consecutive positions and a query row sees a contiguous range of them. Score tiles are held
// transposed, Sᵀ[key][query]: a query's running max and sum are then vector lanes, and the
// softmax over keys is a vertical (element-wise) reduction across rows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "autodiff/op_registry.h"
#include "ops/attention.h"

namespace titans::ops {

struct AttentionOp {
  static constexpr const char* name = "attention";
  struct Attrs {
    AttentionMask mask;
    double scale;
    const void* lse;  // [B·H, Tq padded to kBq] per-row logsumexp (+inf: no visible key), arena
  };
  static void backward(Graph& g, const OpRecord& r);  // attention_backward.cpp
  static std::vector<OpTest> tests();                 // attention_tests.cpp
};

namespace attn {

constexpr int64_t kBq = 64;  // query rows per block: the lanes of four zmm registers
constexpr int64_t kBk = 64;  // keys per tile

enum class Visibility { none, partial, full };

struct KeyTile {
  int64_t k0;    // first key (index into the key axis)
  int64_t nk;    // keys in the tile, 1 … kBk
  int64_t r0;    // position of the first key (block keys; unused when always_visible)
  bool always_visible;  // a prefix key, or no causal mask
};

// Shapes, strides and mask of one call. Strides are in elements; the last one is 1 (attention()
// makes a copy otherwise).
struct Geometry {
  int64_t B = 0, Tq = 0, Tk = 0, H = 0, d = 0;
  int64_t nqb = 0;     // query blocks
  int64_t tq_pad = 0;  // nqb · kBq
  int64_t block_len = 0;           // keys per block of the layout
  int64_t prefix_tiles = 0, tiles_per_block = 0, key_tiles = 0;
  AttentionMask mask;
  double scale = 1;

  Geometry(const Shape& q, const Shape& k, const AttentionMask& m, double s)
      : B(q[0]), Tq(q[1]), Tk(k[1]), H(q[2]), d(q[3]), mask(m), scale(s) {
    nqb = (Tq + kBq - 1) / kBq;
    tq_pad = nqb * kBq;
    block_len = (Tk - m.n_prefix) / m.n_blocks;
    prefix_tiles = (m.n_prefix + kBk - 1) / kBk;
    tiles_per_block = (block_len + kBk - 1) / kBk;
    key_tiles = prefix_tiles + m.n_blocks * tiles_per_block;
  }

  KeyTile key_tile(int64_t t) const {
    if (t < prefix_tiles) {
      const int64_t k0 = t * kBk;
      return {k0, std::min(kBk, mask.n_prefix - k0), 0, true};
    }
    const int64_t bt = t - prefix_tiles, blk = bt / tiles_per_block;
    const int64_t j0 = (bt % tiles_per_block) * kBk;
    return {mask.n_prefix + blk * block_len + j0, std::min(kBk, block_len - j0),
            mask.k_pos0 + j0, !mask.causal};
  }

  // Whether queries [i0, i0 + nr) see none, all or some of the tile's keys. A query at position p
  // sees key position r iff r ≤ p and p − r < window (§ AttentionMask); both bounds are monotone
  // in p, so the corners of the tile decide.
  Visibility classify(int64_t i0, int64_t nr, const KeyTile& t) const {
    if (t.always_visible) return Visibility::full;
    const int64_t p0 = mask.q_pos0 + i0, p1 = p0 + nr - 1, r1 = t.r0 + t.nk - 1;
    const int64_t w = mask.window;
    if (t.r0 > p1 || (w > 0 && p0 - r1 >= w)) return Visibility::none;
    if (r1 <= p0 && (w == 0 || p1 - t.r0 < w)) return Visibility::full;
    return Visibility::partial;
  }

  // Calls f(t) for the key tiles that queries [i0, i0 + nr) may see, in order: every prefix tile,
  // then in each block the tiles that meet the positions [p0 − window + 1, p1] (a superset of the
  // visible ones; classify decides). Saves visiting every tile of a long sequence.
  template <class F>
  void for_each_key_tile(int64_t i0, int64_t nr, F&& f) const {
    for (int64_t t = 0; t < prefix_tiles; ++t) f(t);
    int64_t lt0 = 0, lt1 = tiles_per_block;
    if (mask.causal) {
      const int64_t p0 = mask.q_pos0 + i0, p1 = p0 + nr - 1;
      const int64_t jhi = p1 - mask.k_pos0, jlo = mask.window > 0 ? p0 - mask.window + 1 - mask.k_pos0 : 0;
      lt1 = jhi < 0 ? 0 : std::min(tiles_per_block, jhi / kBk + 1);
      lt0 = jlo > 0 ? jlo / kBk : 0;
    }
    for (int64_t blk = 0; blk < mask.n_blocks; ++blk)
      for (int64_t lt = lt0; lt < lt1; ++lt) f(prefix_tiles + blk * tiles_per_block + lt);
  }

  // The query blocks [first, second) that may see key tile t (a superset; classify decides).
  std::pair<int64_t, int64_t> query_blocks(const KeyTile& t) const {
    if (t.always_visible) return {0, nqb};
    const int64_t ilo = t.r0 - mask.q_pos0;
    const int64_t ihi = mask.window > 0 ? t.r0 + t.nk - 1 + mask.window - 1 - mask.q_pos0 : Tq - 1;
    if (ihi < 0 || ilo > Tq - 1) return {0, 0};
    return {std::max<int64_t>(0, ilo) / kBq, std::min(Tq - 1, ihi) / kBq + 1};
  }

  // Sets the hidden entries of a transposed score tile St[nk][kBq] (queries from i0) to −inf:
  // key position r is seen by local query columns [r − q_pos0 − i0, … + window − 1].
  template <class T>
  void apply_mask(int64_t i0, const KeyTile& t, T* st) const {
    const T ninf = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < t.nk; ++j) {
      const int64_t lo = t.r0 + j - mask.q_pos0 - i0;
      const int64_t hi = mask.window > 0 ? lo + mask.window - 1 : kBq;
      T* row = st + j * kBq;
#pragma omp simd
      for (int64_t i = 0; i < kBq; ++i)
        if (i < lo || i > hi) row[i] = ninf;
    }
  }
};

// dst[c][i] = src row i, element c (rows at stride rs) for i < nr; 0 for nr ≤ i < kBq: a block of
// queries (or of their output gradients) transposed, the vector operand of Sᵀ = K Qᵀ.
template <class T>
void transpose_block(const T* src, int64_t rs, int64_t nr, int64_t d, T* dst) {
  for (int64_t i = 0; i < nr; ++i) {
    const T* row = src + i * rs;
    for (int64_t c = 0; c < d; ++c) dst[c * kBq + i] = row[c];
  }
  if (nr < kBq)
    for (int64_t c = 0; c < d; ++c) std::fill(dst + c * kBq + nr, dst + (c + 1) * kBq, T(0));
}

// Rows of a [B, T, H, d] tensor: row (bh, t) at base + b·sb + h·sh + t·st.
template <class T>
struct Rows {
  T* base;
  int64_t sb, st, sh;
  int64_t H;
  Rows(T* p, const Tensor& x) : base(p), sb(x.strides[0]), st(x.strides[1]), sh(x.strides[2]), H(x.shape[2]) {}
  T* head(int64_t bh) const { return base + (bh / H) * sb + (bh % H) * sh; }
};

// Threads the kernels split work over: the OpenMP team parallel_for would start, or 1 when the
// call is too small to pay for a parallel region (`flops` of tile products) or none can start.
int attention_threads(double flops);

}  // namespace attn
}  // namespace titans::ops
