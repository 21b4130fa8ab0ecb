// The file formats of src/io: safetensors round trips, atomic writes, one test per kind of
// corruption (each checks that the one-line error names the problem), .npy files.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdlib>
#include <map>

#include "io/atomic_file.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "io_test_util.h"

namespace titans::io {
namespace {

using testing::raw_file;
using testing::read_bytes;
using testing::write_bytes;

// ---- round trips ---------------------------------------------------------------------------

// One tensor of every engine dtype plus the edge shapes: empty and scalar.
struct Sample {
  std::vector<float> f32{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f};
  std::vector<double> f64{1.0, 0.5, 1.0 / 3.0, 0.25};
  std::vector<bf16> b16{to_bf16(1.5f), to_bf16(-2.0f), to_bf16(0.25f)};
  std::vector<int32_t> i32{-2, -1, 0, 1};
  float scalar = 3.25f;

  std::vector<TensorToWrite> tensors() const {
    return {{"a.f32", FileDType::F32, {2, 3}, f32.data()},
            {"b.f64", FileDType::F64, {4}, f64.data()},
            {"c.bf16", FileDType::BF16, {3}, b16.data()},
            {"d.i32", FileDType::I32, {2, 2}, i32.data()},
            {"e.empty", FileDType::F32, {0, 3}, nullptr},
            {"f.scalar", FileDType::F32, {}, &scalar}};
  }
  std::map<std::string, std::string> metadata() const {
    return {{"config", R"({"d_model": 8, "name": "sample"})"}, {"note", "written by io_test"}};
  }
};

template <class T>
std::vector<T> values_of(const SafetensorsFile& f, const std::string& name) {
  const std::span<const uint8_t> bytes = f.data(*f.find(name));
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

class Safetensors : public testing::ScratchDir {};

TEST_F(Safetensors, RoundTripEveryDtypeEmptyAndScalarWithMetadata) {
  const Sample s;
  const std::string path = this->path("sample.safetensors");
  ASSERT_TRUE(write_safetensors(path, s.tensors(), s.metadata()).ok());
  auto f = SafetensorsFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  ASSERT_EQ(f->entries().size(), 6u);
  EXPECT_EQ(f->find("a.f32")->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f->find("c.bf16")->dtype, FileDType::BF16);
  EXPECT_EQ(f->find("e.empty")->numel(), 0);
  EXPECT_EQ(f->find("f.scalar")->shape, std::vector<int64_t>{});
  EXPECT_EQ(f->find("f.scalar")->numel(), 1);
  EXPECT_EQ(values_of<float>(*f, "a.f32"), s.f32);
  EXPECT_EQ(values_of<double>(*f, "b.f64"), s.f64);
  EXPECT_EQ(values_of<int32_t>(*f, "d.i32"), s.i32);
  EXPECT_EQ(values_of<uint16_t>(*f, "c.bf16"),
            (std::vector<uint16_t>{s.b16[0].bits, s.b16[1].bits, s.b16[2].bits}));
  EXPECT_EQ(values_of<float>(*f, "f.scalar"), std::vector<float>{3.25f});
  EXPECT_EQ(f->metadata().at("config"), s.metadata().at("config"));
  EXPECT_EQ(f->metadata().at("note"), "written by io_test");
  EXPECT_EQ(f->metadata().at(kFormatKey), kFormatName);
  EXPECT_EQ(f->metadata().at(kFormatVersionKey), kFormatVersion);

  // Into engine tensors, through the checked accessor.
  std::vector<float> into(6);
  ASSERT_TRUE(f->read_into("a.f32", wrap(into.data(), Shape{2, 3}, DType::f32)).ok());
  EXPECT_EQ(into, s.f32);
  float scalar = 0;
  ASSERT_TRUE(f->read_into("f.scalar", wrap(&scalar, Shape{}, DType::f32)).ok());
  EXPECT_EQ(scalar, 3.25f);
  ASSERT_TRUE(f->read_into("e.empty", wrap(nullptr, Shape{0, 3}, DType::f32)).ok());
}

TEST_F(Safetensors, OutputIsDeterministicAlignedAndEqualToTheEncoding) {
  const Sample s;
  const std::string path = this->path("a.safetensors");
  ASSERT_TRUE(write_safetensors(path, s.tensors(), s.metadata()).ok());
  auto encoded = encode_safetensors(s.tensors(), s.metadata());
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(read_bytes(path), *encoded);
  // The same tensors given in another order give the same bytes.
  auto reversed = s.tensors();
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(*encode_safetensors(reversed, s.metadata()), *encoded);

  uint64_t header_len = 0;
  std::memcpy(&header_len, encoded->data(), 8);
  EXPECT_EQ((8 + header_len) % 8, 0u) << "the data must start on 8 bytes";
  // Largest elements first: every tensor starts aligned to its element size.
  auto f = SafetensorsFile::parse("a", *encoded);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->find("b.f64")->begin, 0u);
  for (const TensorEntry& e : f->entries())
    EXPECT_EQ(e.begin % uint64_t(file_dtype_size(e.dtype)), 0u) << e.name;
}

TEST_F(Safetensors, TensorToWriteTakesAnEngineTensor) {
  std::vector<double> v{1, 2, 3, 4, 5, 6};
  const Tensor t = wrap(v.data(), Shape{3, 2}, DType::f64);
  const TensorToWrite w = tensor_to_write("w", t);
  auto bytes = encode_safetensors({&w, 1}, {});
  ASSERT_TRUE(bytes.ok());
  auto f = SafetensorsFile::parse("t", *bytes);
  ASSERT_TRUE(f.ok()) << f.message();
  std::vector<double> back(6);
  ASSERT_TRUE(f->read_into("w", wrap(back.data(), Shape{3, 2}, DType::f64)).ok());
  EXPECT_EQ(back, v);
}

TEST_F(Safetensors, WriterRefusesWhatTheReaderWouldRefuse) {
  const float x = 1;
  const std::vector<TensorToWrite> twice{{"w", FileDType::F32, {1}, &x},
                                         {"w", FileDType::F32, {1}, &x}};
  EXPECT_NE(encode_safetensors(twice, {}).message().find("'w': the name appears twice"),
            std::string::npos);
  const std::vector<TensorToWrite> negative{{"w", FileDType::F32, {-1}, &x}};
  EXPECT_NE(encode_safetensors(negative, {}).message().find("negative dimension"),
            std::string::npos);
  const std::vector<TensorToWrite> reserved{{"__metadata__", FileDType::F32, {1}, &x}};
  EXPECT_NE(encode_safetensors(reserved, {}).message().find("reserved"), std::string::npos);
  const std::vector<TensorToWrite> no_data{{"w", FileDType::F32, {2}, nullptr}};
  EXPECT_NE(encode_safetensors(no_data, {}).message().find("no data"), std::string::npos);
}

// ---- atomic writes -------------------------------------------------------------------------

const std::vector<uint8_t> kOldContents{'o', 'l', 'd'};

std::vector<TensorToWrite> big_tensor(const std::vector<float>& data) {
  return {{"big", FileDType::F32, {int64_t(data.size())}, data.data()}};
}

TEST_F(Safetensors, FailedWriteLeavesTheOldFileAndNoTemporary) {
  const std::string target = path("model.safetensors");
  write_bytes(target, kOldContents);
  const std::vector<float> data(4096, 1.0f);
  // A file-size limit makes write(2) fail half-way (EFBIG) — also as root, unlike permissions.
  // SIGXFSZ would kill the process instead; ignore it so the error comes back from write(2).
  struct rlimit old_limit {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit small = old_limit;
  small.rlim_cur = 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  const Status st = write_safetensors(target, big_tensor(data), {});
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("writing"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().rfind(target + ": ", 0), 0u) << st.message();
  EXPECT_EQ(read_bytes(target), kOldContents);
  EXPECT_FALSE(std::filesystem::exists(atomic_temp_path(target)));
}

TEST_F(Safetensors, WriteUnderARegularFileFailsCleanly) {
  const std::string not_a_dir = path("plain_file");
  write_bytes(not_a_dir, kOldContents);
  const std::string target = not_a_dir + "/model.safetensors";
  const std::vector<float> data(16, 1.0f);
  const Status st = write_safetensors(target, big_tensor(data), {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot create"), std::string::npos) << st.message();
  EXPECT_EQ(read_bytes(not_a_dir), kOldContents);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1) << "a stray file";
}

TEST_F(Safetensors, FailedRenameRemovesTheTemporary) {
  // rename(2) cannot replace a non-empty folder, whoever runs the test.
  const std::string target = path("occupied");
  std::filesystem::create_directories(target + "/inside");
  const std::vector<float> data(16, 1.0f);
  const Status st = write_safetensors(target, big_tensor(data), {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot replace"), std::string::npos) << st.message();
  EXPECT_TRUE(std::filesystem::is_directory(target + "/inside"));
  EXPECT_FALSE(std::filesystem::exists(atomic_temp_path(target)));
}

TEST_F(Safetensors, SuccessfulWriteReplacesTheOldFile) {
  const std::string target = path("model.safetensors");
  write_bytes(target, kOldContents);
  const std::vector<float> data(16, 2.0f);
  ASSERT_TRUE(write_safetensors(target, big_tensor(data), {}).ok());
  EXPECT_TRUE(SafetensorsFile::open(target).ok());
  EXPECT_FALSE(std::filesystem::exists(atomic_temp_path(target)));
}

// ---- corrupted files: one test per problem --------------------------------------------------

// The error of parsing `bytes` as "model.safetensors"; checks it is one line naming the file.
std::string error_of(const std::vector<uint8_t>& bytes) {
  auto f = SafetensorsFile::parse("model.safetensors", bytes);
  EXPECT_FALSE(f.ok()) << "the corrupted file was accepted";
  if (f.ok()) return "";
  const std::string& m = f.message();
  EXPECT_EQ(m.rfind("model.safetensors: ", 0), 0u) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  return m;
}

#define EXPECT_ERROR_HAS(bytes, text)                  \
  do {                                                 \
    const std::string message_ = error_of(bytes);      \
    EXPECT_NE(message_.find(text), std::string::npos)  \
        << "expected '" << (text) << "' in: " << message_; \
  } while (0)

const std::string kOneTensor = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST(SafetensorsCorrupt, ValidControlFileParses) {
  auto f = SafetensorsFile::parse("model.safetensors", raw_file(kOneTensor, 8));
  ASSERT_TRUE(f.ok()) << f.message();
}

TEST(SafetensorsCorrupt, FileShorterThanTheLengthField) {
  EXPECT_ERROR_HAS(std::vector<uint8_t>(5, 0), "file is 5 bytes, too short");
}

TEST(SafetensorsCorrupt, HeaderLengthZero) {
  EXPECT_ERROR_HAS(raw_file("", 8), "header length is 0");
}

TEST(SafetensorsCorrupt, HeaderLengthAbsurd) {
  EXPECT_ERROR_HAS(raw_file(kOneTensor, 8, uint64_t(1) << 40), "header length 1099511627776 is absurd");
}

TEST(SafetensorsCorrupt, HeaderLengthPastTheEndOfATruncatedFile) {
  std::vector<uint8_t> bytes = raw_file(kOneTensor, 8);
  bytes.resize(20);
  EXPECT_ERROR_HAS(bytes, "header length 54 runs past the end of the file (20 bytes");
}

TEST(SafetensorsCorrupt, TruncatedData) {
  std::vector<uint8_t> bytes = raw_file(kOneTensor, 8);
  bytes.resize(bytes.size() - 3);
  EXPECT_ERROR_HAS(bytes, "tensor 'w': data_offsets [0, 8] run past the end of the data (5 bytes)");
}

TEST(SafetensorsCorrupt, OffsetsPastTheEnd) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F32","shape":[1024],"data_offsets":[0,4096]}})", 2048),
                   "tensor 'w': data_offsets [0, 4096] run past the end of the data (2048 bytes)");
}

TEST(SafetensorsCorrupt, EndBeforeBegin) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8),
                   "tensor 'w': data_offsets [8, 4] end before they begin");
}

