// Writing safetensors files: a deterministic layout, written atomically.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "io/text.h"

namespace titans::io {

using nlohmann::json;

TensorToWrite tensor_to_write(std::string name, const Tensor& t) {
  TITANS_CHECK(t.device == Device::cpu && t.is_contiguous(),
               "tensor_to_write needs a contiguous CPU tensor");
  return TensorToWrite{std::move(name), to_file_dtype(t.dtype),
                       std::vector<int64_t>(t.shape.d, t.shape.d + t.shape.ndim), t.data};
}

namespace {

// The header text (padded) and the tensors in data order.
struct Layout {
  std::string header;
  std::vector<const TensorToWrite*> order;
  std::vector<uint64_t> sizes;  // bytes of order[i]
};

Result<Layout> plan(std::span<const TensorToWrite> tensors,
                    std::map<std::string, std::string> metadata) {
  const auto fail = [](const std::string& what) { return Status::error(what); };
  Layout l;
  std::set<std::string_view> names;
  for (const TensorToWrite& t : tensors) {
    const std::string who = fmt::format("tensor {}", single_quoted(t.name));
    // The reader would refuse these files; refuse to write them instead.
    if (t.name == "__metadata__") return fail(who + ": the name is reserved for the metadata");
    if (!is_valid_utf8(t.name)) return fail(who + ": the name is not valid UTF-8");
    if (!names.insert(t.name).second) return fail(who + ": the name appears twice");
    uint64_t bytes = uint64_t(file_dtype_size(t.dtype));
    for (const int64_t d : t.shape) {
      if (d < 0) return fail(fmt::format("{}: negative dimension in shape {}", who,
                                         shape_string(t.shape)));
      if (__builtin_mul_overflow(bytes, uint64_t(d), &bytes))
        return fail(fmt::format("{}: shape {} is too large", who, shape_string(t.shape)));
    }
    if (bytes > 0 && t.data == nullptr) return fail(who + ": no data");
    l.order.push_back(&t);
  }
  for (const auto& [key, value] : metadata)
    if (!is_valid_utf8(key) || !is_valid_utf8(value))
      return fail(fmt::format("metadata {}: not valid UTF-8", single_quoted(key)));
  // A caller's own format (memory-state snapshots: "titans.cpp-state") is kept.
  metadata.try_emplace(kFormatKey, std::string(kFormatName));
  metadata.try_emplace(kFormatVersionKey, std::string(kFormatVersion));

  // Largest elements first keeps every tensor aligned to its element size (the data start is a
  // multiple of 8); then by name, so the same tensors always give the same bytes.
  std::sort(l.order.begin(), l.order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    const int sa = file_dtype_size(a->dtype), sb = file_dtype_size(b->dtype);
    return sa != sb ? sa > sb : a->name < b->name;
  });
  json header = json::object();
  uint64_t offset = 0;
  for (const TensorToWrite* t : l.order) {
    uint64_t bytes = uint64_t(file_dtype_size(t->dtype));
    for (const int64_t d : t->shape) bytes *= uint64_t(d);  // checked above
    header[t->name] = {{"dtype", file_dtype_name(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + bytes}}};
    l.sizes.push_back(bytes);
    offset += bytes;
  }
  header["__metadata__"] = metadata;
  l.header = header.dump();  // keys sorted (nlohmann's std::map): deterministic
  // Spaces after the JSON are valid JSON whitespace; they put the data start on 8 bytes.
  l.header.append((8 - l.header.size() % 8) % 8, ' ');
  return l;
}

std::vector<ByteRange> pieces_of(const Layout& l, const uint64_t* header_len) {
  std::vector<ByteRange> pieces;
  pieces.push_back({header_len, 8});
  pieces.push_back({l.header.data(), l.header.size()});
  for (size_t i = 0; i < l.order.size(); ++i) pieces.push_back({l.order[i]->data, l.sizes[i]});
  return pieces;
}

}  // namespace

Result<std::vector<uint8_t>> encode_safetensors(std::span<const TensorToWrite> tensors,
                                                std::map<std::string, std::string> metadata) {
  auto l = plan(tensors, std::move(metadata));
  if (!l.ok()) return l.status();
  const uint64_t header_len = l->header.size();
  std::vector<uint8_t> out;
  for (const ByteRange& p : pieces_of(*l, &header_len)) {
    const auto* b = static_cast<const uint8_t*>(p.data);
    if (p.size > 0) out.insert(out.end(), b, b + p.size);
  }
  return out;
}

Status write_safetensors(const std::string& path, std::span<const TensorToWrite> tensors,
                         std::map<std::string, std::string> metadata) {
  auto l = plan(tensors, std::move(metadata));
  if (!l.ok()) return Status::error(fmt::format("{}: {}", path, l.message()));
  const uint64_t header_len = l->header.size();  // little-endian host (safetensors.cpp)
  return write_file_atomically(path, pieces_of(*l, &header_len));
}

}  // namespace titans::io
