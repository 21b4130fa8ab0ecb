// Reading and validating safetensors files. The writer is in safetensors_write.cpp.
#include "io/safetensors.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "io/text.h"

namespace titans::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is copied as bytes");

using nlohmann::json;

// ---- dtypes ----------------------------------------------------------------------------------

namespace {

struct DTypeInfo {
  FileDType type;
  const char* tag;
  int size;
};
constexpr DTypeInfo kDTypes[] = {
    {FileDType::F64, "F64", 8},  {FileDType::F32, "F32", 4}, {FileDType::F16, "F16", 2},
    {FileDType::BF16, "BF16", 2}, {FileDType::I64, "I64", 8}, {FileDType::I32, "I32", 4},
    {FileDType::U8, "U8", 1},
};

const DTypeInfo& info(FileDType t) {
  for (const DTypeInfo& d : kDTypes)
    if (d.type == t) return d;
  TITANS_CHECK(false, "FileDType missing from kDTypes");
  return kDTypes[0];
}

}  // namespace

const char* file_dtype_name(FileDType t) { return info(t).tag; }
int file_dtype_size(FileDType t) { return info(t).size; }

std::optional<FileDType> parse_file_dtype(std::string_view tag) {
  for (const DTypeInfo& d : kDTypes)
    if (tag == d.tag) return d.type;
  return std::nullopt;
}

FileDType to_file_dtype(DType t) {
  switch (t) {
    case DType::f32: return FileDType::F32;
    case DType::f64: return FileDType::F64;
    case DType::bf16: return FileDType::BF16;
    case DType::i32: return FileDType::I32;
  }
  TITANS_CHECK(false, "DType without a file dtype");
  return FileDType::F32;
}

std::optional<DType> to_engine_dtype(FileDType t) {
  switch (t) {
    case FileDType::F32: return DType::f32;
    case FileDType::F64: return DType::f64;
    case FileDType::BF16: return DType::bf16;
    case FileDType::I32: return DType::i32;
    default: return std::nullopt;
  }
}

int64_t TensorEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated not to overflow when the file was opened
  return n;
}

std::string shape_string(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// ---- the bytes of a file ---------------------------------------------------------------------

struct SafetensorsFile::Bytes {
  const uint8_t* ptr = nullptr;
  size_t size = 0;
  std::vector<uint8_t> owned;  // parse(): the caller's buffer
  void* mapping = nullptr;     // open(): a read-only private mapping
  size_t mapped = 0;

  Bytes() = default;
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;
  ~Bytes() {
    if (mapping) ::munmap(mapping, mapped);
  }
};

// ---- validation ------------------------------------------------------------------------------

namespace {

// A header problem, before the file label is prefixed.
struct Problem {
  std::string text;
};

// Why nlohmann rejected the header, on one short line: its messages quote the last token read,
// which in a corrupted file can be megabytes long.
std::string json_error_text(const char* what) {
  std::string s = what;
  if (s.rfind("[json.exception.", 0) == 0) {
    const size_t close = s.find("] ");
    if (close != std::string::npos) s = s.substr(close + 2);
  }
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  // The cut may split a multi-byte character; the message must stay valid text.
  size_t bad = 0;
  while (!is_valid_utf8(s, &bad)) s.erase(bad, 1);
  return s;
}

const char* json_kind(const json& j) { return j.type_name(); }

// Parses the header, refusing duplicate keys (nlohmann would silently keep the last one, so two
// tensors of the same name would load whichever came second).
std::optional<Problem> parse_header(std::string_view text, json* out) {
  size_t bad = 0;
  if (!is_valid_utf8(text, &bad))
    return Problem{fmt::format("header is not valid UTF-8 (byte {} of the header)", bad)};
  std::vector<std::set<std::string>> keys_per_object;
  std::optional<Problem> duplicate;
  const json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys_per_object.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      keys_per_object.pop_back();
    } else if (event == json::parse_event_t::key && !duplicate && !keys_per_object.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!keys_per_object.back().insert(key).second)
        duplicate = Problem{depth == 1 ? fmt::format("tensor {} appears twice", single_quoted(key))
                                       : fmt::format("key {} appears twice in an object of the "
                                                     "header", single_quoted(key))};
    }
    return true;
  };
  try {
    *out = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    return Problem{fmt::format("header is not valid JSON: {}", json_error_text(e.what()))};
  }
  if (duplicate) return duplicate;
  if (!out->is_object())
    return Problem{fmt::format("header is not a JSON object (it is {} {})",
                               out->is_array() ? "an" : "a", json_kind(*out))};
  return std::nullopt;
}

std::optional<Problem> parse_metadata(const json& j, std::map<std::string, std::string>* out) {
  if (!j.is_object())
    return Problem{fmt::format("__metadata__ is {}, not an object of strings", json_kind(j))};
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string())
      return Problem{fmt::format("__metadata__ {} is a {}, not a string", single_quoted(key),
                                 json_kind(value))};
    (*out)[key] = value.get<std::string>();
  }
  return std::nullopt;
}

