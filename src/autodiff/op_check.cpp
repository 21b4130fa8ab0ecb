#include "autodiff/op_check.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "tensor/index_iter.h"
#include "util/rng.h"

namespace titans {

namespace {

std::vector<HostArray> make_host_inputs(const OpTest& test, uint64_t seed) {
  Rng rng(seed);
  std::vector<HostArray> host;
  for (const InputSpec& spec : test.inputs) {
    HostArray a{spec.shape, std::vector<double>(size_t(spec.shape.numel()))};
    for (double& x : a.v) {
      switch (spec.kind) {
        case InputSpec::Kind::normal: x = rng.normal(); break;
        case InputSpec::Kind::positive: x = 0.5 + 1.5 * rng.uniform(); break;
        case InputSpec::Kind::index:
        case InputSpec::Kind::mask: x = double(rng.below(uint64_t(spec.index_range))); break;
      }
    }
    host.push_back(std::move(a));
  }
  return host;
}

bool is_integer_input(const InputSpec& s) {
  return s.kind == InputSpec::Kind::index || s.kind == InputSpec::Kind::mask;
}

// Engine tensors holding the host values (rounded to float32 when dtype is f32: the reference then
// sees the same numbers the op sees).
std::vector<Tensor> to_engine(Graph& g, const OpTest& test, std::vector<HostArray>& host,
                              DType dtype, bool with_grad) {
  std::vector<Tensor> out;
  for (size_t i = 0; i < host.size(); ++i) {
    const InputSpec& spec = test.inputs[i];
    if (is_integer_input(spec)) {
      Tensor t = g.new_tensor(spec.shape, DType::i32, false);
      for (int64_t e = 0; e < t.numel(); ++e) t.ptr<int32_t>()[e] = int32_t(host[i].v[size_t(e)]);
      out.push_back(t);
      continue;
    }
    Tensor t = g.new_tensor(spec.shape, dtype, with_grad && spec.differentiable);
    dispatch_float(dtype, [&](auto zero) {
      using T = decltype(zero);
      for (int64_t e = 0; e < t.numel(); ++e) {
        t.ptr<T>()[e] = T(host[i].v[size_t(e)]);
        host[i].v[size_t(e)] = double(t.ptr<T>()[e]);
      }
    });
    out.push_back(t);
  }
  return out;
}

std::vector<double> read_values(const Tensor& t, bool grad) {
  std::vector<double> v(size_t(t.numel()));
  dispatch_float(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* p = static_cast<const T*>(grad ? t.grad : t.data);
    for_each_index(t.shape, [&](const int64_t* idx, int64_t linear) {
      v[size_t(linear)] = double(p[element_offset(t, idx)]);
    });
  });
  return v;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// max |a - b| / max(max |a|, max |b|, floor); NaN anywhere gives infinity.
double relative_error(const std::vector<double>& a, const std::vector<double>& b, double floor) {
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    if (std::isnan(d)) return INFINITY;
    diff = std::max(diff, d);
  }
  return diff / std::max({max_abs(a), max_abs(b), floor});
}

double weighted_sum(const Tensor& out, const std::vector<double>& w) {
  const std::vector<double> v = read_values(out, false);
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += w[i] * v[i];
  return s;
}

std::vector<Tensor> detached(const std::vector<Tensor>& in) {
  std::vector<Tensor> d;
  for (const Tensor& t : in) d.push_back(t.detach());
  return d;
}

}  // namespace

