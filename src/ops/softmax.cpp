// Softmax over the last axis, and the fused cross-entropy loss (log-softmax, target pick and mean
// in one pass over the logits; the backward recomputes the softmax from a saved per-row logsumexp).
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "autodiff/op_registry.h"
#include "ops/op_groups.h"
#include "ops/ops.h"
#include "ops/reference.h"
#include "ops/vmath.h"
#include "util/parallel.h"

namespace titans::ops {

namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save

template <class T>
T row_max(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

template <class T>
T row_logsumexp(const T* x, int64_t n) {
  const T m = row_max(x, n);
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) s += vmath::exp(x[j] - m);
  return m + std::log(s);
}

// A scalar of `like`'s dtype (test cases use it to offset logits).
Tensor constant(Graph& g, const Tensor& like, double value) {
  Tensor c = g.new_tensor(Shape{}, like.dtype, false);
  dispatch_float(like.dtype, [&](auto zero) { *c.ptr<decltype(zero)>() = decltype(zero)(value); });
  return c;
}

struct SoftmaxOp {
  static constexpr const char* name = "softmax";

  static Tensor forward(Graph& g, const Tensor& x_in) {
    TITANS_CHECK(x_in.ndim() >= 1 && x_in.shape.back() > 0, "softmax of an empty last axis");
    const Tensor x = contiguous(g, x_in);
    const bool grad = g.needs_grad({&x});
    Tensor out = g.new_tensor(x.shape, x.dtype, grad);
    const int64_t rows = x.shape.rows(), D = x.shape.back();
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* px = x.ptr<T>();
      T* py = out.ptr<T>();
      parallel_for(rows, rows * D >= kParallelMin, [=](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const T* xr = px + i * D;
          T* yr = py + i * D;
          const T m = row_max(xr, D);
          T s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t j = 0; j < D; ++j) {
            const T e = vmath::exp(xr[j] - m);
            yr[j] = e;
            s += e;
          }
          const T inv = T(1) / s;
#pragma omp simd
          for (int64_t j = 0; j < D; ++j) yr[j] *= inv;
        }
      });
    });
    if (grad) g.record<SoftmaxOp>(out, {x});
    return out;
  }

  // dx = y ⊙ (dy − ⟨dy, y⟩) per row
  static void backward(Graph&, const OpRecord& r) {
    const Tensor& x = r.in[0];
    if (!x.grad) return;
    const int64_t rows = x.shape.rows(), D = x.shape.back();
    dispatch_float(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* py = r.out.ptr<T>();
      const T* pgy = r.out.gptr<T>();
      T* pgx = x.gptr<T>();
      parallel_for(rows, rows * D >= kParallelMin, [=](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const T* y = py + i * D;
          const T* gy = pgy + i * D;
          T* gx = pgx + i * D;
          T dot = 0;
#pragma omp simd reduction(+ : dot)
          for (int64_t j = 0; j < D; ++j) dot += gy[j] * y[j];
#pragma omp simd
          for (int64_t j = 0; j < D; ++j) gx[j] += y[j] * (gy[j] - dot);
        }
      });
    });
  }

  static std::vector<OpTest> tests() {
    std::vector<OpTest> t;
    // offset: added to every logit (a large one overflows e^x unless the row max is subtracted).
    auto add_case = [&](Shape s, bool transposed, double offset) {
      OpTest c;
      c.label = transposed ? std::string("transpose(").append(s.str()).append(")") : s.str();
      if (offset != 0) c.label.append(" +").append(std::to_string(int(offset)));
      c.inputs = {InputSpec::normal(s)};
      c.run = [=](Graph& g, const std::vector<Tensor>& in) {
        Tensor x = transposed ? transpose(g, in[0], 0, 1) : in[0];
        if (offset != 0) x = add(g, x, constant(g, x, offset));
        return softmax(g, x);
      };
      c.reference = [=](const std::vector<HostArray>& in) {
        HostArray x = transposed ? reference_transpose2d(in[0]) : in[0];
        const int64_t D = x.shape.back(), rows = x.numel() / D;
        for (int64_t i = 0; i < rows; ++i) {
          double s = 0;
          for (int64_t j = 0; j < D; ++j) s += std::exp(x.v[size_t(i * D + j)] + offset);
          for (int64_t j = 0; j < D; ++j)
            x.v[size_t(i * D + j)] = std::exp(x.v[size_t(i * D + j)] + offset) / s;
        }
        return x;
      };
      t.push_back(std::move(c));
    };
    add_case(Shape{3, 5}, false, 0);
    add_case(Shape{1, 17}, false, 0);  // one row, not a multiple of the vector width
    add_case(Shape{2, 3, 7}, false, 0);
    add_case(Shape{6, 4}, true, 0);  // strided input
    add_case(Shape{4, 33}, false, 0);
    add_case(Shape{3, 8}, false, 100);
    return t;
  }
};

// Per-row logsumexp (saved for backward) and the number of rows that count.
struct CrossEntropyAttrs {
  const void* lse;
  int64_t count;
};

struct CrossEntropyOp {
  static constexpr const char* name = "cross_entropy";

