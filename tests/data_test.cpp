// The data pipeline below the tasks: the byte tokenizer, the corpus and its split, sentences, LM
// windows, and the sampler's position. Hermetic: a committed KJV excerpt (tests/data/).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/corpus.h"
#include "data/lm_windows.h"
#include "data/sampler.h"
#include "data/sentences.h"
#include "data/tokenizer.h"

namespace titans::data {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(__FILE__).parent_path() / "data" / "kjv_genesis_1-3.txt";

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh folder under the system temp folder, removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) : path(fs::temp_directory_path() / name) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

TEST(Tokenizer, VocabularyIsBytesThenThreeSpecialTokens) {
  EXPECT_EQ(kByteTokens, 256);
  EXPECT_EQ(kBos, 256);
  EXPECT_EQ(kEos, 257);
  EXPECT_EQ(kPad, 258);
  EXPECT_EQ(kVocabSize, 259);
}

TEST(Tokenizer, RoundTripsAsciiAndMultiByteUtf8) {
  const std::string text =
      "In the beginning. h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82\n\t";
  const std::vector<int32_t> ids = encode(text);
  ASSERT_EQ(ids.size(), text.size());  // one token per byte
  EXPECT_EQ(ids[0], 'I');
  EXPECT_EQ(ids[19], 0xC3);  // a UTF-8 lead byte maps to its byte value, not a negative char
  for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < kByteTokens);
  Result<std::string> back = decode(ids);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back.value(), text);
  std::vector<int32_t> every_byte(256);
  for (int i = 0; i < 256; ++i) every_byte[size_t(i)] = i;
  EXPECT_EQ(encode(decode(every_byte).value()), every_byte);
}

TEST(Tokenizer, SpecialTokensDecodeToTheirNames) {
  const std::vector<int32_t> ids = {kBos, 'h', 'i', kPad, kEos};
  EXPECT_EQ(decode(ids).value(), "<bos>hi<pad><eos>");
  EXPECT_EQ(special_token_name(kBos), "<bos>");
  EXPECT_EQ(special_token_name('a'), "");
}

TEST(Tokenizer, InvalidIdsAreErrorsNamingTheId) {
  for (int32_t bad : {-1, kVocabSize, 100000}) {
    const std::vector<int32_t> ids = {'a', bad};
    Result<std::string> r = decode(ids);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find(std::to_string(bad)), std::string::npos) << r.message();
    EXPECT_NE(r.message().find("index 1"), std::string::npos) << r.message();
  }
}

TEST(Corpus, LoadsAFileAndSplitsAtALineStartNearTheLastPercent) {
  Result<Corpus> c = load_corpus(kFixture.string());
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->text, read_all(kFixture));
  ASSERT_EQ(c->files.size(), 1u);
  const int64_t n = int64_t(c->text.size());
  // ⌊0.99 n⌋ falls in the last verse (longer than 1% of this excerpt): validation is that verse.
  EXPECT_TRUE(c->validation().starts_with("Ge3:24 So he drove out the man;"));
  EXPECT_EQ(c->validation().find('\n'), c->validation().size() - 1);
  EXPECT_LE(c->split, int64_t(double(n) * 0.99));
  EXPECT_EQ(std::string(c->train()) + std::string(c->validation()), c->text);
  // Deterministic: the same split every time.
  EXPECT_EQ(load_corpus(kFixture.string())->split, c->split);
}

TEST(Corpus, SplitRule) {
  EXPECT_EQ(split_point("aaaa\nbbbb\ncccc\n", 0.5), 10);  // ⌊15 · 0.5⌋ = 7 → next line at 10
  EXPECT_EQ(split_point("aaaa\nbbbb\ncccc\n", 0.0), 15);  // no validation
  EXPECT_EQ(split_point("abcdefghij", 0.3), 7);           // no line break: the raw cut
  EXPECT_EQ(split_point("aaaa\nbbbb\n", 0.5), 5);         // the cut is a line start already
  EXPECT_EQ(split_point("aaaa\nbbbbbbbb\n", 0.2), 5);     // the cut in the last line: its start
}

TEST(Corpus, FolderReadsTxtFilesInSortedOrder) {
  TempDir dir("titans_corpus_folder_test");
  dir.write("b.txt", "second\n");
  dir.write("a.txt", "first");  // no final line break: one is added
  dir.write("c.md", "not text\n");
  Result<Corpus> c = load_corpus(dir.path.string(), 0.0);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->text, "first\nsecond\n");
  ASSERT_EQ(c->files.size(), 2u);
  EXPECT_EQ(fs::path(c->files[0]).filename(), "a.txt");
  EXPECT_EQ(c->validation(), "");
}

