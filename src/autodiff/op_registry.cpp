#include "autodiff/op_registry.h"

#include <cstdio>
#include <cstdlib>

namespace titans {

OpRegistry& OpRegistry::global() {
  static OpRegistry* registry = [] {
    auto* r = new OpRegistry();
    Status s = register_builtin_ops(*r);
    TITANS_CHECK(s.ok(), s.message().c_str());
    return r;
  }();
  return *registry;
}

Status OpRegistry::add_info(OpInfo info) {
  if (id_of(info.name) >= 0) return Status::error("op '" + info.name + "' is registered twice");
  if (!info.backward) return Status::error("op '" + info.name + "' has no backward function");
  if (!info.tests || info.tests().empty())
    return Status::error("op '" + info.name + "' has no test cases: every op needs a forward "
                         "test and a float64 gradient check");
  ops_.push_back(std::move(info));
  return {};
}

int OpRegistry::id_of(const std::string& name) const {
  for (size_t i = 0; i < ops_.size(); ++i)
    if (ops_[i].name == name) return int(i);
  return -1;
}

int op_id_by_name(const char* name) {
  const int id = OpRegistry::global().id_of(name);
  if (id < 0) {
    std::fprintf(stderr, "titans: internal error: op '%s' is used but not registered in "
                 "src/ops/op_list.cpp\n", name);
    std::abort();
  }
  return id;
}

}  // namespace titans