TEST(SafetensorsCorrupt, OverlappingTensors) {
  EXPECT_ERROR_HAS(raw_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                            R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", 24),
                   "tensors 'a' [0, 16] and 'b' [8, 24] overlap");
}

TEST(SafetensorsCorrupt, BytesThatBelongToNoTensor) {
  EXPECT_ERROR_HAS(raw_file(kOneTensor, 12), "data bytes [8, 12) at the end of the file belong to no tensor");
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                   "data bytes [0, 4) before tensor 'w' belong to no tensor");
}

TEST(SafetensorsCorrupt, UnknownDtype) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", 8),
                   "tensor 'w': unknown dtype 'F8_E4M3'");
}

TEST(SafetensorsCorrupt, SizeDisagreesWithDtypeAndShape) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                   "tensor 'w': data_offsets [0, 8] hold 8 bytes, but F32 [3] needs 12");
}

TEST(SafetensorsCorrupt, InvalidJson) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F32",)", 0), "header is not valid JSON");
}

TEST(SafetensorsCorrupt, HeaderNotUtf8) {
  EXPECT_ERROR_HAS(raw_file("{\"w\xff\":{}}", 0), "header is not valid UTF-8 (byte 3");
}

TEST(SafetensorsCorrupt, HeaderNotAnObject) {
  EXPECT_ERROR_HAS(raw_file("[1, 2]", 0), "header is not a JSON object (it is an array)");
}