CheckResult check_forward(const OpTest& test, DType dtype, uint64_t seed) {
  Graph g;
  std::vector<HostArray> host = make_host_inputs(test, seed);
  std::vector<Tensor> inputs = to_engine(g, test, host, dtype, false);
  const Tensor out = test.run(g, inputs);
  const HostArray expect =
      dtype == DType::f64 && test.reference_f64 ? test.reference_f64(host) : test.reference(host);
  CheckResult r;
  if (out.shape != expect.shape) {
    r.detail = "shape " + out.shape.str() + " != reference " + expect.shape.str();
    return r;
  }
  if (out.dtype != dtype) {
    r.detail = std::string("output dtype ") + dtype_name(out.dtype) + " != " + dtype_name(dtype);
    return r;
  }
  r.error = relative_error(read_values(out, false), expect.v, 1e-6);
  const double tol = dtype == DType::f64 ? 1e-12 : test.f32_tolerance;
  r.ok = r.error <= tol;
  r.detail = std::string(dtype_name(dtype)) + " forward relative error " + std::to_string(r.error) +
             " (tolerance " + std::to_string(tol) + ")";
  return r;
}

CheckResult check_gradient(const OpTest& test, uint64_t seed) {
  Graph g;
  std::vector<HostArray> host = make_host_inputs(test, seed);
  std::vector<Tensor> inputs = to_engine(g, test, host, DType::f64, true);
  const Tensor out = test.run(g, inputs);
  CheckResult r;
  if (!out.requires_grad()) {
    r.detail = "output has no gradient although inputs require one";
    return r;
  }
  Rng rng(seed ^ 0x5eedull);
  std::vector<double> w(size_t(out.numel()));
  for (double& x : w) x = rng.normal();
  g.backward(out, w.data());

  Graph fd;  // finite differences run here, reset after every evaluation
  fd.set_grad_enabled(false);
  const std::vector<Tensor> plain = detached(inputs);
  auto loss = [&] {
    const double s = weighted_sum(test.run(fd, plain), w);
    fd.reset();
    return s;
  };
  const double h = 1e-5;
  r.ok = true;
  int checked = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    ++checked;
    const std::vector<double> analytic = read_values(inputs[i], true);
    std::vector<double> numeric(analytic.size());
    double* x = inputs[i].ptr<double>();
    for (size_t e = 0; e < numeric.size(); ++e) {
      const double x0 = x[e];
      x[e] = x0 + h;
      const double lp = loss();
      x[e] = x0 - h;
      const double lm = loss();
      x[e] = x0;
      numeric[e] = (lp - lm) / (2 * h);
    }
    const double err = relative_error(analytic, numeric, 1e-8);
    r.error = std::max(r.error, err);
    if (!(err <= test.grad_tolerance)) {
      r.ok = false;
      r.detail += "input " + std::to_string(i) + ": gradient relative error " +
                  std::to_string(err) + "; ";
    }
  }
  if (checked == 0) {
    r.ok = false;
    r.detail = "no differentiable input: a gradient check must check something";
  }
  if (r.ok) r.detail = "gradient relative error " + std::to_string(r.error);
  return r;
}

OpTiming time_op(const OpTest& test, int repeats) {
  using clock = std::chrono::steady_clock;
  Graph inputs_graph;
  std::vector<HostArray> host = make_host_inputs(test, 1);
  const std::vector<Tensor> inputs = to_engine(inputs_graph, test, host, DType::f32, true);
  Graph g;
  // Calls per timed batch: enough for the clock's resolution not to matter.
  auto t0 = clock::now();
  test.run(g, inputs);
  const double one = std::chrono::duration<double>(clock::now() - t0).count();
  g.reset();
  const int inner = std::clamp(int(2e-3 / std::max(one, 1e-9)), 1, 2000);

  std::vector<double> fwd, bwd;
  for (int rep = 0; rep < repeats + 2; ++rep) {
    Tensor out;
    t0 = clock::now();
    for (int k = 0; k < inner; ++k) out = test.run(g, inputs);
    const auto t1 = clock::now();
    if (out.requires_grad()) g.backward(out);
    const auto t2 = clock::now();
    g.reset();
    if (rep < 2) continue;  // warm-up: arena and tape reach their steady size
    fwd.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / inner);
    bwd.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count() / inner);
  }
  std::sort(fwd.begin(), fwd.end());
  std::sort(bwd.begin(), bwd.end());
  return OpTiming{fwd[fwd.size() / 2], bwd[bwd.size() / 2]};
}

}  // namespace titans
