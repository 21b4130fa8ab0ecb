// The one registry of ops. Every op is a struct with a name, a backward function and a table of
// test cases (forward against a naive float64 reference, float64 gradient check, timing); the
// concept below refuses, at compile time, an op that lacks any of them, and add() refuses, at
// start-up, one whose test table is empty. The list of registered ops is src/ops/op_list.cpp.
#pragma once

#include <concepts>
#include <functional>
#include <string>
#include <vector>

#include "autodiff/graph.h"
#include "util/status.h"

namespace titans {

// A host-side float64 array: inputs and expected outputs of the naive references.
struct HostArray {
  Shape shape;
  std::vector<double> v;
  int64_t numel() const { return shape.numel(); }
};

struct InputSpec {
  enum class Kind { normal, positive, index, mask };
  Shape shape;
  Kind kind = Kind::normal;
  int64_t index_range = 0;    // index: values drawn from [0, index_range)
  bool differentiable = true;  // normal/positive inputs get a gradient check

  static InputSpec normal(Shape s) { return {s, Kind::normal, 0, true}; }
  // Values in [0.5, 2): inputs of log, div's denominator, ...
  static InputSpec positive(Shape s) { return {s, Kind::positive, 0, true}; }
  static InputSpec constant(Shape s) { return {s, Kind::normal, 0, false}; }
  static InputSpec index(Shape s, int64_t range) { return {s, Kind::index, range, false}; }
  static InputSpec mask(Shape s) { return {s, Kind::mask, 2, false}; }
};

struct OpTest {
  std::string label;             // e.g. "[4,8]+[8]"
  std::vector<InputSpec> inputs;
  // Runs the op on engine tensors (float32 or float64 inputs, int32 for index/mask).
  std::function<Tensor(Graph&, const std::vector<Tensor>&)> run;
  // The naive float64 reference of the forward pass.
  std::function<HostArray(const std::vector<HostArray>&)> reference;
  // Set when the op computes differently in float64 (bf16 rounding applies to float32 only).
  std::function<HostArray(const std::vector<HostArray>&)> reference_f64;
  double f32_tolerance = 2e-5;  // relative to the reference's largest magnitude
  double grad_tolerance = 1e-6;  // relative error of the float64 central difference
};

template <class Op>
concept OpDefinition = requires(Graph& g, const OpRecord& r) {
  { Op::name } -> std::convertible_to<const char*>;
  { Op::backward(g, r) } -> std::same_as<void>;
  { Op::tests() } -> std::same_as<std::vector<OpTest>>;
};

struct OpInfo {
  std::string name;
  BackwardFn backward;
  std::function<std::vector<OpTest>()> tests;
};

class OpRegistry {
 public:
  // The process-wide registry, filled with every built-in op on first use.
  static OpRegistry& global();

  template <OpDefinition Op>
  Status add() {
    return add_info(OpInfo{Op::name, &Op::backward, &Op::tests});
  }
  // Refuses a duplicate name or an op without test cases.
  Status add_info(OpInfo info);

  int id_of(const std::string& name) const;
  const std::vector<OpInfo>& ops() const { return ops_; }

 private:
  std::vector<OpInfo> ops_;
};

// Registers every built-in op (src/ops/op_list.cpp).
Status register_builtin_ops(OpRegistry& registry);

}  // namespace titans
