// Sentences to build haystacks from: natural text (the corpus) or the passkey filler repeated.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace titans::data {

// The filler of the passkey task (Landmark Attention) and of S-NIAH-1 (RULER's "noise" haystack).
inline constexpr std::string_view kFillerText =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

class SentenceBank {
 public:
  // Splits natural text into sentences. The rule, line by line: a leading verse reference of the
  // KJV dump ("Ge1:1 ", "1Cor13:4 ": digit?, letters, digits ':' digits, then a space) is dropped;
  // a sentence ends after '.', '?' or '!' followed by white space, and at every line end (a verse
  // end); each sentence is trimmed of white space, and empty ones are dropped. Sentences never hold
  // a line break, so a needle placed between two of them sits at a sentence boundary.
  static SentenceBank from_text(std::string_view text);
  // The five sentences of kFillerText, in order.
  static SentenceBank filler();

  size_t size() const { return sentences_.size(); }
  bool empty() const { return sentences_.empty(); }
  const std::string& operator[](size_t i) const { return sentences_[i]; }
  size_t max_length() const { return max_length_; }  // the longest sentence, in bytes

 private:
  void add(std::string_view sentence);
  std::vector<std::string> sentences_;
  size_t max_length_ = 0;
};

}  // namespace titans::data
