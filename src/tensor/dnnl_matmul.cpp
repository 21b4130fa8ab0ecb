#include "tensor/dnnl_matmul.h"

#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>

namespace titans {

namespace {

using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t, bool>;

struct Entry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::memory::data_type to_dnnl(DType t) {
  return t == DType::bf16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}

Entry* lookup(DType t, int64_t batch, int64_t M, int64_t N, int64_t K, const DnnlOperand& A,
              const DnnlOperand& B, int64_t ldc, int64_t cbs, bool accumulate) {
  static std::map<Key, Entry> cache;
  static std::mutex mu;
  const Key key{int(t), batch, M, N, K, A.batch_stride, A.rs, A.cs, B.batch_stride, B.rs, B.cs, ldc,
                cbs, accumulate};
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return &it->second;
  try {
    using dims = dnnl::memory::dims;
    const dnnl::memory::desc a({batch, M, K}, to_dnnl(t), dims{A.batch_stride, A.rs, A.cs});
    const dnnl::memory::desc b({batch, K, N}, to_dnnl(t), dims{B.batch_stride, B.rs, B.cs});
    const dnnl::memory::desc c({batch, M, N}, dnnl::memory::data_type::f32, dims{cbs, ldc, 1});
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops po;
      po.append_sum(1.0f);
      attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, cpu_engine());
    auto res = cache.emplace(key, Entry{pd, dnnl::matmul(pd)});
    return &res.first->second;
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

}  // namespace

bool dnnl_matmul(DType in_type, int64_t batch, int64_t M, int64_t N, int64_t K, DnnlOperand A,
                 DnnlOperand B, float* C, int64_t ldc, int64_t c_batch_stride, bool accumulate) {
  // A batch stride of 0 (one operand shared by the batch) sends oneDNN 2.6 to its reference
  // implementation, hundreds of times slower; with a batch of one the stride is irrelevant anyway.
  if (batch == 1) {
    A.batch_stride = M * K;
    B.batch_stride = K * N;
    c_batch_stride = M * N;
  }
  Entry* e = lookup(in_type, batch, M, N, K, A, B, ldc, c_batch_stride, accumulate);
  if (!e) return false;
  static dnnl::stream stream(cpu_engine());
  dnnl::memory ma(e->pd.src_desc(), cpu_engine(), const_cast<void*>(A.data));
  dnnl::memory mb(e->pd.weights_desc(), cpu_engine(), const_cast<void*>(B.data));
  dnnl::memory mc(e->pd.dst_desc(), cpu_engine(), C);
  e->prim.execute(stream, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
  stream.wait();
  return true;
}

std::string dnnl_matmul_impl(DType in_type, int64_t M, int64_t N, int64_t K) {
  const DnnlOperand A{nullptr, M * K, K, 1}, B{nullptr, K * N, N, 1};
  Entry* e = lookup(in_type, 1, M, N, K, A, B, N, M * N, false);
  return e ? e->pd.impl_info_str() : "unsupported";
}

}  // namespace titans