TEST(SafetensorsCorrupt, EntryNotAnObject) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":[0,8]})", 8), "tensor 'w': entry is array, not an object");
}

TEST(SafetensorsCorrupt, MissingField) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", 8),
                   "tensor 'w': missing \"shape\"");
}

TEST(SafetensorsCorrupt, WronglyTypedField) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":"0-8"}})", 8),
                   "tensor 'w': \"data_offsets\" is \"0-8\", not [begin, end]");
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", 8),
                   "tensor 'w': \"dtype\" is a number, not a string");
}

TEST(SafetensorsCorrupt, NegativeDimension) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                   "tensor 'w': \"shape\" has a negative dimension -2");
}

TEST(SafetensorsCorrupt, FractionalDimension) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8),
                   "tensor 'w': \"shape\" holds a fraction");
}

TEST(SafetensorsCorrupt, ShapeProductOverflows) {
  // 2^32 × 2^32 wraps to 0 in 64 bits: an empty tensor, if the product were not checked.
  EXPECT_ERROR_HAS(
      raw_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0),
      "tensor 'w': shape [4294967296, 4294967296] has more elements than any file can hold");
}

TEST(SafetensorsCorrupt, DuplicateTensorName) {
  EXPECT_ERROR_HAS(raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                            R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                   "tensor 'w' appears twice");
}