// Checks one entry's fields and its byte range against the data buffer of `data_size` bytes.
std::optional<Problem> parse_entry(const std::string& name, const json& j, uint64_t data_size,
                                   TensorEntry* e) {
  const std::string who = fmt::format("tensor {}", single_quoted(name));
  const auto problem = [&](const std::string& what) { return Problem{who + ": " + what}; };
  if (!j.is_object()) return problem(fmt::format("entry is {}, not an object", json_kind(j)));
  e->name = name;

  const auto dtype = j.find("dtype");
  if (dtype == j.end()) return problem("missing \"dtype\"");
  if (!dtype->is_string()) return problem(fmt::format("\"dtype\" is a {}, not a string",
                                                      json_kind(*dtype)));
  const auto& tag = dtype->get_ref<const std::string&>();
  const auto parsed = parse_file_dtype(tag);
  if (!parsed)
    return problem(fmt::format("unknown dtype {} (known: F64, F32, F16, BF16, I64, I32, U8)",
                               single_quoted(tag, 20)));
  e->dtype = *parsed;

  const auto shape = j.find("shape");
  if (shape == j.end()) return problem("missing \"shape\"");
  if (!shape->is_array()) return problem(fmt::format("\"shape\" is a {}, not a list",
                                                     json_kind(*shape)));
  // The number of elements and bytes, in unsigned arithmetic with overflow checks: a hostile shape
  // must not wrap around to a size that happens to match the offsets.
  uint64_t numel = 1;
  bool overflow = false;
  for (const json& d : *shape) {
    if (d.is_number_integer() && !d.is_number_unsigned())
      return problem(fmt::format("\"shape\" has a negative dimension {}", d.get<int64_t>()));
    if (!d.is_number_unsigned())
      return problem(fmt::format("\"shape\" holds a {}, not a dimension (a non-negative "
                                 "integer)", d.is_number() ? "fraction" : json_kind(d)));
    const uint64_t v = d.get<uint64_t>();
    if (v > uint64_t(INT64_MAX)) return problem(fmt::format("\"shape\" dimension {} is too large", v));
    e->shape.push_back(int64_t(v));
    overflow = overflow || __builtin_mul_overflow(numel, v, &numel);
  }
  uint64_t need = 0;
  overflow = overflow || numel > uint64_t(INT64_MAX) ||
             __builtin_mul_overflow(numel, uint64_t(file_dtype_size(e->dtype)), &need);
  if (overflow)
    return problem(fmt::format("shape {} has more elements than any file can hold",
                               shape_string(e->shape)));

  const auto offsets = j.find("data_offsets");
  if (offsets == j.end()) return problem("missing \"data_offsets\"");
  if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    return problem(fmt::format("\"data_offsets\" is {}, not [begin, end] (two non-negative "
                               "integers)", json_error_text(offsets->dump().c_str())));
  e->begin = (*offsets)[0].get<uint64_t>();
  e->end = (*offsets)[1].get<uint64_t>();
  const std::string range = fmt::format("data_offsets [{}, {}]", e->begin, e->end);
  if (e->end < e->begin) return problem(range + " end before they begin");
  if (e->end > data_size)
    return problem(fmt::format("{} run past the end of the data ({} bytes)", range, data_size));
  if (e->end - e->begin != need)
    return problem(fmt::format("{} hold {} bytes, but {} {} needs {}", range, e->end - e->begin,
                               file_dtype_name(e->dtype), shape_string(e->shape), need));
  return std::nullopt;
}