  static Tensor forward(Graph& g, const Tensor& logits_in, const Tensor& targets_in) {
    TITANS_CHECK(logits_in.ndim() == 2 && logits_in.shape[1] > 0, "cross_entropy: logits must be [N, V]");
    TITANS_CHECK(targets_in.dtype == DType::i32 && targets_in.ndim() == 1 &&
                     targets_in.shape[0] == logits_in.shape[0],
                 "cross_entropy: targets must be i32 [N]");
    const Tensor l = contiguous(g, logits_in);
    const Tensor tg = contiguous(g, targets_in);
    const int64_t N = l.shape[0], V = l.shape[1];
    const int32_t* t = tg.ptr<int32_t>();
    int64_t count = 0;
    for (int64_t i = 0; i < N; ++i) {
      TITANS_CHECK(t[i] == -1 || (t[i] >= 0 && t[i] < V), "cross_entropy: target out of range");
      count += t[i] != -1;
    }
    const bool grad = g.needs_grad({&l});
    Tensor out = g.new_tensor(Shape{}, l.dtype, grad);
    void* lse_mem = nullptr;
    dispatch_float(l.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* x = l.ptr<T>();
      T* lse = g.scratch<T>(N);
      lse_mem = lse;
      parallel_for(N, N * V >= kParallelMin, [=](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) lse[i] = t[i] == -1 ? T(0) : row_logsumexp(x + i * V, V);
      });
      // A serial, fixed-order sum over rows: the loss is bitwise reproducible.
      double total = 0;
      for (int64_t i = 0; i < N; ++i)
        if (t[i] != -1) total += double(lse[i]) - double(x[i * V + t[i]]);
      *out.ptr<T>() = T(count > 0 ? total / double(count) : 0.0);  // no rows counted: loss 0
    });
    if (grad) g.record<CrossEntropyOp>(out, {l, tg}, CrossEntropyAttrs{lse_mem, count});
    return out;
  }

  // dlogits[i] = (softmax(row i) − onehot(t_i)) · dloss / count; ignored rows get nothing.
  static void backward(Graph&, const OpRecord& r) {
    const Tensor& l = r.in[0];
    if (!l.grad) return;
    const CrossEntropyAttrs& a = r.attr<CrossEntropyAttrs>();
    if (a.count == 0) return;
    const int64_t N = l.shape[0], V = l.shape[1];
    const int32_t* t = r.in[1].ptr<int32_t>();
    dispatch_float(l.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* lse = static_cast<const T*>(a.lse);
      const T scale = *r.out.gptr<T>() / T(a.count);
      const T* x = l.ptr<T>();
      T* gl = l.gptr<T>();
      parallel_for(N, N * V >= kParallelMin, [=](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          if (t[i] == -1) continue;
          const T* xr = x + i * V;
          T* gr = gl + i * V;
          const T m = lse[i];
#pragma omp simd
          for (int64_t j = 0; j < V; ++j) gr[j] += vmath::exp(xr[j] - m) * scale;
          gr[t[i]] -= scale;
        }
      });
    });
  }

  static std::vector<OpTest> tests() {
    std::vector<OpTest> t;
    // Targets are built in `run` from ids in [0, V] (V + 1 values when random_ignore): id V and row
    // `ignore_row` become −1, so ignored rows are certain (ignore_row) and also random.
    auto add_case = [&](Shape s, bool transposed, int64_t ignore_row, bool random_ignore, double offset) {
      const int64_t N = transposed ? s[1] : s[0], V = transposed ? s[0] : s[1];
      auto target = [=](int64_t i, int64_t id) { return id == V || i == ignore_row ? -1 : id; };
      OpTest c;
      c.label = transposed ? std::string("transpose(").append(s.str()).append(")") : s.str();
      if (ignore_row >= 0) c.label.append(" ignore row ").append(std::to_string(ignore_row));
      if (random_ignore) c.label.append(" random ignore");
      if (offset != 0) c.label.append(" +").append(std::to_string(int(offset)));
      c.inputs = {InputSpec::normal(s), InputSpec::index(Shape{N}, random_ignore ? V + 1 : V)};
      c.run = [=](Graph& g, const std::vector<Tensor>& in) {
        Tensor x = transposed ? transpose(g, in[0], 0, 1) : in[0];
        if (offset != 0) x = add(g, x, constant(g, x, offset));
        Tensor tg = g.new_tensor(Shape{N}, DType::i32, false);
        for (int64_t i = 0; i < N; ++i)
          tg.ptr<int32_t>()[i] = int32_t(target(i, in[1].ptr<int32_t>()[i]));
        return cross_entropy(g, x, tg);
      };
      c.reference = [=](const std::vector<HostArray>& in) {
        const HostArray x = transposed ? reference_transpose2d(in[0]) : in[0];
        double total = 0;
        int64_t count = 0;
        for (int64_t i = 0; i < N; ++i) {
          const int64_t tt = target(i, int64_t(in[1].v[size_t(i)]));
          if (tt == -1) continue;
          double s = 0;
          for (int64_t j = 0; j < V; ++j) s += std::exp(x.v[size_t(i * V + j)] + offset);
          total += -std::log(std::exp(x.v[size_t(i * V + tt)] + offset) / s);
          ++count;
        }
        return HostArray{Shape{}, {total / double(count)}};
      };
      t.push_back(std::move(c));
    };
    add_case(Shape{6, 5}, false, 2, true, 0);
    add_case(Shape{1, 17}, false, -1, false, 0);  // one row, V not a multiple of the vector width
    add_case(Shape{8, 23}, false, 0, true, 0);
    add_case(Shape{7, 4}, true, 3, false, 0);  // strided logits [4, 7]
    add_case(Shape{5, 16}, false, -1, false, 100);
    return t;
  }
};

}  // namespace

Tensor softmax(Graph& g, const Tensor& x) { return SoftmaxOp::forward(g, x); }
Tensor cross_entropy(Graph& g, const Tensor& logits, const Tensor& targets) {
  return CrossEntropyOp::forward(g, logits, targets);
}

Status register_softmax_ops(OpRegistry& r) {
  for (Status s : {r.add<SoftmaxOp>(), r.add<CrossEntropyOp>()})
    if (!s.ok()) return s;
  return {};
}

}  // namespace titans::ops
