// Word lists for the keys of the needle tasks (RULER's adjective-noun pairs). Built in, generated
// from Debian's wordnet-base by scripts/make_word_lists.sh, so generation is hermetic.
#pragma once

#include <string_view>
#include <vector>

namespace titans::data {

const std::vector<std::string_view>& adjectives();  // 300 words, sorted
const std::vector<std::string_view>& nouns();       // 300 words, sorted

}  // namespace titans::data