// Tensors must tile the data buffer exactly, as the reference implementation requires: an overlap
// would let two parameters alias, a hole or trailing bytes mean the header and the data disagree.
// Empty tensors hold no bytes and may sit at any offset inside the buffer.
std::optional<Problem> check_tiling(const std::vector<TensorEntry>& entries, uint64_t data_size) {
  std::vector<const TensorEntry*> order;
  for (const TensorEntry& e : entries)
    if (e.nbytes() > 0) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin < b->begin;
  });
  uint64_t covered = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry* e : order) {
    if (e->begin < covered)
      return Problem{fmt::format("tensors {} [{}, {}] and {} [{}, {}] overlap",
                                 single_quoted(previous->name), previous->begin, previous->end,
                                 single_quoted(e->name), e->begin, e->end)};
    if (e->begin > covered)
      return Problem{fmt::format("data bytes [{}, {}) before tensor {} belong to no tensor",
                                 covered, e->begin, single_quoted(e->name))};
    covered = e->end;
    previous = e;
  }
  if (covered != data_size)
    return Problem{fmt::format("data bytes [{}, {}) at the end of the file belong to no tensor",
                               covered, data_size)};
  return std::nullopt;
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::validate(std::string label,
                                                  std::shared_ptr<const Bytes> bytes) {
  const auto fail = [&](const std::string& what) {
    return Status::error(fmt::format("{}: {}", label, what));
  };
  const uint64_t size = bytes->size;
  if (size < 8)
    return fail(fmt::format("file is {} bytes, too short for the 8-byte header length of a "
                            "safetensors file", size));
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes->ptr, 8);  // little-endian (static_assert above)
  if (header_len == 0) return fail("header length is 0 (not a safetensors file?)");
  if (header_len > kMaxHeaderBytes)
    return fail(fmt::format("header length {} is absurd (limit {} bytes; not a safetensors "
                            "file?)", header_len, kMaxHeaderBytes));
  if (header_len > size - 8)
    return fail(fmt::format("header length {} runs past the end of the file ({} bytes; "
                            "truncated?)", header_len, size));

  SafetensorsFile f;
  f.data_start_ = 8 + header_len;
  const uint64_t data_size = size - f.data_start_;
  try {
    json header;
    const std::string_view text(reinterpret_cast<const char*>(bytes->ptr) + 8, header_len);
    if (auto p = parse_header(text, &header)) return fail(p->text);
    for (const auto& [key, value] : header.items()) {
      if (key == "__metadata__") {
        if (auto p = parse_metadata(value, &f.metadata_)) return fail(p->text);
        continue;
      }
      TensorEntry e;
      if (auto p = parse_entry(key, value, data_size, &e)) return fail(p->text);
      f.entries_.push_back(std::move(e));
    }
  } catch (const std::exception& e) {
    // Not expected (every type is checked before use); no exception may leave the library.
    return fail(fmt::format("header could not be read: {}", json_error_text(e.what())));
  }
  // nlohmann keeps object keys sorted, so entries_ is already ordered by name.
  if (auto p = check_tiling(f.entries_, data_size)) return fail(p->text);
  f.label_ = std::move(label);
  f.bytes_ = std::move(bytes);
  return f;
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error(fmt::format("{}: not a regular file", path));
  }
  auto bytes = std::make_shared<Bytes>();
  bytes->size = size_t(st.st_size);
  if (bytes->size > 0) {
    // A private read-only mapping: tensors are copied straight from the page cache, and a file is
    // never read twice. Writers replace files by rename (atomic_file.h), so the mapped inode stays.
    void* m = ::mmap(nullptr, bytes->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return Status::error(fmt::format("{}: cannot map the file: {}", path, why));
    }
    bytes->mapping = m;
    bytes->mapped = bytes->size;
    bytes->ptr = static_cast<const uint8_t*>(m);
  }
  ::close(fd);
  return validate(path, std::move(bytes));
}

Result<SafetensorsFile> SafetensorsFile::parse(std::string label, std::vector<uint8_t> data) {
  auto bytes = std::make_shared<Bytes>();
  bytes->owned = std::move(data);
  bytes->ptr = bytes->owned.data();
  bytes->size = bytes->owned.size();
  return validate(std::move(label), std::move(bytes));
}

// ---- access ----------------------------------------------------------------------------------

const TensorEntry* SafetensorsFile::find(std::string_view name) const {
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                                   [](const TensorEntry& e, std::string_view n) { return e.name < n; });
  return it != entries_.end() && it->name == name ? &*it : nullptr;
}

std::span<const uint8_t> SafetensorsFile::data(const TensorEntry& e) const {
  return {bytes_->ptr + data_start_ + e.begin, size_t(e.nbytes())};
}

Result<const TensorEntry*> SafetensorsFile::get(std::string_view name, DType dtype,
                                                const Shape& shape) const {
  const TensorEntry* e = find(name);
  if (!e) return Status::error(fmt::format("{}: no tensor {}", label_, single_quoted(name)));
  const FileDType want = to_file_dtype(dtype);
  if (e->dtype != want)
    return Status::error(fmt::format("{}: tensor {} has dtype {}, expected {}", label_,
                                     single_quoted(name), file_dtype_name(e->dtype),
                                     file_dtype_name(want)));
  const std::span<const int64_t> want_shape(shape.d, size_t(shape.ndim));
  if (!std::equal(e->shape.begin(), e->shape.end(), want_shape.begin(), want_shape.end()))
    return Status::error(fmt::format("{}: tensor {} has shape {}, expected {}", label_,
                                     single_quoted(name), shape_string(e->shape),
                                     shape_string(want_shape)));
  return e;
}

Status SafetensorsFile::read_into(std::string_view name, const Tensor& dst) const {
  TITANS_CHECK(dst.device == Device::cpu && dst.is_contiguous(),
               "read_into needs a contiguous CPU tensor");
  auto e = get(name, dst.dtype, dst.shape);
  if (!e.ok()) return e.status();
  const std::span<const uint8_t> src = data(**e);
  if (!src.empty()) std::memcpy(dst.data, src.data(), src.size());
  return Status();
}

Status SafetensorsFile::check_no_extra(std::span<const std::string> used) const {
  const std::set<std::string_view> known(used.begin(), used.end());
  std::vector<std::string> extra;
  for (const TensorEntry& e : entries_)
    if (!known.count(e.name)) extra.push_back(single_quoted(e.name));
  if (extra.empty()) return Status();
  constexpr size_t kShown = 8;
  const size_t shown = std::min(extra.size(), kShown);
  return Status::error(fmt::format(
      "{}: {} unexpected tensor{}: {}{}", label_, extra.size(), extra.size() == 1 ? "" : "s",
      fmt::join(extra.begin(), extra.begin() + long(shown), ", "),
      extra.size() > shown ? ", ..." : ""));
}

}  // namespace titans::io
