// embedding: rows of a table [V, D] gathered by i32 ids [...] into [..., D]. The backward
// scatter-adds the output gradient into the table's gradient; repeated ids make that a reduction,
// kept deterministic by summing every element over the ids in order (threads split the columns).
#include <algorithm>
#include <cstring>

#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "ops/reference.h"
#include "util/parallel.h"

namespace titans::ops {

namespace {
constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save
}  // namespace

struct EmbeddingOp {
  static constexpr const char* name = "embedding";

  static Tensor forward(Graph& g, const Tensor& table, Tensor ids) {
    TITANS_CHECK(table.ndim() == 2, "embedding: table must be [V, D]");
    TITANS_CHECK(table.dtype == DType::f32 || table.dtype == DType::f64, "embedding: float table");
    TITANS_CHECK(ids.dtype == DType::i32, "embedding: ids must be i32");
    TITANS_CHECK(ids.ndim() < kMaxDims, "embedding: too many id dimensions");
    ids = contiguous(g, ids);  // i32: a plain copy, nothing recorded
    const int64_t V = table.shape[0], D = table.shape[1], N = ids.numel();
    Shape shape = ids.shape;
    shape.d[shape.ndim++] = D;
    const bool grad = g.needs_grad({&table});
    Tensor out = g.new_tensor(shape, table.dtype, grad);
    const int32_t* id = ids.ptr<int32_t>();
    dispatch_float(table.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* pt = table.ptr<T>();
      T* o = out.ptr<T>();
      const int64_t rs = table.strides[0], cs = table.strides[1];
      parallel_for(N, N * D >= kParallelMin, [=](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
          // Ids were validated by the data layer; a bad one here is an engine bug.
          TITANS_CHECK(id[n] >= 0 && id[n] < V, "embedding: id out of range");
          const T* src = pt + id[n] * rs;
          T* dst = o + n * D;
          if (cs == 1) {
            std::memcpy(dst, src, size_t(D) * sizeof(T));
          } else {
            for (int64_t j = 0; j < D; ++j) dst[j] = src[j * cs];
          }
        }
      });
    });
    if (grad) g.record<EmbeddingOp>(out, {table, ids});
    return out;
  }

  // gtable[ids[n], j0:j1] += gout[n, j0:j1] for every n in order.
  template <class T>
  static void scatter_columns(const OpRecord& r, int64_t j0, int64_t j1) {
    const Tensor& table = r.in[0];
    const int32_t* id = r.in[1].ptr<int32_t>();
    const int64_t N = r.in[1].numel(), D = table.shape[1];
    const int64_t rs = table.strides[0], cs = table.strides[1];
    T* gt = table.gptr<T>();
    const T* go = r.out.gptr<T>();
    for (int64_t n = 0; n < N; ++n) {
      T* dst = gt + id[n] * rs;
      const T* src = go + n * D;
      if (cs == 1) {
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) dst[j] += src[j];
      } else {
        for (int64_t j = j0; j < j1; ++j) dst[j * cs] += src[j];
      }
    }
  }

  static void backward(Graph&, const OpRecord& r) {
    const Tensor& table = r.in[0];
    if (!table.grad) return;
    const int64_t N = r.in[1].numel(), D = table.shape[1];
    dispatch_float(table.dtype, [&](auto zero) {
      using T = decltype(zero);
      // Each thread owns a band of 16-column blocks (whole cache lines): no two threads touch one
      // element, and each element's sum runs over the ids in the same order as the serial path.
      const int64_t blocks = (D + 15) / 16;
      parallel_for(blocks, N * D >= kParallelMin, [=, &r](int64_t b0, int64_t b1) {
        const int64_t j0 = std::min(D, b0 * 16), j1 = std::min(D, b1 * 16);
        if (j0 < j1) scatter_columns<T>(r, j0, j1);
      });
    });
  }

  static std::vector<OpTest> tests();
};

namespace {

// out[..., j] = table[ids[...], j], the table given as a host array (already transposed/sliced).
HostArray reference_embedding(const HostArray& table, const HostArray& ids) {
  const int64_t D = table.shape[1];
  HostArray out{ids.shape, {}};
  out.shape.d[out.shape.ndim++] = D;
  for (int64_t n = 0; n < ids.numel(); ++n) {
    const int64_t row = int64_t(ids.v[size_t(n)]);
    for (int64_t j = 0; j < D; ++j) out.v.push_back(table.v[size_t(row * D + j)]);
  }
  return out;
}

OpTest embedding_case(const char* label, Shape table, Shape ids, int64_t V) {
  OpTest c;
  c.label = label;
  c.inputs = {InputSpec::normal(table), InputSpec::index(ids, V)};
  c.run = [](Graph& g, const std::vector<Tensor>& in) { return embedding(g, in[0], in[1]); };
  c.reference = [](const std::vector<HostArray>& in) { return reference_embedding(in[0], in[1]); };
  return c;
}

}  // namespace

std::vector<OpTest> EmbeddingOp::tests() {
  std::vector<OpTest> t;
  t.push_back(embedding_case("[7,5] ids [2,3]", Shape{7, 5}, Shape{2, 3}, 7));
  // Ten draws from three rows: repeated ids, so the backward must accumulate.
  t.push_back(embedding_case("[3,4] ids [10] (repeats)", Shape{3, 4}, Shape{10}, 3));
  t.push_back(embedding_case("[5,3] ids []", Shape{5, 3}, Shape{}, 5));

  OpTest tr;  // a transposed table: columns not contiguous
  tr.label = "transpose([6,9]) ids [2,3]";
  tr.inputs = {InputSpec::normal(Shape{6, 9}), InputSpec::index(Shape{2, 3}, 9)};
  tr.run = [](Graph& g, const std::vector<Tensor>& in) {
    return embedding(g, transpose(g, in[0], 0, 1), in[1]);
  };
  tr.reference = [](const std::vector<HostArray>& in) {
    return reference_embedding(reference_transpose2d(in[0]), in[1]);
  };
  t.push_back(std::move(tr));

  OpTest sl;  // a column slice: rows contiguous but with a longer row stride
  sl.label = "[8,6][:,1:5] ids transpose([3,4])";
  sl.inputs = {InputSpec::normal(Shape{8, 6}), InputSpec::index(Shape{3, 4}, 8)};
  sl.run = [](Graph& g, const std::vector<Tensor>& in) {
    return embedding(g, slice(g, in[0], 1, 1, 5), transpose(g, in[1], 0, 1));
  };
  sl.reference = [](const std::vector<HostArray>& in) {
    HostArray table{Shape{8, 4}, {}};
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t j = 1; j < 5; ++j) table.v.push_back(in[0].v[size_t(i * 6 + j)]);
    return reference_embedding(table, reference_transpose2d(in[1]));
  };
  t.push_back(std::move(sl));
  return t;
}

Tensor embedding(Graph& g, const Tensor& table, const Tensor& ids) {
  return EmbeddingOp::forward(g, table, ids);
}

Status register_embedding_op(OpRegistry& r) { return r.add<EmbeddingOp>(); }

}  // namespace titans::ops
