#include "tensor/arena.h"

#include <cstdlib>
#include <new>

namespace titans {

namespace {
constexpr size_t kAlign = 64;
size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

Arena::Arena(size_t initial_bytes, Backend& backend) : backend_(backend) {
  blocks_.reserve(64);
  add_block(initial_bytes);
}

Arena::~Arena() {
  for (Block& b : blocks_) backend_.deallocate(b.base);
}

void Arena::add_block(size_t min_bytes) {
  size_t size = round_up(min_bytes);
  if (!blocks_.empty()) size = std::max(size, blocks_.back().size * 2);
  char* p = static_cast<char*>(backend_.allocate(size));
  if (!p) throw std::bad_alloc();
  blocks_.push_back(Block{p, size, 0});
  ++heap_blocks_;
}

void* Arena::alloc(size_t bytes) {
  bytes = round_up(bytes == 0 ? kAlign : bytes);
  Block* b = &blocks_.back();
  if (b->used + bytes > b->size) {
    add_block(bytes);
    b = &blocks_.back();
  }
  void* p = b->base + b->used;
  b->used += bytes;
  used_total_ += bytes;
  if (used_total_ > peak_total_) peak_total_ = used_total_;
  return p;
}

void Arena::reset() {
  if (blocks_.size() > 1) {
    // Grown during this step: replace the blocks by one that holds the whole peak.
    for (Block& b : blocks_) backend_.deallocate(b.base);
    blocks_.clear();
    add_block(peak_total_ + peak_total_ / 8);
  }
  blocks_.back().used = 0;
  used_total_ = 0;
}

size_t Arena::capacity() const {
  size_t c = 0;
  for (const Block& b : blocks_) c += b.size;
  return c;
}

}  // namespace titans
