// FNV-1a, 64 bits: the one non-cryptographic fingerprint of the engine (checkpoint markers, the
// model hash of memory-state snapshots). It catches accidents (a file cut short, a snapshot loaded
// into another model), not tampering.
#pragma once

#include <cstddef>
#include <cstdint>

namespace titans {

class Fnv1a64 {
 public:
  void add(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 0x100000001b3ull;
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

inline uint64_t fnv1a64(const void* data, size_t n) {
  Fnv1a64 h;
  h.add(data, n);
  return h.value();
}

}  // namespace titans
