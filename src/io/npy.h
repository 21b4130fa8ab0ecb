// NumPy .npy files (format 1.0, C order, little-endian): dumps of activations, memory states and
// test data that `numpy.load` reads directly.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "util/status.h"

namespace titans::io {

// Writes f32 ('<f4'), f64 ('<f8') or i32 ('<i4') data of `shape` atomically (io/atomic_file.h).
// bf16 is refused: NumPy has no such type.
Status write_npy(const std::string& path, DType dtype, std::span<const int64_t> shape,
                 const void* data);
// A contiguous CPU tensor.
Status write_npy(const std::string& path, const Tensor& t);

struct NpyArray {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // numel × dtype size, C order

  int64_t numel() const;
  template <class T> const T* as() const { return reinterpret_cast<const T*>(bytes.data()); }
};

// Reads a C-order little-endian f32, f64 or i32 array (format 1.0 or 2.0), validating the header
// and that the data is exactly numel × size bytes.
Result<NpyArray> read_npy(const std::string& path);

}  // namespace titans::io
