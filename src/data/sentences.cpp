#include "data/sentences.h"

#include <algorithm>
#include <cctype>

namespace titans::data {

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// The length of a leading KJV verse reference with its space ("1Cor13:4 " → 9), or 0.
size_t verse_reference_length(std::string_view line) {
  size_t i = 0;
  if (i < line.size() && is_digit(line[i])) ++i;
  const size_t letters = i;
  while (i < line.size() && is_alpha(line[i])) ++i;
  if (i == letters) return 0;
  const size_t chapter = i;
  while (i < line.size() && is_digit(line[i])) ++i;
  if (i == chapter || i >= line.size() || line[i] != ':') return 0;
  const size_t verse = ++i;
  while (i < line.size() && is_digit(line[i])) ++i;
  if (i == verse || i >= line.size() || line[i] != ' ') return 0;
  return i + 1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

void SentenceBank::add(std::string_view sentence) {
  sentence = trim(sentence);
  if (sentence.empty()) return;
  sentences_.emplace_back(sentence);
  max_length_ = std::max(max_length_, sentence.size());
}

SentenceBank SentenceBank::from_text(std::string_view text) {
  SentenceBank bank;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    line.remove_prefix(verse_reference_length(line));
    size_t begin = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if ((c == '.' || c == '?' || c == '!') && i + 1 < line.size() && is_space(line[i + 1])) {
        bank.add(line.substr(begin, i + 1 - begin));
        begin = i + 1;
      }
    }
    bank.add(line.substr(begin));  // the line end closes the last sentence
  }
  return bank;
}

SentenceBank SentenceBank::filler() { return from_text(kFillerText); }

}  // namespace titans::data
