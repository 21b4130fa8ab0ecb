// Graph: one step's arena and tape. Ops run eagerly; each op whose inputs need a gradient appends a
// record (its backward function, inputs, output and a few bytes of attributes) to the tape, and
// backward() replays the tape in reverse. Records are plain structs in a reused vector, so
// recording costs a few stores and, once warmed up, no allocation.
#pragma once

#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include "tensor/arena.h"
#include "tensor/tensor.h"

namespace titans {

inline constexpr int kMaxOpInputs = 6;
inline constexpr int kMaxAttrBytes = 64;

class Graph;
struct OpRecord;
using BackwardFn = void (*)(Graph&, const OpRecord&);

struct OpRecord {
  BackwardFn backward;
  int16_t op_id;
  int8_t n_in;
  Tensor out;
  Tensor in[kMaxOpInputs];
  alignas(16) unsigned char attrs[kMaxAttrBytes];

  template <class A> const A& attr() const {
    static_assert(sizeof(A) <= kMaxAttrBytes && std::is_trivially_copyable_v<A>);
    return *reinterpret_cast<const A*>(attrs);
  }
};

int op_id_by_name(const char* name);  // defined by the op registry

// The id an op was registered under; a use of an unregistered op is a programmer error.
template <class Op>
int op_id() {
  static const int id = op_id_by_name(Op::name);
  return id;
}

// The recorded ops of one step, in order. Records are written field by field into raw storage
// (OpRecord is an aggregate of trivially copyable parts): constructing a vector element would zero
// ~1 KB per op first, which costs more than the op itself for small tensors.
class Tape {
 public:
  Tape() { grow(1024); }
  ~Tape() { std::free(data_); }
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  OpRecord* push_uninitialized() {
    if (size_ == capacity_) grow(2 * capacity_);
    return data_ + size_++;
  }
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  const OpRecord* begin() const { return data_; }
  const OpRecord* end() const { return data_ + size_; }
  const OpRecord& back() const { return data_[size_ - 1]; }

 private:
  void grow(size_t capacity) {
    auto* p = static_cast<OpRecord*>(std::aligned_alloc(alignof(OpRecord), capacity * sizeof(OpRecord)));
    TITANS_CHECK(p != nullptr, "out of memory for the tape");
    if (size_) std::memcpy(static_cast<void*>(p), data_, size_ * sizeof(OpRecord));
    std::free(data_);
    data_ = p;
    capacity_ = capacity;
  }
  OpRecord* data_ = nullptr;
  size_t size_ = 0, capacity_ = 0;
};

class Graph {
 public:
  explicit Graph(size_t arena_bytes = size_t(1) << 20, Backend& backend = cpu_backend());

  // A fresh tensor in the arena: contiguous, data uninitialised, gradient zeroed if requested.
  Tensor new_tensor(const Shape& shape, DType dtype, bool with_grad);
  Tensor zeros(const Shape& shape, DType dtype, bool with_grad);
  // Scratch memory valid until reset() (saved intermediates of fused ops).
  template <class T> T* scratch(int64_t n) {
    return static_cast<T*>(arena_.alloc(size_t(n) * sizeof(T)));
  }

  bool grad_enabled() const { return grad_enabled_; }
  void set_grad_enabled(bool on) { grad_enabled_ = on; }
  // True when an op over these inputs must record itself and give its output a gradient.
  bool needs_grad(std::initializer_list<const Tensor*> inputs) const {
    if (!grad_enabled_) return false;
    for (const Tensor* t : inputs)
      if (t->grad) return true;
    return false;
  }

  // Appends a record for Op (its backward is Op::backward).
  template <class Op, class Attrs = char>
  void record(const Tensor& out, std::initializer_list<Tensor> inputs, const Attrs& attrs = {}) {
    record_n<Op>(out, inputs.begin(), int(inputs.size()), attrs);
  }
  template <class Op, class Attrs = char>
  void record_n(const Tensor& out, const Tensor* inputs, int n, const Attrs& attrs = {}) {
    static_assert(sizeof(Attrs) <= kMaxAttrBytes && std::is_trivially_copyable_v<Attrs>);
    TITANS_CHECK(n <= kMaxOpInputs, "too many op inputs");
    OpRecord* r = tape_.push_uninitialized();
    r->backward = &Op::backward;
    r->op_id = int16_t(op_id<Op>());
    r->n_in = int8_t(n);
    std::memcpy(static_cast<void*>(&r->out), &out, sizeof(Tensor));
    std::memcpy(static_cast<void*>(r->in), inputs, size_t(n) * sizeof(Tensor));
    std::memcpy(r->attrs, &attrs, sizeof(Attrs));
  }

  // Reverse pass from `out`: its gradient is seeded with `seed` (row-major over out's shape), or
  // with ones when `seed` is null (a scalar loss), then the whole tape is replayed and gradients
  // accumulate into every grad buffer. Call it once per step: a second call replays the shared ops
  // again (for several outputs, backpropagate from one scalar that combines them).
  void backward(const Tensor& out, const void* seed = nullptr);

  // Drops the tape and the arena's contents for the next step; keeps their memory.
  void reset();

  const Tape& tape() const { return tape_; }
  Arena& arena() { return arena_; }

  // The write penalty (train/trainer.cpp, docs/TRAINING.md): while on (and recording), every
  // neural-memory call appends the pre-activation z of its learning-rate gate θ = θ_max σ(z)
  // ([B, T, H]); the trainer turns them into a loss term. reset() empties the list.
  void set_collect_write_gates(bool on) { collect_write_gates_ = on; }
  bool collecting_write_gates() const { return collect_write_gates_ && grad_enabled_; }
  void add_write_gate_logits(const Tensor& z) { write_gate_logits_.push_back(z); }
  const std::vector<Tensor>& write_gate_logits() const { return write_gate_logits_; }

 private:
  Arena arena_;
  Tape tape_;
  bool grad_enabled_ = true;
  bool collect_write_gates_ = false;
  std::vector<Tensor> write_gate_logits_;
};

// Disables recording in a scope (inference, finite differences).
class NoGradScope {
 public:
  explicit NoGradScope(Graph& g) : g_(g), prev_(g.grad_enabled()) { g.set_grad_enabled(false); }
  ~NoGradScope() { g_.set_grad_enabled(prev_); }

 private:
  Graph& g_;
  bool prev_;
};

}  // namespace titans
