// ParamStore: the trainable tensors of a model, each with its gradient buffer and its optimiser
// group (weight decay on or off, learning-rate multiplier). Buffers are allocated once, when a
// parameter is added, and live as long as the store.
#pragma once

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
  explicit ParamStore(DType dtype = DType::f32, Backend& backend = cpu_backend())
      : dtype_(dtype), backend_(backend) {}
  ParamStore(const ParamStore&) = delete;
  ParamStore& operator=(const ParamStore&) = delete;
  ~ParamStore();

  // A new zero-initialised parameter (gradient zeroed too).
  Tensor add(const std::string& name, const Shape& shape, ParamOptions options = {});
  void zero_grad();
  // Replaces parameter i's group (the trainer applies its name rules, train/param_groups.h).
  void set_options(size_t i, ParamOptions options) { params_[i].options = options; }

  DType dtype() const { return dtype_; }
  const std::vector<Parameter>& params() const { return params_; }
  int64_t numel() const;  // number of scalar parameters

 private:
  DType dtype_;
  Backend& backend_;
  std::vector<Parameter> params_;
  std::vector<void*> buffers_;  // one per parameter: data then gradient
};

// Initialisers (deterministic given the generator's state).
void init_normal(const Tensor& t, Rng& rng, double stddev);
void init_constant(const Tensor& t, double value);

}  // namespace titans