TEST(SafetensorsCorrupt, MetadataNotStringToString) {
  EXPECT_ERROR_HAS(raw_file(R"({"__metadata__":{"epoch":3}})", 0),
                   "__metadata__ 'epoch' is a number, not a string");
  EXPECT_ERROR_HAS(raw_file(R"({"__metadata__":["x"]})", 0), "__metadata__ is array");
}

TEST(SafetensorsCorrupt, HostileNameStaysOnOneLine) {
  const std::string message =
      error_of(raw_file(R"({"evil\nname":{"dtype":"X","shape":[],"data_offsets":[0,0]}})", 0));
  EXPECT_NE(message.find("tensor 'evil\\nname': unknown dtype"), std::string::npos) << message;
}

TEST(SafetensorsCorrupt, MissingFileNamesThePath) {
  auto f = SafetensorsFile::open("/nonexistent/titans/model.safetensors");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.message(), "/nonexistent/titans/model.safetensors: cannot open: No such file or directory");
}

// ---- checked access ------------------------------------------------------------------------

SafetensorsFile sample_file() {
  const Sample s;
  auto bytes = encode_safetensors(s.tensors(), s.metadata());
  return std::move(*SafetensorsFile::parse("model.safetensors", *bytes));
}

TEST(SafetensorsGet, MissingTensor) {
  auto e = sample_file().get("norm.weight", DType::f32, Shape{128});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.message(), "model.safetensors: no tensor 'norm.weight'");
}

TEST(SafetensorsGet, WrongShape) {
  auto e = sample_file().get("a.f32", DType::f32, Shape{3, 2});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.message(), "model.safetensors: tensor 'a.f32' has shape [2, 3], expected [3, 2]");
}

TEST(SafetensorsGet, WrongDtype) {
  std::vector<double> dst(6);
  const Status st = sample_file().read_into("a.f32", wrap(dst.data(), Shape{2, 3}, DType::f64));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "model.safetensors: tensor 'a.f32' has dtype F32, expected F64");
}

