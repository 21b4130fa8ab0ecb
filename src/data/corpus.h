// The text corpus for language modelling and natural-text haystacks: one file, or a folder whose
// .txt files are read in sorted order, with a deterministic train / validation split.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace titans::data {

// The share of the corpus held out for validation (its last bytes; see split_point).
inline constexpr double kValidationFraction = 0.01;

struct Corpus {
  std::string text;                // every file's bytes, in order; each file ends with '\n'
  std::vector<std::string> files;  // the files read, in that order
  int64_t split = 0;               // text[0, split) trains, text[split, end) validates

  std::string_view train() const { return std::string_view(text).substr(0, size_t(split)); }
  std::string_view validation() const { return std::string_view(text).substr(size_t(split)); }
};

// The split rule: validation is the last `validation_fraction` of the bytes, starting at the first
// line start at or after byte ⌊size · (1 − fraction)⌋ so no line (a KJV verse) is cut in two; when
// that byte lies in the last line, at that line's start; in a text of one line, at the byte itself.
// Fraction 0 gives an empty validation part.
int64_t split_point(std::string_view text, double validation_fraction);

// Reads `path`: a file, or a folder whose regular *.txt files (not recursive) are read in byte-wise
// sorted name order. A file not ending in '\n' gets one, so files never run into each other.
// Errors name the path: missing (with how to make the default corpus), unreadable, empty, no .txt
// files in the folder, or a fraction outside [0, 1).
Result<Corpus> load_corpus(const std::string& path,
                           double validation_fraction = kValidationFraction);

// Where the default corpus (the King James Bible dumped by scripts/corpus.sh) is looked for:
// $TITANS_CORPUS if set; else data/kjv.txt under the working folder, then under the repository the
// running binary was built in (build/bin/titans → ../../data/kjv.txt). The first that exists, or
// data/kjv.txt (so the missing-corpus error names it).
std::string default_corpus_path();

}  // namespace titans::data
