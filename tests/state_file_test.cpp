// Memory-state snapshots (infer/state_file.h), every registered architecture's tiny preset in
// float64 and float32: stream A, save, load into a fresh Streamer, stream B gives exactly the
// logits of streaming A then B in one Streamer (the state is copied bit for bit), for stops on
// and between chunk, segment and window boundaries. Then every way a snapshot can be wrong or
// damaged is refused with one line naming the file and the problem.
#include "infer/state_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "io/safetensors.h"
#include "io_test_util.h"
#include "model_test_util.h"
#include "models/model_config.h"
#include "models/model_file.h"

namespace titans {
namespace {

constexpr int64_t kB = 2, kPiece = 8, kTailTokens = 23;

std::unique_ptr<Model> make_model(const std::string& arch, DType dtype, uint64_t seed = 3) {
  Result<ModelConfig> c = resolve_config(arch + "-tiny");
  EXPECT_TRUE(c.ok()) << c.message();
  Result<std::unique_ptr<Model>> m = create_model(*c, seed, dtype);
  EXPECT_TRUE(m.ok()) << m.message();
  return std::move(m.value());
}

// ids[:, t0:t1] of a row-major kB × T list.
std::vector<int32_t> columns(const std::vector<int32_t>& ids, int64_t T, int64_t t0, int64_t t1) {
  std::vector<int32_t> out;
  for (int64_t b = 0; b < kB; ++b)
    out.insert(out.end(), ids.begin() + b * T + t0, ids.begin() + b * T + t1);
  return out;
}

// Every logit a Streamer hands out while it is fed `ids`, in order.
std::vector<float> feed_logits(Streamer& s, const std::vector<int32_t>& ids) {
  std::vector<float> out;
  const Status st = s.feed(ids, [&](const float* lp, int64_t n, int64_t) {
    out.insert(out.end(), lp, lp + kB * n * s.model().config().vocab_size);
  });
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

std::vector<float> last_of(const Streamer& s) {
  return {s.last_logits().begin(), s.last_logits().end()};
}

struct Case {
  std::string arch;
  DType dtype;
};

class StateFileRoundTrip : public io::testing::ScratchDir,
                           public ::testing::WithParamInterface<Case> {};

TEST_P(StateFileRoundTrip, ContinuesExactlyLikeOneStream) {
  const std::unique_ptr<Model> model = make_model(GetParam().arch, GetParam().dtype);
  ASSERT_TRUE(model);
  const int64_t V = model->config().vocab_size;
  // Stops: mid-chunk, on a chunk end (chunk 4), on a segment / window end (16), just after, later.
  for (int64_t head :
       {int64_t(1), int64_t(5), int64_t(12), int64_t(16), int64_t(17), int64_t(40)}) {
    SCOPED_TRACE("stop after " + std::to_string(head) + " tokens");
    const int64_t T = head + kTailTokens;
    const std::vector<int32_t> ids = random_ids(kB * T, V, 100 + uint64_t(head));
    const std::vector<int32_t> a = columns(ids, T, 0, head), b = columns(ids, T, head, T);

    Streamer one(*model, kB, kPiece);
    feed_logits(one, a);
    const std::vector<float> want = feed_logits(one, b);

    Streamer first(*model, kB, kPiece);
    feed_logits(first, a);
    const std::string file = path("state.safetensors");
    ASSERT_TRUE(save_state(file, *model, first.state(), first.last_logits()).ok());

    Graph g;
    std::vector<float> last;
    Result<ModelState> st = load_state(file, *model, g, &last);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(st->pos, head);
    EXPECT_EQ(st->batch, kB);
    EXPECT_EQ(last, last_of(first));
    // Every tensor comes back with the same name, shape and bytes.
    const auto saved = state_tensors(first.state()), loaded = state_tensors(*st);
    ASSERT_EQ(saved.size(), loaded.size());
    for (size_t i = 0; i < saved.size(); ++i) {
      EXPECT_EQ(saved[i].first, loaded[i].first);
      ASSERT_EQ(saved[i].second.shape, loaded[i].second.shape) << saved[i].first;
      ASSERT_EQ(saved[i].second.dtype, GetParam().dtype) << saved[i].first;
      EXPECT_EQ(std::memcmp(saved[i].second.data, loaded[i].second.data,
                            size_t(saved[i].second.numel()) * dtype_size(GetParam().dtype)),
                0)
          << saved[i].first;
    }

    Streamer second(*model, kB, kPiece);
    ASSERT_TRUE(second.set_state(*st).ok());
    EXPECT_EQ(second.position(), head);
    const std::vector<float> got = feed_logits(second, b);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
    EXPECT_EQ(last_of(second), last_of(one));
    EXPECT_EQ(second.position(), T);
  }
}

TEST_P(StateFileRoundTrip, AnEmptyStateIsASequenceStart) {
  const std::unique_ptr<Model> model = make_model(GetParam().arch, GetParam().dtype);
  ASSERT_TRUE(model);
  Streamer fresh(*model, kB, kPiece);
  const std::string file = path("empty.safetensors");
  ASSERT_TRUE(save_state(file, *model, fresh.state()).ok());
  Graph g;
  std::vector<float> last{1.0f};
  Result<ModelState> st = load_state(file, *model, g, &last);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(st->started());
  EXPECT_EQ(st->pos, 0);
  EXPECT_TRUE(last.empty());
  const std::vector<int32_t> ids = random_ids(kB * 9, model->config().vocab_size, 5);
  Streamer loaded(*model, kB, kPiece);
  ASSERT_TRUE(loaded.set_state(*st).ok());
  EXPECT_EQ(feed_logits(loaded, ids), feed_logits(fresh, ids));
}

std::vector<Case> every_case() {
  std::vector<Case> v;
  for (const ArchInfo& a : architectures())
    for (DType d : {DType::f64, DType::f32}) v.push_back({a.name, d});
  return v;
}

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, StateFileRoundTrip, ::testing::ValuesIn(every_case()),
                         [](const auto& info) {
                           return info.param.arch +
                                  (info.param.dtype == DType::f64 ? "_f64" : "_f32");
                         });

// ---- refusals: each one line naming the file and the problem, never a crash.

struct TensorCopy {
  std::string name;
  io::FileDType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
using Edit = std::function<void(std::vector<TensorCopy>&, std::map<std::string, std::string>&)>;

class StateFileRefusal : public io::testing::ScratchDir {
 protected:
  void SetUp() override {
    ScratchDir::SetUp();
    model_ = make_model("titans_mac", DType::f32);
    ASSERT_TRUE(model_);
    // 22 tokens: a second segment (segment-start memory) and a pending chunk (22 mod 4 = 2).
    Streamer s(*model_, kB, kPiece);
    ASSERT_TRUE(s.feed(random_ids(kB * 22, 256, 8)).ok());
    good_ = path("good.safetensors");
    ASSERT_TRUE(save_state(good_, *model_, s.state(), s.last_logits()).ok());
  }
  // good_ rewritten through `edit` into a new file; returns its path.
  std::string rewrite(const std::string& name, const Edit& edit) {
    Result<io::SafetensorsFile> f = io::SafetensorsFile::open(good_);
    EXPECT_TRUE(f.ok());
    std::vector<TensorCopy> ts;
    for (const io::TensorEntry& e : f->entries()) {
      const std::span<const uint8_t> d = f->data(e);
      ts.push_back({e.name, e.dtype, e.shape, {d.begin(), d.end()}});
    }
    std::map<std::string, std::string> meta = f->metadata();
    edit(ts, meta);
    std::vector<io::TensorToWrite> w;
    for (const TensorCopy& t : ts) w.push_back({t.name, t.dtype, t.shape, t.bytes.data()});
    const std::string out = path(name);
    const Status s = io::write_safetensors(out, w, meta);
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }
  // Loading `file` into `model` (default: the snapshot's) fails with one line naming the file and
  // containing `problem`.
  void expect_refused(const std::string& file, const std::string& problem,
                      const Model* model = nullptr) {
    Graph g;
    Result<ModelState> st = load_state(file, model ? *model : *model_, g);
    ASSERT_FALSE(st.ok()) << "loaded: " << file;
    EXPECT_EQ(st.message().rfind(file, 0), 0u) << st.message();
    EXPECT_NE(st.message().find(problem), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find('\n'), std::string::npos) << st.message();
  }
  static TensorCopy& find(std::vector<TensorCopy>& ts, const std::string& name) {
    for (TensorCopy& t : ts)
      if (t.name == name) return t;
    ADD_FAILURE() << "no tensor " << name;
    return ts.front();
  }