TEST(Corpus, ErrorsNameThePath) {
  Result<Corpus> missing = load_corpus("/nonexistent/kjv.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("'/nonexistent/kjv.txt'"), std::string::npos);
  EXPECT_NE(missing.message().find("scripts/setup.sh"), std::string::npos) << missing.message();

  TempDir dir("titans_corpus_empty_test");
  Result<Corpus> no_txt = load_corpus(dir.path.string());
  ASSERT_FALSE(no_txt.ok());
  EXPECT_NE(no_txt.message().find("no .txt files"), std::string::npos) << no_txt.message();
  dir.write("empty.txt", "");
  EXPECT_NE(load_corpus(dir.path.string()).message().find("empty"), std::string::npos);
  EXPECT_FALSE(load_corpus(kFixture.string(), 1.0).ok());
}

// The real corpus: scripts/test.sh runs scripts/setup.sh, which dumps it; elsewhere skipped.
TEST(Corpus, DefaultKingJamesBibleWhenInstalled) {
  const std::string path = default_corpus_path();
  if (!fs::exists(path)) GTEST_SKIP() << path << " missing (scripts/setup.sh dumps it)";
  Result<Corpus> c = load_corpus(path);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_GT(c->text.size(), 4000000u);
  EXPECT_TRUE(
      c->text.starts_with("Ge1:1 In the beginning God created the heaven and the earth.\n"));
  EXPECT_TRUE(c->validation().starts_with("Rev"));  // the last 1% lies in Revelation
  EXPECT_GT(SentenceBank::from_text(c->text).size(), 30000u);
}

TEST(Sentences, SplitsAfterTerminatorsAndLineEndsAndDropsVerseReferences) {
  const SentenceBank b = SentenceBank::from_text(
      "Ge1:3 And God said, Let there be light: and there was light.\n"
      "1Cor13:4 Charity suffereth long. Is it kind? Yes!  Verse end without a stop,\n"
      "\n"
      "Plain line. 3.5 stays whole\n");
  const std::vector<std::string> want = {"And God said, Let there be light: and there was light.",
                                         "Charity suffereth long.",
                                         "Is it kind?",
                                         "Yes!",
                                         "Verse end without a stop,",
                                         "Plain line.",
                                         "3.5 stays whole"};
  ASSERT_EQ(b.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(b[i], want[i]);
  EXPECT_EQ(b.max_length(), want[0].size());
}

TEST(Sentences, FillerIsItsFiveSentences) {
  const SentenceBank f = SentenceBank::filler();
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0], "The grass is green.");
  EXPECT_EQ(f[4], "There and back again.");
}

TEST(LmWindows, WindowTargetsAreTheNextBytes) {
  const std::string text = "abcdef";
  const Window w = make_window(text, 1, 3);
  EXPECT_EQ(w.tokens, (std::vector<int32_t>{'b', 'c', 'd'}));
  EXPECT_EQ(w.targets, (std::vector<int32_t>{'c', 'd', 'e'}));
  const Window end = make_window(text, 3, 3);
  EXPECT_EQ(end.targets, (std::vector<int32_t>{'e', 'f', kNoTarget}));
}

TEST(LmWindows, RandomStartsAreSeededAndInRange) {
  const std::string text = read_all(kFixture);
  Rng a(7), b(7);
  for (int i = 0; i < 1000; ++i) {
    const int64_t s = random_window_start(text, 256, a).value();
    EXPECT_EQ(s, random_window_start(text, 256, b).value());
    EXPECT_GE(s, 0);
    EXPECT_LE(s + 256, int64_t(text.size()) - 1);  // the last target is a real byte
  }
  EXPECT_FALSE(random_window_start("short", 5, a).ok());
}

TEST(LmWindows, SequentialSlicesCoverEveryPredictedByteOnce) {
  const std::string text = read_all(kFixture);
  const SequentialSlices slices(text, 1000);
  EXPECT_EQ(slices.predicted_bytes(), int64_t(text.size()) - 1);
  std::vector<int32_t> tokens, targets;
  for (int64_t i = 0; i < slices.count(); ++i) {
    const Window w = slices.slice(i);
    EXPECT_EQ(w.start, i * 1000);
    tokens.insert(tokens.end(), w.tokens.begin(), w.tokens.end());
    targets.insert(targets.end(), w.targets.begin(), w.targets.end());
  }
  EXPECT_EQ(tokens, encode(std::string_view(text).substr(0, text.size() - 1)));
  EXPECT_EQ(targets, encode(std::string_view(text).substr(1)));
}

TEST(Sampler, PositionRestoresTheStreamExactly) {
  const std::string text = read_all(kFixture);
  const SentenceBank bank = SentenceBank::from_text(text);
  TaskContext ctx{text, &bank, {}};
  auto make = [&] {
    return ExampleSampler::create(parse_task("mix:lm=1,passkey=1,qa1=1").value(), ctx, 512, 42)
        .value();
  };
  ExampleSampler a = make();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.next().ok());
  const SamplerPosition saved = a.position();
  EXPECT_EQ(saved.next_index, 5);
  const nlohmann::json j = saved;
  const Batch continued = a.next_batch(3).value();

  ExampleSampler b = make();
  ASSERT_TRUE(b.restore(position_from_json(j).value()).ok());
  const Batch again = b.next_batch(3).value();
  EXPECT_EQ(again.tokens, continued.tokens);
  EXPECT_EQ(again.targets, continued.targets);
  EXPECT_EQ(b.position(), a.position());
  EXPECT_EQ(a.at(6).value().tokens, continued.examples[1].tokens);  // random access
  EXPECT_FALSE(position_from_json(nlohmann::json{{"seed", 1}}).ok());
}

TEST(Sampler, BatchIsRowMajorExamples) {
  const std::string text = read_all(kFixture);
  TaskContext ctx{text, nullptr, {}};
  ExampleSampler s = ExampleSampler::create(parse_task("lm").value(), ctx, 64, 1).value();
  const Batch b = s.next_batch(4).value();
  ASSERT_EQ(b.tokens.size(), 4u * 64u);
  for (int64_t r = 0; r < 4; ++r)
    EXPECT_TRUE(std::equal(b.examples[size_t(r)].tokens.begin(), b.examples[size_t(r)].tokens.end(),
                           b.tokens.begin() + r * 64));
  EXPECT_FALSE(ExampleSampler::create(parse_task("qa1").value(), ctx, 4096, 1).ok());  // no bank
  EXPECT_FALSE(ExampleSampler::create(parse_task("passkey").value(), ctx, 10, 1).ok());
}

}  // namespace
}  // namespace titans::data
