// Passkey retrieval (Landmark Attention) and single needle in a haystack (RULER S-NIAH-1/2/3), with
// the spec's templates word for word.
#include <fmt/format.h>

#include <algorithm>

#include "data/haystack.h"
#include "data/tasks.h"
#include "data/word_lists.h"

namespace titans::data {

namespace {

constexpr int64_t kMaxPasskey = 50000;  // keys are uniform in [1, 50000]

HaystackLayout passkey_layout(int64_t key) {
  HaystackLayout l;
  l.header =
      "There is an important info hidden inside a lot of irrelevant text. Find it and memorize "
      "them. I will quiz you about the important information there.";
  l.inserts = {fmt::format("The pass key is {0}. Remember it. {0} is the pass key.", key)};
  l.insert_separator = '\n';  // "Parts joined by newlines": the key line is a line of its own
  l.question = "What is the pass key? The pass key is";
  // The period ends the answer as it ends the key line: a model trained on the completion learns
  // where the key stops (without it, keys shorter than 5 digits were continued: " 46244" for 4624).
  l.completion = fmt::format(" {}.", key);
  return l;
}

// S-NIAH-3 says "uuid(s)" where the others say "number(s)".
HaystackLayout sniah_layout(int variant, const std::string& key, const std::string& value) {
  const std::string_view what = variant == 3 ? "uuid" : "number";
  HaystackLayout l;
  l.header = fmt::format(
      "A special magic {0} is hidden within the following text. Make sure to memorize it. I will "
      "quiz you about the {0} afterwards.",
      what);
  l.inserts = {fmt::format("One of the special magic {}s for {} is: {}.", what, key, value)};
  l.question = fmt::format(
      "What is the special magic {0} for {1} mentioned in the provided text? The special magic {0} "
      "for {1} mentioned in the provided text is",
      what, key);
  l.completion = " " + value + ".";  // the needle's own punctuation; ends the answer (see passkey)
  return l;
}

// A version-4 UUID (RFC 4122 layout), lowercase hex, from two draws.
std::string random_uuid(Rng& rng) {
  uint64_t hi = rng.next_u64(), lo = rng.next_u64();
  hi = (hi & ~0xF000ull) | 0x4000ull;              // version nibble 4
  lo = (lo & ~(0xC0ull << 56)) | (0x80ull << 56);  // variant bits 10
  const std::string h = fmt::format("{:016x}{:016x}", hi, lo);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

size_t longest(const std::vector<std::string_view>& words) {
  size_t n = 0;
  for (std::string_view w : words) n = std::max(n, w.size());
  return n;
}

// The longest key and value a variant can draw: they set its minimum length.
std::string longest_key() {
  return std::string(longest(adjectives()), 'a') + "-" + std::string(longest(nouns()), 'n');
}
std::string longest_value(int variant) {
  return variant == 3 ? std::string(36, 'u') : std::string(7, '9');
}

}  // namespace

int64_t passkey_min_length() { return fixed_length(passkey_layout(kMaxPasskey)); }

int64_t sniah_min_length(int variant) {
  return fixed_length(sniah_layout(variant, longest_key(), longest_value(variant)));
}

Result<Example> generate_passkey(const TaskContext& c, int64_t length, double depth, Rng& rng) {
  const int64_t key = 1 + int64_t(rng.below(kMaxPasskey));
  static const SentenceBank filler = SentenceBank::filler();
  // The filler starts at "The grass is green." as Landmark's does.
  Result<Example> ex = build_haystack_example(passkey_layout(key), filler, 0, length, depth, rng,
                                              c.params.full_lm_loss);
  if (!ex.ok()) return ex;
  ex->task = "passkey";
  ex->answer = std::to_string(key);
  ex->scoring = Scoring::kFirstInteger;
  ex->max_new_tokens = 8;  // the spec's "greedy-decode ≤ 8 tokens"
  ex->depth = depth;
  return ex;
}

Result<Example> generate_sniah(int variant, const TaskContext& c, int64_t length, double depth,
                               Rng& rng) {
  TITANS_CHECK(variant >= 1 && variant <= 3, "S-NIAH variants are 1, 2, 3");
  const std::string key = std::string(adjectives()[rng.below(adjectives().size())]) + "-" +
                          std::string(nouns()[rng.below(nouns().size())]);
  const std::string value =
      variant == 3 ? random_uuid(rng) : std::to_string(1000000 + rng.below(9000000));
  static const SentenceBank filler = SentenceBank::filler();
  const SentenceBank& bank = variant == 1 ? filler : *c.natural;
  // Natural text starts at a random sentence (a random excerpt); the filler at its first one.
  const size_t first = variant == 1 ? 0 : size_t(rng.below(bank.size()));
  Result<Example> ex = build_haystack_example(sniah_layout(variant, key, value), bank, first,
                                              length, depth, rng, c.params.full_lm_loss);
  if (!ex.ok()) return ex;
  ex->task = fmt::format("sniah{}", variant);
  ex->answer = value;
  ex->scoring = Scoring::kSubstring;
  ex->max_new_tokens = int(value.size()) + 16;  // the value with a little room around it
  ex->depth = depth;
  return ex;
}

}  // namespace titans::data