  std::unique_ptr<Model> model_;
  std::string good_;
};

TEST_F(StateFileRefusal, TheGoodFileLoads) {
  Graph g;
  Result<ModelState> st = load_state(good_, *model_, g);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(st->pos, 22);
  EXPECT_TRUE(st->layers[0].memory_segment_start.started());
  EXPECT_EQ(st->layers[0].memory.pending(), 2);
  // Rewriting without an edit changes nothing (the refusals below differ by their edit only).
  Result<ModelState> same =
      load_state(rewrite("same.safetensors", [](auto&, auto&) {}), *model_, g);
  EXPECT_TRUE(same.ok()) << same.message();
}

TEST_F(StateFileRefusal, AnotherModelNamesBothHashes) {
  const std::unique_ptr<Model> other = make_model("titans_mac", DType::f32, 4);
  expect_refused(good_,
                 "made by another model (hash '" + model_hash_string(*model_) +
                     "'), this model's is " + model_hash_string(*other),
                 other.get());
}

TEST_F(StateFileRefusal, AnotherArchitecture) {
  const std::unique_ptr<Model> other = make_model("titans_mag", DType::f32);
  expect_refused(good_, "a snapshot of a 'titans_mac' model, this model is titans_mag",
                 other.get());
}

TEST_F(StateFileRefusal, AFloat64ModelRefusesAFloat32State) {
  // The hash is over float32-rounded values: the same model in float64 reaches the dtype check.
  const std::unique_ptr<Model> f64 = make_model("titans_mac", DType::f64);
  EXPECT_EQ(model_hash(*f64), model_hash(*model_));
  expect_refused(good_, "has dtype F32, expected F64", f64.get());
}

TEST_F(StateFileRefusal, ATruncatedFile) {
  std::vector<uint8_t> bytes = io::testing::read_bytes(good_);
  for (size_t keep : {size_t(0), size_t(5), size_t(100), bytes.size() / 2, bytes.size() - 1}) {
    const std::string p = path("cut.safetensors");
    io::testing::write_bytes(p, std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(keep)));
    Graph g;
    Result<ModelState> st = load_state(p, *model_, g);
    ASSERT_FALSE(st.ok()) << keep;
    EXPECT_EQ(st.message().rfind(p, 0), 0u) << st.message();
  }
}

TEST_F(StateFileRefusal, AFlippedHeaderByte) {
  std::vector<uint8_t> bytes = io::testing::read_bytes(good_);
  bytes[8] = 'x';  // the header's opening brace
  const std::string p = path("flipped.safetensors");
  io::testing::write_bytes(p, bytes);
  expect_refused(p, "JSON");
  // Any flipped header byte: refused or loaded, never a crash (most are refused).
  uint64_t header_len = 0;
  std::memcpy(&header_len, io::testing::read_bytes(good_).data(), 8);
  int refused = 0, tried = 0;
  for (uint64_t i = 0; i < 8 + header_len; i += 29) {
    std::vector<uint8_t> b = io::testing::read_bytes(good_);
    b[i] ^= 0x5a;
    io::testing::write_bytes(p, b);
    Graph g;
    refused += load_state(p, *model_, g).ok() ? 0 : 1;
    ++tried;
  }
  EXPECT_GT(refused, tried * 9 / 10);
}

TEST_F(StateFileRefusal, AWrongFormatVersion) {
  expect_refused(rewrite("v2.safetensors", [](auto&, auto& meta) { meta["format_version"] = "2"; }),
                 "snapshot format_version '2', this build reads \"1\"");
}

TEST_F(StateFileRefusal, AModelFileIsNotASnapshot) {
  const std::string p = path("model.safetensors");
  ASSERT_TRUE(save_model(p, *model_).ok());
  expect_refused(p, "a model file or checkpoint, not a memory-state snapshot");
}

TEST_F(StateFileRefusal, AMissingTensor) {
  for (const char* name : {"layers.0.memory.w.1", "layers.1.k", "layers.0.q_tail",
                           "layers.1.memory.pend_k", "layers.0.memory_segment_start.s.2"}) {
    const std::string p = rewrite("missing.safetensors", [&](auto& ts, auto&) {
      std::erase_if(ts, [&](const TensorCopy& t) { return t.name == name; });
    });
    expect_refused(p, "tensor '" + std::string(name) + "' is missing");
  }
}

TEST_F(StateFileRefusal, AnUnexpectedTensor) {
  expect_refused(rewrite("extra.safetensors",
                         [](auto& ts, auto&) {
                           ts.push_back({"layers.0.bogus", io::FileDType::F32, {1}, {0, 0, 0, 0}});
                         }),
                 "1 unexpected tensor: 'layers.0.bogus'");
  // A memory tensor of a memory the model does not have: titans_mac has no Infini memory.
  expect_refused(
      rewrite("infini.safetensors",
              [](auto& ts, auto&) {
                ts.push_back({"layers.0.infini_z", io::FileDType::F32, {1}, {0, 0, 0, 0}});
              }),
      "unexpected tensor: 'layers.0.infini_z'");
}

TEST_F(StateFileRefusal, AWrongShape) {
  // A memory weight whose shape is not the model's mem_w0 shape.
  expect_refused(rewrite("w.safetensors",
                         [](auto& ts, auto&) {
                           TensorCopy& t = find(ts, "layers.0.memory.w.1");
                           t.shape.back() -= 1;
                           t.bytes.resize(t.bytes.size() / 16 * 15);
                         }),
                 "tensor 'layers.0.memory.w.1' has shape [2, 2, 32, 15], expected [2, 2, 32, 16]");
  // Another batch in one tensor.
  expect_refused(rewrite("b.safetensors",
                         [](auto& ts, auto&) {
                           TensorCopy& t = find(ts, "layers.1.q_tail");
                           t.shape[0] = 1;
                           t.bytes.resize(t.bytes.size() / 2);
                         }),
                 "tensor 'layers.1.q_tail' has shape [1, 3, 32], expected [2, 3, 32]");
  // A pending chunk that does not match the memory's position.
  expect_refused(
      rewrite("pend.safetensors", [](auto&, auto& meta) { meta["layers.0.memory.pos"] = "23"; }),
      "tensor 'layers.0.memory.pend_k' has shape [2, 2, 2, 16], expected [2, 2, 3, 16]");
  // Keys and values of one cache that disagree.
  expect_refused(
      rewrite("kv.safetensors",
              [](auto& ts, auto&) {
                TensorCopy& t = find(ts, "layers.0.v");
                t.shape[1] -= 1;
                t.bytes.resize(t.bytes.size() / size_t(t.shape[1] + 1) * size_t(t.shape[1]));
              }),
      "tensors layers.0.k and layers.0.v hold 6 and 5 tokens");
}

TEST_F(StateFileRefusal, ANonFiniteValue) {
  expect_refused(rewrite("nan.safetensors",
                         [](auto& ts, auto&) {
                           const float nan = std::numeric_limits<float>::quiet_NaN();
                           std::memcpy(find(ts, "layers.1.memory.s.2").bytes.data() + 8, &nan, 4);
                         }),
                 "tensor 'layers.1.memory.s.2' holds a non-finite value");
}

TEST_F(StateFileRefusal, BadMetadata) {
  expect_refused(rewrite("pos.safetensors", [](auto&, auto& meta) { meta["position"] = "-3"; }),
                 "metadata \"position\" is '-3', not a count");
  expect_refused(
      rewrite("nopos.safetensors", [](auto&, auto& meta) { meta.erase("layers.1.memory.pos"); }),
      "metadata \"layers.1.memory.pos\" is missing");
}

}  // namespace
}  // namespace titans