TEST(SafetensorsGet, ExtraTensorsAreReported) {
  const SafetensorsFile f = sample_file();
  const std::vector<std::string> all{"a.f32", "b.f64", "c.bf16", "d.i32", "e.empty", "f.scalar"};
  EXPECT_TRUE(f.check_no_extra(all).ok());
  const std::vector<std::string> some{"a.f32", "b.f64", "c.bf16", "d.i32"};
  EXPECT_EQ(f.check_no_extra(some).message(),
            "model.safetensors: 2 unexpected tensors: 'e.empty', 'f.scalar'");
}

// ---- .npy ----------------------------------------------------------------------------------

class Npy : public testing::ScratchDir {};

TEST_F(Npy, RoundTripF32AndI32) {
  const std::vector<float> f{1.5f, -2.0f, 0.0f, 4.0f, 5.0f, 6.0f};
  const std::vector<int64_t> shape{2, 3};
  ASSERT_TRUE(write_npy(path("f.npy"), DType::f32, shape, f.data()).ok());
  auto a = read_npy(path("f.npy"));
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->dtype, DType::f32);
  EXPECT_EQ(a->shape, shape);
  EXPECT_EQ(std::vector<float>(a->as<float>(), a->as<float>() + 6), f);

  const std::vector<int32_t> ids{7, -8, 9};
  ASSERT_TRUE(write_npy(path("i.npy"), wrap(const_cast<int32_t*>(ids.data()), Shape{3}, DType::i32))
                  .ok());
  auto b = read_npy(path("i.npy"));
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(b->shape, std::vector<int64_t>{3});
  EXPECT_EQ(std::vector<int32_t>(b->as<int32_t>(), b->as<int32_t>() + 3), ids);
  // NumPy's layout: the data starts on a multiple of 64 bytes, the header ends in '\n'.
  const std::vector<uint8_t> bytes = read_bytes(path("i.npy"));
  EXPECT_EQ((bytes.size() - 12) % 64, 0u);
  EXPECT_EQ(bytes[bytes.size() - 13], '\n');
}

TEST_F(Npy, ScalarAndBf16) {
  const float x = 2.5f;
  ASSERT_TRUE(write_npy(path("s.npy"), DType::f32, {}, &x).ok());
  auto a = read_npy(path("s.npy"));
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_TRUE(a->shape.empty());
  EXPECT_EQ(*a->as<float>(), 2.5f);
  const Status st = write_npy(path("b.npy"), DType::bf16, std::vector<int64_t>{1}, &x);
  EXPECT_NE(st.message().find(".npy cannot hold bf16"), std::string::npos) << st.message();
}

TEST_F(Npy, TruncatedDataIsRefused) {
  const std::vector<float> f(8, 1.0f);
  ASSERT_TRUE(write_npy(path("f.npy"), DType::f32, std::vector<int64_t>{8}, f.data()).ok());
  std::vector<uint8_t> bytes = read_bytes(path("f.npy"));
  bytes.resize(bytes.size() - 4);
  write_bytes(path("f.npy"), bytes);
  auto a = read_npy(path("f.npy"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.message().find("data is 28 bytes, the header's shape (8,) needs 32"),
            std::string::npos) << a.message();
}

// ---- the sample the Python reader checks (CTest Reference.SafetensorsFromCpp) ---------------

// Writes Sample and .npy files into $TITANS_IO_SAMPLE_DIR for reference/test_safetensors_io.py;
// skipped when the variable is not set.
TEST(PythonSample, Write) {
  const char* dir = std::getenv("TITANS_IO_SAMPLE_DIR");
  if (!dir) GTEST_SKIP() << "TITANS_IO_SAMPLE_DIR not set";
  std::filesystem::create_directories(dir);
  const Sample s;
  const std::string base = std::string(dir) + "/";
  ASSERT_TRUE(write_safetensors(base + "sample.safetensors", s.tensors(), s.metadata()).ok());
  ASSERT_TRUE(write_npy(base + "sample_f32.npy", DType::f32, std::vector<int64_t>{2, 3},
                        s.f32.data()).ok());
  ASSERT_TRUE(write_npy(base + "sample_i32.npy", DType::i32, std::vector<int64_t>{4},
                        s.i32.data()).ok());
}

}  // namespace
}  // namespace titans::io
