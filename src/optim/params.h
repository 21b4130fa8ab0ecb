// ParamStore: the trainable tensors of a model, each with its gradient buffer and its optimiser
// group (weight decay on or off, learning-rate multiplier). Buffers are allocated once, when a
// parameter is added, and live as long as the store.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "util/rng.h"

namespace titans {

struct ParamOptions {
  bool decay = true;     // AdamW's decoupled weight decay applies
  double lr_mult = 1.0;  // multiplies the schedule's learning rate
};

struct Parameter {
  std::string name;
  Tensor tensor;  // data and grad point into the store's buffers
  ParamOptions options;
};

class ParamStore {
 public:
  explicit ParamStore(DType dtype = DType::f32) : dtype_(dtype) {}
  ParamStore(const ParamStore&) = delete;
  ParamStore& operator=(const ParamStore&) = delete;

  // A new zero-initialised parameter (gradient zeroed too).
  Tensor add(const std::string& name, const Shape& shape, ParamOptions options = {});
  void zero_grad();

  DType dtype() const { return dtype_; }
  const std::vector<Parameter>& params() const { return params_; }
  int64_t numel() const;  // number of scalar parameters

 private:
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  DType dtype_;
  std::vector<Parameter> params_;
  std::vector<std::unique_ptr<void, FreeDeleter>> buffers_;
};

// Initialisers (deterministic given the generator's state).
void init_normal(const Tensor& t, Rng& rng, double stddev);
void init_constant(const Tensor& t, double value);

}  // namespace titans
