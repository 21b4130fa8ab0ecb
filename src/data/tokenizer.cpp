#include "data/tokenizer.h"

#include <fmt/format.h>

namespace titans::data {

std::vector<int32_t> encode(std::string_view text) {
  std::vector<int32_t> ids(text.size());
  // Through unsigned char: bytes ≥ 0x80 (UTF-8 continuation and lead bytes) map to 128–255.
  for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

std::string_view special_token_name(int32_t id) {
  switch (id) {
    case kBos:
      return "<bos>";
    case kEos:
      return "<eos>";
    case kPad:
      return "<pad>";
    default:
      return "";
  }
}

Result<std::string> decode(std::span<const int32_t> ids) {
  std::string text;
  text.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id >= 0 && id < kByteTokens) {
      text.push_back(static_cast<char>(static_cast<unsigned char>(id)));
    } else if (id >= kByteTokens && id < kVocabSize) {
      text += special_token_name(id);
    } else {
      return Status::error(fmt::format("token id {} at index {} is outside the vocabulary [0, {})",
                                       id, i, kVocabSize));
    }
  }
  return text;
}

}  // namespace titans::data
