// The safetensors container: model files, checkpoints and memory-state snapshots.
//
// Layout (docs/FORMAT.md, "The container"): an 8-byte little-endian header length N, N bytes of
// UTF-8 JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
// then the data buffer (offsets are relative to its start). The format every ML user can already
// read (`safetensors.torch.load_file`, or reference/safetensors_io.py here).
//
// A file is validated completely when it is opened — every offset, size, dtype and name — so code
// that later asks for a tensor can trust what it gets. Every error is one line naming the file, the
// tensor (if any) and the problem.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/tensor.h"
#include "util/status.h"

namespace titans::io {

// Element types recognised in a file. The engine computes with F32/F64/BF16/I32; the others can be
// inspected and copied as bytes (e.g. a PyTorch file holding F16 or I64 tensors).
enum class FileDType : uint8_t { F64, F32, F16, BF16, I64, I32, U8 };

const char* file_dtype_name(FileDType t);  // the tag in the header: "F32", "BF16", ...
int file_dtype_size(FileDType t);          // bytes per element
std::optional<FileDType> parse_file_dtype(std::string_view tag);
FileDType to_file_dtype(DType t);
std::optional<DType> to_engine_dtype(FileDType t);  // nullopt for F16, I64, U8

// Metadata keys every file written by write_safetensors carries (docs/FORMAT.md).
inline constexpr const char* kFormatKey = "format";
inline constexpr const char* kFormatName = "titans.cpp";
inline constexpr const char* kFormatVersionKey = "format_version";
inline constexpr const char* kFormatVersion = "1";
inline constexpr const char* kConfigKey = "config";  // the model config, as a JSON string

// Headers larger than this are refused before they are read: no real header comes close, and a
// corrupted length must not make us allocate gigabytes.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// One tensor of a validated file.
struct TensorEntry {
  std::string name;
  FileDType dtype = FileDType::F32;
  std::vector<int64_t> shape;  // [] is a scalar (one element)
  uint64_t begin = 0;          // byte offsets into the data buffer, [begin, end)
  uint64_t end = 0;

  int64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
};

// "[2, 3]" — how shapes appear in every message.
std::string shape_string(std::span<const int64_t> shape);

class SafetensorsFile {
 public:
  // Maps `path` read-only and validates it. Errors start with `path`.
  static Result<SafetensorsFile> open(const std::string& path);
  // The same validation over bytes in memory (tests, the fuzzer). Errors start with `label`.
  static Result<SafetensorsFile> parse(std::string label, std::vector<uint8_t> bytes);

  const std::string& label() const { return label_; }
  const std::vector<TensorEntry>& entries() const { return entries_; }  // sorted by name
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Null when the file has no tensor of that name.
  const TensorEntry* find(std::string_view name) const;
  // The entry's bytes (little-endian, C order). Not necessarily aligned for its element type.
  std::span<const uint8_t> data(const TensorEntry& e) const;

  // The tensor `name`, checked to have exactly this dtype and shape; the error names what differs:
  // "model.safetensors: tensor 'norm.weight' has shape [64], expected [128]".
  Result<const TensorEntry*> get(std::string_view name, DType dtype, const Shape& shape) const;
  // get(name, dst.dtype, dst.shape), then copies the bytes into `dst` (contiguous, on the CPU).
  Status read_into(std::string_view name, const Tensor& dst) const;
  // An error listing the tensors of the file that are not in `used` (a file from another model or
  // configuration should not load silently).
  Status check_no_extra(std::span<const std::string> used) const;

 private:
  struct Bytes;  // the whole file: a read-only mapping or a buffer
  static Result<SafetensorsFile> validate(std::string label, std::shared_ptr<const Bytes> bytes);

  std::string label_;
  std::shared_ptr<const Bytes> bytes_;
  uint64_t data_start_ = 0;  // file offset of the data buffer: 8 + header length
  std::vector<TensorEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: `data` holds numel × size bytes, little-endian, C order, and must stay alive
// during the write.
struct TensorToWrite {
  std::string name;
  FileDType dtype = FileDType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
};
// A contiguous CPU tensor as a TensorToWrite.
TensorToWrite tensor_to_write(std::string name, const Tensor& t);

// The file's bytes: header (sorted names, data start padded with spaces to a multiple of 8), then
// the tensors ordered by element size (largest first, so each is aligned to its element size) then
// name. `metadata` gets kFormatKey and kFormatVersionKey unless it has them (a file kind of its
// own, like a memory-state snapshot, names its own format). Same input, same bytes.
Result<std::vector<uint8_t>> encode_safetensors(std::span<const TensorToWrite> tensors,
                                                std::map<std::string, std::string> metadata);
// The same bytes written atomically (io/atomic_file.h): the old file survives any failure.
Status write_safetensors(const std::string& path, std::span<const TensorToWrite> tensors,
                         std::map<std::string, std::string> metadata);

}  // namespace titans::io
