// A bump allocator for one step's activations and gradients.
//
// The first steps find out how much a step needs; reset() then folds the blocks into one of the peak
// size, so every later step of the same shape runs without touching the heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tensor/backend.h"

namespace titans {

class Arena {
 public:
  explicit Arena(size_t initial_bytes = size_t(1) << 20, Backend& backend = cpu_backend());
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // `bytes` of uninitialised memory aligned to 64 bytes, valid until reset().
  void* alloc(size_t bytes);
  // Forgets every allocation; keeps (and consolidates) the memory.
  void reset();

  size_t used() const { return used_total_; }
  size_t capacity() const;
  Backend& backend() const { return backend_; }
  // Heap blocks obtained since construction: stops growing once the arena has warmed up.
  int64_t heap_blocks() const { return heap_blocks_; }

 private:
  struct Block {
    char* base;
    size_t size;
    size_t used;
  };
  void add_block(size_t min_bytes);
  Backend& backend_;
  std::vector<Block> blocks_;
  size_t used_total_ = 0;
  size_t peak_total_ = 0;
  int64_t heap_blocks_ = 0;
};

}  // namespace titans
