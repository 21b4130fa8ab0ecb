#include "io/npy.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "io/atomic_file.h"

namespace titans::io {

namespace {

constexpr char kMagic[] = "\x93NUMPY";  // 6 bytes, then the major and minor version
constexpr size_t kMagicLen = 6;

std::optional<const char*> npy_descr(DType t) {
  switch (t) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::i32: return "<i4";
    case DType::bf16: return std::nullopt;
  }
  return std::nullopt;
}

// The Python tuple NumPy writes for a shape: "()", "(3,)", "(2, 3)".
std::string shape_tuple(std::span<const int64_t> shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

}  // namespace

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Status write_npy(const std::string& path, DType dtype, std::span<const int64_t> shape,
                 const void* data) {
  const auto descr = npy_descr(dtype);
  if (!descr)
    return Status::error(fmt::format("{}: .npy cannot hold {} data", path, dtype_name(dtype)));
  uint64_t bytes = uint64_t(dtype_size(dtype));
  for (const int64_t d : shape) {
    if (d < 0) return Status::error(fmt::format("{}: negative dimension in shape {}", path,
                                                shape_tuple(shape)));
    bytes *= uint64_t(d);
  }
  // Version 1.0: a 2-byte header length; the header ends in '\n' and is padded with spaces so the
  // data starts on a multiple of 64 bytes, as NumPy itself writes it.
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   *descr, shape_tuple(shape));
  const size_t prefix = kMagicLen + 2 + 2;
  header.append(63 - (prefix + header.size()) % 64, ' ');
  header += '\n';
  if (header.size() > 65535)
    return Status::error(fmt::format("{}: shape {} too long for a .npy 1.0 header", path,
                                     shape_tuple(shape)));
  char head[prefix];
  std::memcpy(head, kMagic, kMagicLen);
  head[6] = 1;
  head[7] = 0;
  head[8] = char(header.size() & 0xff);
  head[9] = char(header.size() >> 8);
  const ByteRange pieces[] = {{head, prefix}, {header.data(), header.size()}, {data, bytes}};
  return write_file_atomically(path, pieces);
}

Status write_npy(const std::string& path, const Tensor& t) {
  TITANS_CHECK(t.device == Device::cpu && t.is_contiguous(), "write_npy needs a contiguous tensor");
  return write_npy(path, t.dtype, std::span<const int64_t>(t.shape.d, size_t(t.shape.ndim)),
                   t.data);
}

namespace {

// The value after `'key':` in NumPy's header dict, spaces skipped; npos when absent.
size_t value_of(const std::string& header, const char* key) {
  const std::string k = fmt::format("'{}':", key);
  size_t at = header.find(k);
  if (at == std::string::npos) return at;
  at += k.size();
  while (at < header.size() && header[at] == ' ') ++at;
  return at;
}

}  // namespace

Result<NpyArray> read_npy(const std::string& path) {
  const auto fail = [&](const std::string& what) {
    return Status::error(fmt::format("{}: {}", path, what));
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(fmt::format("cannot open: {}", std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string file = ss.str();
  if (file.size() < 10 || file.compare(0, kMagicLen, kMagic, kMagicLen) != 0)
    return fail("not a .npy file (no \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(file[6]);
  size_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = size_t(uint8_t(file[8])) | size_t(uint8_t(file[9])) << 8;
    prefix = 10;
  } else if (major == 2 && file.size() >= 12) {
    for (int i = 3; i >= 0; --i) header_len = header_len << 8 | uint8_t(file[8 + i]);
    prefix = 12;
  } else {
    return fail(fmt::format(".npy format version {} is not supported (1 or 2)", major));
  }
  if (header_len > file.size() - prefix)
    return fail(fmt::format("header length {} runs past the end of the file", header_len));
  const std::string header = file.substr(prefix, header_len);

  NpyArray a;
  const size_t d = value_of(header, "descr");
  if (d == std::string::npos || header.compare(d, 1, "'") != 0 || d + 5 > header.size())
    return fail("header has no 'descr'");
  const std::string descr = header.substr(d + 1, 3);
  if (descr == "<f4") {
    a.dtype = DType::f32;
  } else if (descr == "<f8") {
    a.dtype = DType::f64;
  } else if (descr == "<i4") {
    a.dtype = DType::i32;
  } else {
    return fail(fmt::format("dtype '{}' is not supported (<f4, <f8, <i4)", descr));
  }
  const size_t f = value_of(header, "fortran_order");
  if (f == std::string::npos || header.compare(f, 5, "False") != 0)
    return fail("only C-order arrays are supported (fortran_order must be False)");
  const size_t s = value_of(header, "shape");
  const size_t close = s == std::string::npos ? s : header.find(')', s);
  if (close == std::string::npos || header[s] != '(') return fail("header has no 'shape' tuple");
  std::stringstream dims(header.substr(s + 1, close - s - 1));
  uint64_t numel = 1;
  for (std::string item; std::getline(dims, item, ',');) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;  // "(3,)"
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (v < 0 || end == item.c_str() || __builtin_mul_overflow(numel, uint64_t(v), &numel))
      return fail(fmt::format("bad dimension '{}' in the shape", item));
    a.shape.push_back(v);
  }
  const size_t data_at = prefix + header_len;
  const uint64_t want = numel * uint64_t(dtype_size(a.dtype));
  if (numel > (uint64_t(1) << 60) || file.size() - data_at != want)
    return fail(fmt::format("data is {} bytes, the header's shape {} needs {}",
                            file.size() - data_at, shape_tuple(a.shape), want));
  a.bytes.assign(file.begin() + long(data_at), file.end());
  return a;
}

}  // namespace titans::io
