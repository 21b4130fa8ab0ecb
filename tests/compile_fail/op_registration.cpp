// Compiled by CTest three ways (see tests/CMakeLists.txt): with both members it must compile; without
// backward, or without tests, OpRegistry::add must refuse it at compile time.
#include "autodiff/op_registry.h"

struct CandidateOp {
  static constexpr const char* name = "candidate";
#ifdef HAS_BACKWARD
  static void backward(titans::Graph&, const titans::OpRecord&) {}
#endif
#ifdef HAS_TESTS
  static std::vector<titans::OpTest> tests() { return {}; }
#endif
};

titans::Status register_candidate(titans::OpRegistry& r) { return r.add<CandidateOp>(); }
