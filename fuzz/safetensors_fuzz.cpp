// libFuzzer entry point: arbitrary bytes through the validating safetensors parser (scripts/fuzz.sh).
//
// Beyond "no crash, no sanitizer report", it checks the promises the rest of the engine relies on:
// an error is one line; an accepted file's tensors can be read in full (ASan sees any byte outside
// the input), get() accepts each tensor's own dtype and shape, and re-encoding an accepted file gives
// one that parses back to the same tensors.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "io/safetensors.h"

using namespace titans;
using namespace titans::io;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = SafetensorsFile::parse("fuzz", std::vector<uint8_t>(data, data + size));
  if (!f.ok()) {
    require(f.message().find('\n') == std::string::npos);
    return 0;
  }
  std::vector<TensorToWrite> again;
  volatile uint8_t sink = 0;
  for (const TensorEntry& e : f->entries()) {
    const std::span<const uint8_t> bytes = f->data(e);
    require(bytes.size() == uint64_t(e.numel()) * uint64_t(file_dtype_size(e.dtype)));
    for (const uint8_t b : bytes) sink = sink ^ b;  // every byte must be inside the input
    const auto engine = to_engine_dtype(e.dtype);
    if (engine && e.shape.size() <= size_t(kMaxDims)) {
      Shape s;
      s.ndim = int(e.shape.size());
      for (int i = 0; i < s.ndim; ++i) s.d[i] = e.shape[size_t(i)];
      require(f->get(e.name, *engine, s).ok());
    }
    again.push_back({e.name, e.dtype, e.shape, bytes.empty() ? nullptr : bytes.data()});
  }
  auto encoded = encode_safetensors(again, f->metadata());
  require(encoded.ok());
  auto back = SafetensorsFile::parse("fuzz-again", std::move(*encoded));
  require(back.ok());
  require(back->entries().size() == f->entries().size());
  for (const TensorEntry& e : f->entries()) {
    const TensorEntry* b = back->find(e.name);
    require(b && b->dtype == e.dtype && b->shape == e.shape);
    const auto x = f->data(e), y = back->data(*b);
    require(x.size() == y.size() && (x.empty() || std::memcmp(x.data(), y.data(), x.size()) == 0));
  }
  return 0;
}
